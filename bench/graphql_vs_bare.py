"""The SDK's GraphQL mutation against a bare Starlette route doing the same work (target: at most 2x).

Both are driven by the same direct ASGI call on one event loop, so what differs is the emulator's GraphQL
endpoint: its mount and journal middleware, the strawberry parse/validate/execute, and the journal note.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from bench.asgi import post_json
from bench.fixtures import PROJECT_ID, emulator_app, iadvize_token
from bench.harness import Batch, Result, compare
from emulator.vendors.iadvize.service import IAdvizeService

TARGET = 2.0

# The Android SDK's operation text (tests/vendors/iadvize/helpers.py SDK_SECURED, research/iadvize.md §2.4).
SDK_SECURED = (
    "mutation authenticateSecuredVisitor($projectId: LegacyId!, $jwe: String!, $vuid: String) {\n"
    "  visitorAuthenticateFromCredentials(input: { projectId: $projectId credentials: $jwe currentVuid: $vuid } ) {\n"
    "    visitorSessionToken { accessToken } } }"
)


def bare_app(service: IAdvizeService) -> Starlette:
    async def authenticate(request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        verification = service.verify(body["projectId"], body["jwe"])
        if not verification.ok:
            return JSONResponse({"error": verification.trace.summary()}, status_code=400)
        session = service.open_authenticated_session(verification, None)
        return JSONResponse({"accessToken": session.access_token})

    return Starlette(routes=[Route("/authenticate", authenticate, methods=["POST"])])


def _graphql_token(answer: Any) -> str | None:
    try:
        return answer["data"]["visitorAuthenticateFromCredentials"]["visitorSessionToken"]["accessToken"]
    except (KeyError, TypeError):
        return None


def run() -> Result:
    now = float(int(time.time()))
    app, service = emulator_app(now)
    bare = bare_app(service)
    token = iadvize_token(now)
    graphql_body = json.dumps(
        {"query": SDK_SECURED, "variables": {"projectId": int(PROJECT_ID), "jwe": token}}
    ).encode()
    bare_body = json.dumps({"projectId": PROJECT_ID, "jwe": token}).encode()
    event_loop = asyncio.new_event_loop()

    try:
        status, answer = event_loop.run_until_complete(post_json(app, "/iadvize/graphql", graphql_body))
        if status != 200 or "errors" in answer or not _graphql_token(answer):
            raise RuntimeError(f"the GraphQL mutation failed: {status} {answer}")
        status, answer = event_loop.run_until_complete(post_json(bare, "/authenticate", bare_body))
        if status != 200 or not answer.get("accessToken"):
            raise RuntimeError(f"the bare route failed: {status} {answer}")

        def batch(target: ASGIApp, path: str, body: bytes) -> Batch:
            async def requests(n: int) -> float:
                start = time.perf_counter()
                for _ in range(n):
                    await post_json(target, path, body)
                return time.perf_counter() - start

            def timed(n: int) -> float:
                # Every request opens a session for the same userId with a new vuid; forget them between
                # batches so that neither side pays for the visitor profile the other one grew.
                service.state.reset()
                return event_loop.run_until_complete(requests(n))

            return timed

        return compare(
            "graphql_vs_bare",
            batch(app, "/iadvize/graphql", graphql_body),
            batch(bare, "/authenticate", bare_body),
            target=TARGET,
            number=5,
            rounds=150,
        )
    finally:
        event_loop.close()
