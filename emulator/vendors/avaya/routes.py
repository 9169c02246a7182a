"""Avaya's backend APIs, served under /avaya and on Host {region}.api.avayacloud.com (research/avaya.md §2, §3).

POST /api/auth/v1/{accountId}/protocol/openid-connect/token     access token (client_credentials, refresh_token)
POST /auth/realms/{accountId}/protocol/openid-connect/token      the same, legacy path
POST /api/digital/chat/v1/accounts/{accountId}/tokens            Generate JWT Token (201 {"jwtToken": "jwt.…"})
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from emulator.core.checks import Pipeline, Trace
from emulator.core.http import BodyTooLarge, media_type, parse_form, parse_json, read_body, with_diagnosis
from emulator.core.journal import Note, note_of
from emulator.vendors.avaya import errors
from emulator.vendors.avaya.checks import ACCESS_TOKEN, GENERATE_JWT, ApiContext, ErrorOf
from emulator.vendors.avaya.service import AvayaService

_BODY_LIMIT = 64 * 1024
_NO_STORE = {"Cache-Control": "no-store"}


def refuse(
    note: Note, check: str, message: str, body: dict[str, Any], remedy: str, trace: dict[str, Any] | None = None
) -> Response:
    """The vendor's problem body; the diagnosis beside it (header + journal)."""
    note.outcome, note.failed_check, note.summary = "rejected", check, f"{check}: {message}"
    if trace is not None:
        note.trace = trace
    diagnosis = note.summary + (f" | remedy: {remedy}" if remedy else "")
    return with_diagnosis(errors.response(body, headers=_NO_STORE), diagnosis)


def refuse_trace(note: Note, trace: Trace[ErrorOf], ctx: Any) -> Response:
    failed = trace.failed
    assert failed is not None and trace.error is not None
    return refuse(note, failed.name, failed.message, trace.error(ctx), failed.remedy, trace.to_dict())


class BackendRoutes:
    def __init__(self, service: AvayaService) -> None:
        self.service = service

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/api/auth/v1/{account_id}/protocol/openid-connect/token", self.access_token, methods=["POST"]),
            Route("/auth/realms/{account_id}/protocol/openid-connect/token", self.access_token, methods=["POST"]),
            Route("/api/digital/chat/v1/accounts/{account_id}/tokens", self.generate_jwt, methods=["POST"]),
        ]

    def _context(self, request: Request) -> ApiContext:
        return ApiContext(
            settings=self.service.settings,
            state=self.service.state,
            opaque=self.service.runtime.opaque,
            now=self.service.runtime.clock.now(),
            account_id=request.path_params["account_id"],
            headers=request.headers,
            media_type=media_type(request),
        )

    async def _run(
        self, request: Request, pipeline: Pipeline[ApiContext, ErrorOf], parse: str
    ) -> tuple[ApiContext, Trace[ErrorOf] | None, Response | None]:
        note = note_of(request.scope)
        ctx = self._context(request)
        note.tenant = ctx.account_id
        try:
            raw = await read_body(request, _BODY_LIMIT)
        except BodyTooLarge as exc:
            return ctx, None, refuse(note, "body_size", str(exc), errors.BAD_REQUEST, "Send a smaller body")
        if parse == "form" and ctx.media_type == "application/x-www-form-urlencoded":
            ctx.form = parse_form(raw)
        elif parse == "json":
            try:
                ctx.body = parse_json(raw)
            except ValueError as exc:
                ctx.body_error = str(exc)
        trace = pipeline.run(ctx, ctx.warnings)
        return ctx, trace, (refuse_trace(note, trace, ctx) if not trace.ok else None)

    async def access_token(self, request: Request) -> Response:
        note = note_of(request.scope)
        note.operation = "access_token"
        ctx, trace, refusal = await self._run(request, ACCESS_TOKEN, "form")
        # never the client_secret (the official sample backend sends it in this form body)
        note.details = {k: ("<redacted>" if k in ("client_secret", "password") else v) for k, v in ctx.form.items()}
        note.details.pop("refresh_token", None)
        if refusal is not None:
            return refusal
        assert trace is not None and ctx.client_id is not None
        note.outcome, note.trace = "accepted", trace.to_dict()
        note.summary = f"access token for client {ctx.client_id} of account {ctx.account_id}"
        return JSONResponse(self.service.issue_access_token(ctx.account_id, ctx.client_id), headers=_NO_STORE)

    async def generate_jwt(self, request: Request) -> Response:
        note = note_of(request.scope)
        note.operation = "generate_jwt"
        ctx, trace, refusal = await self._run(request, GENERATE_JWT, "json")
        if isinstance(ctx.body, dict):
            note.details = {k: ctx.body.get(k) for k in ("integrationId", "customerId", "verifiedCustomer", "ttl")}
        if refusal is not None:
            return refusal
        assert trace is not None and ctx.token_request is not None
        claims = self.service.chat_claims(ctx.account_id, ctx.token_request)
        token = self.service.sign_chat_jwt(claims)
        note.outcome, note.trace, note.token = "accepted", {**trace.to_dict(), "claims": claims}, token
        note.summary = f"chat JWT for customer {claims['customerId']!r}, exp {claims['exp']} (ttl {(claims['exp'] - claims['iat']) // 60} min)"
        return JSONResponse({"jwtToken": token}, status_code=201, headers=_NO_STORE)
