// Mint an iAdvize brand token the way a Node brand backend would, with panva/jose.
// stdin: {"brandPrivatePem", "iadvizePublicPem", "claims"} -> stdout: the compact JWE.
import { CompactEncrypt, SignJWT, importPKCS8, importSPKI } from "jose";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { brandPrivatePem, iadvizePublicPem, claims } = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const brandKey = await importPKCS8(brandPrivatePem, "RS256");
const iadvizeKey = await importSPKI(iadvizePublicPem, "RSA-OAEP-256");
const jws = await new SignJWT(claims).setProtectedHeader({ alg: "RS256" }).sign(brandKey);
const jwe = await new CompactEncrypt(new TextEncoder().encode(jws))
  .setProtectedHeader({ alg: "RSA-OAEP-256", enc: "A256GCM", cty: "JWT" })
  .encrypt(iadvizeKey);
process.stdout.write(jwe);
