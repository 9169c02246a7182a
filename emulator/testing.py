"""Use the emulator from a test suite, in-process or against a live server, with one httpx.Client API.

    from emulator.testing import emulator_client

    with emulator_client() as client:              # in-process, embedded default configuration
        client.post("/iadvize/graphql", json={...})

    with emulator_client(base_url="http://127.0.0.1:8080") as client:   # a running `chat-emulator serve`
        ...

In-process requests go through ``httpx.ASGITransport`` on a private event loop, so plain synchronous tests
work and exceptions inside the app surface in the test (as they should).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx
from starlette.applications import Starlette

from emulator.app import create_app
from emulator.config import Config

BASE_URL_ENV = "EMULATOR_BASE_URL"


class SyncASGITransport(httpx.BaseTransport):
    """Serve synchronous httpx requests from an ASGI app, on an event loop owned by the transport."""

    def __init__(self, app: Any, client: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self._inner = httpx.ASGITransport(app=app, client=client)
        self._loop = asyncio.new_event_loop()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def call() -> httpx.Response:
            response = await self._inner.handle_async_request(request)
            assert isinstance(response.stream, httpx.AsyncByteStream)
            body = b"".join([chunk async for chunk in response.stream])
            return httpx.Response(response.status_code, headers=response.headers, content=body, request=request)

        return self._loop.run_until_complete(call())

    def close(self) -> None:
        if not self._loop.is_closed():
            self._loop.close()


def emulator_client(
    config: Config | str | os.PathLike[str] | None = None,
    *,
    app: Starlette | None = None,
    base_url: str | None = None,
    **kwargs: Any,
) -> httpx.Client:
    """An httpx.Client on the emulator: live at ``base_url`` (or $EMULATOR_BASE_URL), else in-process."""
    base_url = base_url or os.environ.get(BASE_URL_ENV)
    if base_url:
        return httpx.Client(base_url=base_url, **kwargs)
    app = app or create_app(config)
    return httpx.Client(transport=SyncASGITransport(app), base_url="http://emulator.local", **kwargs)
