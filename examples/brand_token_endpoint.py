"""A brand's "Visitor Authentication Service" for Live Assist's code flow: a runnable example.

This is the brand side that Live Assist (here, chat-auth-emulator) calls to exchange an authorization code for an
OpenID Connect id_token. Run it beside the emulator, whose default configuration has a code-flow connector
(account 87654321) pointing here:

    .venv/bin/python examples/brand_token_endpoint.py            # http://127.0.0.1:8081
    CODE=$(curl -s -X POST 127.0.0.1:8081/login -d '{"sub": "4255551212", "given_name": "Jane"}' | \\
           python3 -c 'import json,sys; print(json.load(sys.stdin)["code"])')
    curl -s -X POST 'http://127.0.0.1:8080/liveassist/api/account/87654321/conversation.json?v=1&NC=true' \\
         -H 'Content-Type: application/json' -d "{\\"ssoKey\\": \\"$CODE\\"}"
    # {"participantId": "...", "conversationId": "..."}

Endpoints:
    POST /login   {"sub", "given_name", "family_name", "email", "lp_sdes", ...[, "code_challenge"]} -> {"code"}
                  (stands for the brand's own login page: a real one authenticates the consumer first)
    POST /token   the token endpoint Live Assist calls: form grant_type=authorization_code, code, redirect_uri
                  [, code_verifier], client authentication by HTTP Basic (or client_id/client_secret in the form)
                  -> 200 {"access_token", "token_type": "Bearer", "id_token", "expires_in"}; errors as OAuth 2.0 JSON

The id_token is signed RS256 with the TEST-ONLY demo brand key (fixtures/keys/liveassist-brand-demo.private.pem),
and with --encrypt-to it is also encrypted (JWE RSA-OAEP-256 / A256GCM) to Live Assist's public key, e.g. the
emulator's: --encrypt-to http://127.0.0.1:8080/_emulator/keys/liveassist. Codes are single-use and live 10 minutes.
TEST-ONLY: the key, client id and secret are public in the emulator's repository.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import uvicorn
from cryptography.hazmat.primitives import serialization
from jose import jwe, jws
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ROOT = Path(__file__).resolve().parent.parent
BRAND_KEY = ROOT / "fixtures" / "keys" / "liveassist-brand-demo.private.pem"
CLIENT_ID, CLIENT_SECRET = "liveassist-emulator", "TEST-ONLY-brand-client-secret"
ISSUER = "https://brand.example"
CODE_LIFETIME = 600


def _error(status: int, error: str, description: str) -> JSONResponse:
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    return JSONResponse({"error": error, "error_description": description}, status_code=status, headers=headers)


def _client_ok(request: Request, form: dict[str, str]) -> bool:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
    else:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    return hmac.compare_digest(client_id, CLIENT_ID) and hmac.compare_digest(secret, CLIENT_SECRET)


def create_app(encrypt_to: Any = None, token_lifetime: int = 3600) -> Starlette:
    """The brand app. ``encrypt_to``: Live Assist's public key (a cryptography key), or None to sign only."""
    signing_key = serialization.load_pem_private_key(BRAND_KEY.read_bytes(), password=None)
    codes: dict[str, dict[str, Any]] = {}

    async def login(request: Request) -> JSONResponse:
        profile = await request.json()
        if not isinstance(profile, dict) or not isinstance(profile.get("sub"), str):
            return _error(400, "invalid_request", 'send {"sub": "<consumer id>", ...claims}')
        challenge = profile.pop("code_challenge", None)
        code = secrets.token_urlsafe(24)
        codes[code] = {"claims": profile, "challenge": challenge, "expires": time.time() + CODE_LIFETIME}
        return JSONResponse({"code": code})

    async def token(request: Request) -> JSONResponse:
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))  # x-www-form-urlencoded
        if form.get("grant_type") != "authorization_code":
            return _error(400, "unsupported_grant_type", "only authorization_code")
        if not _client_ok(request, form):
            return _error(401, "invalid_client", "Invalid client credentials")
        grant = codes.pop(form.get("code", ""), None)  # single use, whatever happens next
        if grant is None or grant["expires"] < time.time():
            return _error(400, "invalid_code", "The code provided is not valid.")
        if grant["challenge"] is not None:
            verifier = form.get("code_verifier", "").encode()
            computed = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
            if not hmac.compare_digest(computed, grant["challenge"]):
                return _error(400, "invalid_grant", "PKCE code_verifier does not match the code_challenge")
        now = int(time.time())
        claims = {"iss": ISSUER, "iat": now, "exp": now + token_lifetime, **grant["claims"]}
        id_token = jws.sign(claims, signing_key, algorithm="RS256", headers={"typ": "JWT"})
        if encrypt_to is not None:
            id_token = jwe.encrypt(
                id_token, encrypt_to, algorithm="RSA-OAEP-256", encryption="A256GCM", cty="JWT"
            ).decode()
        body = {
            "access_token": "NotApplicable",
            "token_type": "Bearer",
            "id_token": id_token,
            "expires_in": token_lifetime,
        }
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    return Starlette(routes=[Route("/login", login, methods=["POST"]), Route("/token", token, methods=["POST"])])


def _encryption_key(source: str) -> Any:
    """Live Assist's public key from the emulator's key endpoint (URL) or a PEM file."""
    if source.startswith(("http://", "https://")):
        pem = httpx.get(source, timeout=10).raise_for_status().json()["pem"]
    else:
        pem = Path(source).read_text()
    return serialization.load_pem_public_key(pem[pem.index("-----BEGIN") :].encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--encrypt-to", help="URL of /_emulator/keys/liveassist, or a PEM file: also encrypt")
    parser.add_argument("--token-lifetime", type=int, default=3600, help="id_token lifetime in seconds")
    args = parser.parse_args()
    app = create_app(_encryption_key(args.encrypt_to) if args.encrypt_to else None, args.token_lifetime)
    print(json.dumps({"token_endpoint": f"http://{args.host}:{args.port}/token", "client_id": CLIENT_ID}))
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
