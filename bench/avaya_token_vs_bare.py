"""Issuing an Avaya chat JWT through the Generate JWT Token API against a bare Starlette route that signs the
same claims (target: at most 2x).

Both answer 201 {"jwtToken": "jwt.…"} for the same JSON body through the same direct ASGI call. The subject adds
what the emulator does per request: the appkey, access-token and account checks, Bean Validation of the body,
the integration lookup, the atob-safe serialisation, the journal note and the mount. The baseline parses the
body, builds the claims and signs them RS256 with the key pre-loaded (raw cryptography).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from bench.asgi import post_json
from bench.fixtures import ROOT
from bench.harness import Batch, Result, compare
from emulator.app import create_app

TARGET = 2.0
ACCOUNT, APPKEY = "ABCDEF", "TEST-ONLY-appkey-ABCDEF"
INTEGRATION = "0847c56d-30fd-4b75-90be-a4ff8d08bd44"
BODY = {
    "integrationId": INTEGRATION,
    "customerId": "bench-customer",
    "verifiedCustomer": True,
    "customerName": "Joe Soap",
    "customerIdentifiers": {"emailAddresses": ["john@example.com"]},
    "ttl": 15,
}


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def bare_app() -> Starlette:
    pem = (ROOT / "fixtures" / "keys" / "avaya-emulator.private.pem").read_bytes()
    key: Any = serialization.load_pem_private_key(pem, password=None)
    header = _b64u(b'{"alg":"RS256"}')

    async def tokens(request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        now = int(time.time())
        claims = {
            "iss": "https://cc.avayacloud.com",
            "sub": "userchatIntegration",
            "integrationId": body["integrationId"],
            "iat": now,
            "exp": now + int(body.get("ttl", 15)) * 60,
            "jti": str(uuid.uuid4()),
            "accountId": request.path_params["account_id"],
            "customerId": body["customerId"],
            "verifiedCustomer": bool(body.get("verifiedCustomer")),
            "customerName": body.get("customerName"),
            "customerIdentifiers": body.get("customerIdentifiers"),
        }
        signing_input = f"{header}.{_b64u(json.dumps(claims, separators=(',', ':')).encode())}"
        signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return JSONResponse({"jwtToken": f"jwt.{signing_input}.{_b64u(signature)}"}, status_code=201)

    return Starlette(routes=[Route("/accounts/{account_id}/tokens", tokens, methods=["POST"])])


def run() -> Result:
    app = create_app()
    app.state.runtime.clock.freeze(float(int(time.time())))  # the access token stays valid however long this runs
    bare = bare_app()
    body = json.dumps(BODY).encode()
    event_loop = asyncio.new_event_loop()
    try:
        access = event_loop.run_until_complete(_access_token(app))
        headers = {"authorization": f"Bearer {access}", "appkey": APPKEY}
        path = f"/avaya/api/digital/chat/v1/accounts/{ACCOUNT}/tokens"
        for target, target_path, extra in ((app, path, headers), (bare, f"/accounts/{ACCOUNT}/tokens", None)):
            status, answer = event_loop.run_until_complete(post_json(target, target_path, body, extra))
            if status != 201 or not str(answer.get("jwtToken", "")).startswith("jwt."):
                raise RuntimeError(f"{target_path} failed: {status} {answer}")

        def batch(target: ASGIApp, target_path: str, extra: dict[str, str] | None) -> Batch:
            async def requests(n: int) -> float:
                start = time.perf_counter()
                for _ in range(n):
                    await post_json(target, target_path, body, extra)
                return time.perf_counter() - start

            return lambda n: event_loop.run_until_complete(requests(n))

        return compare(
            "avaya_token_vs_bare",
            batch(app, path, headers),
            batch(bare, f"/accounts/{ACCOUNT}/tokens", None),
            target=TARGET,
            number=5,
            rounds=150,
        )
    finally:
        event_loop.close()


async def _access_token(app: ASGIApp) -> str:
    """The access token, through the real form-encoded endpoint."""
    form = b"grant_type=client_credentials&client_id=emulator-backend&client_secret=TEST-ONLY-client-secret"
    path = f"/avaya/api/auth/v1/{ACCOUNT}/protocol/openid-connect/token"
    status, answer = await post_json(app, path, form, {"appkey": APPKEY}, "application/x-www-form-urlencoded")
    if status != 200:
        raise RuntimeError(f"the access token request failed: {status} {answer}")
    return str(answer["access_token"])
