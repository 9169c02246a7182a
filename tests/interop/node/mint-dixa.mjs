// Mint a Dixa verified-identity JWE exactly as Dixa's page shows it (seed 004), with panva/jose.
// stdin: {"key": "<the messenger's base64url 64-byte key>", "payload": {...claims}} -> stdout: the compact JWE.
import * as jose from "jose";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { key, payload } = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const secret = jose.base64url.decode(key);
const jwe = await new jose.EncryptJWT(payload).setProtectedHeader({ alg: "dir", enc: "A256CBC-HS512" }).encrypt(secret);
process.stdout.write(jwe);
