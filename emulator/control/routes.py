"""The /_emulator control plane (JSON in, JSON out). Emulator-only: no vendor has these endpoints.

    GET    /health                          {"status": "ok", "vendors": [...]}
    GET    /clock                           {"now", "mode"}
    POST   /clock                           {"freeze": epoch} | {"advance": seconds} | {"real": true}
    GET    /journal?vendor=&limit=          newest first
    GET    /journal/{id}                    one entry (X-Emulator-Journal-Id names it)
    DELETE /journal                         clear
    POST   /explain                         {"vendor", "tenant", "token"} -> the check trace, no side effects
    POST   /reset                           runtime state (sessions, journal, clock) back to start
    GET    /tenants/{vendor}                list
    PUT    /tenants/{vendor}/{id}           register or replace
    GET    /tenants/{vendor}/{id}           public view
    DELETE /tenants/{vendor}/{id}           remove
    GET    /keys/{vendor}                   the emulator's public key(s) for that vendor
plus each vendor's own control routes (e.g. /users/iadvize/{username}).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from emulator.config import ConfigError
from emulator.core.http import HTTPProblem, json_body, problem
from emulator.core.runtime import Runtime
from emulator.vendors.base import Vendor

Endpoint = Callable[[Request], Awaitable[Response]]
_MAX_CLOCK = 253402300799  # 9999-12-31T23:59:59Z


class ControlPlane:
    def __init__(self, runtime: Runtime, vendors: dict[str, Vendor]) -> None:
        self.runtime = runtime
        self.vendors = vendors

    def routes(self) -> list[BaseRoute]:
        routes: list[BaseRoute] = [
            Route("/health", self.health, methods=["GET"]),
            Route("/clock", self.clock, methods=["GET", "POST"]),
            Route("/journal", self.journal, methods=["GET", "DELETE"]),
            Route("/journal/{entry_id:int}", self.journal_entry, methods=["GET"]),
            Route("/explain", self.explain, methods=["POST"]),
            Route("/reset", self.reset, methods=["POST"]),
            Route("/tenants/{vendor}", self.tenants, methods=["GET"]),
            Route("/tenants/{vendor}/{tenant_id}", self.tenant, methods=["GET", "PUT", "DELETE"]),
            Route("/keys/{vendor}", self.keys, methods=["GET"]),
        ]
        for vendor in self.vendors.values():
            routes.extend(vendor.control_routes())
        return routes

    def _vendor(self, request: Request) -> Vendor:
        name = request.path_params["vendor"]
        vendor = self.vendors.get(name)
        if vendor is None:
            raise HTTPProblem(problem(404, f"unknown vendor {name!r}", vendors=sorted(self.vendors)))
        return vendor

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "vendors": sorted(self.vendors)})

    async def clock(self, request: Request) -> Response:
        clock = self.runtime.clock
        if request.method == "POST":
            body = await json_body(request)
            if not isinstance(body, dict) or len(body) != 1 or next(iter(body)) not in ("freeze", "advance", "real"):
                return problem(
                    400,
                    'send exactly one of {"freeze": <epoch seconds>}, {"advance": <seconds>}, {"real": true}',
                )
            ((action, value),) = body.items()
            if action == "real":
                if value is not True:
                    return problem(400, '"real" must be true')
                clock.real()
            else:
                if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                    return problem(400, f'"{action}" must be a finite number of seconds')
                target = value if action == "freeze" else clock.now() + value
                if not 0 <= target <= _MAX_CLOCK:
                    return problem(400, f"the clock would be at {target}, outside 0..{_MAX_CLOCK}")
                clock.freeze(value) if action == "freeze" else clock.advance(value)
        return JSONResponse(clock.snapshot())

    async def journal(self, request: Request) -> Response:
        journal = self.runtime.journal
        if request.method == "DELETE":
            return JSONResponse({"cleared": journal.clear()})
        vendor = request.query_params.get("vendor")
        if vendor is not None and vendor not in self.vendors:
            return problem(400, f"unknown vendor {vendor!r}", vendors=sorted(self.vendors))
        limit_text = request.query_params.get("limit")
        limit = None
        if limit_text is not None:
            if not limit_text.isdigit() or int(limit_text) < 1:
                return problem(400, "limit must be a positive integer")
            limit = int(limit_text)
        entries = journal.entries(vendor, limit)
        return JSONResponse({"entries": entries, "size": journal.size, "count": len(journal)})

    async def journal_entry(self, request: Request) -> Response:
        entry = self.runtime.journal.get(request.path_params["entry_id"])
        if entry is None:
            return problem(404, "no such journal entry (cleared, or pushed out of the ring buffer)")
        return JSONResponse(entry)

    async def explain(self, request: Request) -> Response:
        body = await json_body(request)
        if not isinstance(body, dict):
            return problem(400, 'send {"vendor": "...", "tenant": "...", "token": "..."}')
        missing = [k for k in ("vendor", "tenant", "token") if k not in body]
        if missing:
            return problem(400, f"missing field(s) {missing}")
        vendor = self.vendors.get(body["vendor"]) if isinstance(body["vendor"], str) else None
        if vendor is None:
            return problem(400, f"unknown vendor {body['vendor']!r}", vendors=sorted(self.vendors))
        if not isinstance(body["tenant"], str | int) or isinstance(body["tenant"], bool):
            return problem(400, "tenant must be a string")
        report = vendor.explain(str(body["tenant"]), body["token"])
        if inspect.isawaitable(report):
            report = await report
        return JSONResponse({"vendor": vendor.name, "tenant": str(body["tenant"]), **report})

    async def reset(self, request: Request) -> Response:
        self.runtime.reset()
        for vendor in self.vendors.values():
            vendor.reset()
        return JSONResponse({"status": "reset", "clock": self.runtime.clock.snapshot()})

    async def tenants(self, request: Request) -> Response:
        vendor = self._vendor(request)
        return JSONResponse({"vendor": vendor.name, "tenants": vendor.list_tenants()})

    async def tenant(self, request: Request) -> Response:
        vendor = self._vendor(request)
        tenant_id = request.path_params["tenant_id"]
        if request.method == "GET":
            view = vendor.get_tenant(tenant_id)
            if view is None:
                return problem(404, f"no {vendor.name} {vendor.tenant_noun} {tenant_id!r}")
            return JSONResponse(view)
        if request.method == "DELETE":
            if not vendor.delete_tenant(tenant_id):
                return problem(404, f"no {vendor.name} {vendor.tenant_noun} {tenant_id!r}")
            return Response(status_code=204)
        body = await json_body(request)
        try:
            view, created = vendor.put_tenant(tenant_id, body)
        except ConfigError as exc:
            return problem(400, str(exc))
        return JSONResponse(view, status_code=201 if created else 200)

    async def keys(self, request: Request) -> Response:
        return JSONResponse(self._vendor(request).public_keys())


async def _answer(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPProblem)
    return exc.response


EXCEPTION_HANDLERS = {HTTPProblem: _answer}
