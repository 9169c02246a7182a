"""Browser access: CORS for vendor endpoints, and no cross-origin use of the control plane.

Vendor endpoints are what a brand's pages and the vendors' browser SDKs call from another origin (the brand's
site), so they answer CORS for any origin and expose the emulator's diagnosis headers to scripts.

The control plane is for tests, tools and the developer's own terminal. A web page on another origin must not
be able to reset the emulator, register keys or read the journal: a request that carries an ``Origin`` other
than the emulator's own is refused with 403 (curl and test clients send no Origin).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from emulator.core.http import DIAGNOSIS_HEADER

JOURNAL_HEADER = "X-Emulator-Journal-Id"


def vendor_cors(app: ASGIApp) -> ASGIApp:
    return CORSMiddleware(
        app,
        allow_origins=["*"],
        allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
        allow_headers=["*"],
        expose_headers=[DIAGNOSIS_HEADER, JOURNAL_HEADER],
        allow_private_network=True,
        max_age=600,
    )


class SameOriginOnly:
    """Refuse requests whose Origin header names another origin than the one they were sent to."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            origin = headers.get(b"origin")
            if origin is not None and origin != b"null":
                host = headers.get(b"host", b"").decode("latin-1")
                if urlsplit(origin.decode("latin-1")).netloc != host:
                    response = JSONResponse(
                        {
                            "error": "cross-origin requests to the control plane are refused (Origin does not match Host)"
                        },
                        status_code=403,
                    )
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)
