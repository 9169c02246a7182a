"""The Chat SDK's REST surface, under /sdk/digital/chat/v1/integrations/{integrationId} (research/avaya.md §6).

Every call carries 'Authorization: Bearer jwt.…' and 'appkey'. An expired chat JWT answers 401 (the SDK's
UNAUTHORIZED), a malformed one, a bad signature or another integration's 403 (FORBIDDEN), an unknown session
404 with detail "Session not found" (CLIENT_SESSION_INVALIDATED).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from emulator.core.http import BodyTooLarge, media_type, parse_json, read_body
from emulator.core.journal import note_of
from emulator.vendors.avaya import errors
from emulator.vendors.avaya.chat import ChatRefusal, ChatService, page_url_for
from emulator.vendors.avaya.routes import refuse, refuse_trace
from emulator.vendors.avaya.service import AvayaService, ChatIdentity

BASE = "/sdk/digital/chat/v1/integrations/{integration_id}"
_BODY_LIMIT = 64 * 1024
Handler = Callable[[Request, ChatIdentity], Awaitable[Response]]


class SdkRoutes:
    def __init__(self, service: AvayaService, chat: ChatService) -> None:
        self.service = service
        self.chat = chat

    def routes(self) -> list[BaseRoute]:
        def route(path: str, handler: Handler, method: str, operation: str) -> Route:
            return Route(BASE + path, self._authenticated(handler, operation), methods=[method])

        return [
            route("/sessions", self.create_session, "POST", "create_session"),
            route("/sessions/{session_id}", self.get_session, "GET", "get_session"),
            route("/sessions/{session_id}", self.delete_session, "DELETE", "delete_session"),
            route("/sessions/{session_id}/events", self.events, "GET", "events"),
            route("/engagements", self.create_engagement, "POST", "create_engagement"),
            route("/engagements/{engagement_id}:join", self.join, "POST", "join_engagement"),
            route("/engagements/{engagement_id}:disconnect", self.disconnect, "POST", "disconnect_engagement"),
            route("/engagements/{engagement_id}/messages", self.send_message, "POST", "send_message"),
            route("/engagements/{engagement_id}/messages", self.list_messages, "GET", "list_messages"),
            route("/engagements/{engagement_id}", self.get_engagement, "GET", "get_engagement"),
        ]

    def _authenticated(self, handler: Handler, operation: str) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            note = note_of(request.scope)
            note.operation = operation
            integration = request.path_params["integration_id"]
            trace, ctx = self.service.verify_sdk_call(
                integration, request.headers.get("authorization"), request.headers.get("appkey")
            )
            account = ctx.integration_account
            note.tenant = account.account_id if account else None
            note.token = request.headers.get("authorization", "").partition(" ")[2] or None
            if not trace.ok:
                return refuse_trace(note, trace, ctx)
            who = AvayaService.identity(ctx)
            note.details = {"customerId": who.customer_id, **request.path_params}
            try:
                response = await handler(request, who)
            except ChatRefusal as refusal:
                return refuse(note, refusal.check, refusal.message, refusal.body, refusal.remedy)
            if note.outcome is None:
                note.outcome = "accepted"
            return response

        return endpoint

    async def _body(self, request: Request) -> dict[str, Any]:
        if media_type(request) != "application/json":
            raise ChatRefusal(
                "content_type", "Content-Type is not application/json", errors.UNSUPPORTED_MEDIA_TYPE, "Send JSON"
            )
        try:
            body = parse_json(await read_body(request, _BODY_LIMIT))
        except (ValueError, BodyTooLarge) as exc:
            raise ChatRefusal("body_json", str(exc), errors.BAD_REQUEST, "Send a JSON object") from exc
        if not isinstance(body, dict):
            raise ChatRefusal("body_json", "the body is not a JSON object", errors.BAD_REQUEST, "Send a JSON object")
        return body

    # -- sessions ------------------------------------------------------------------------------------------
    async def create_session(self, request: Request, who: ChatIdentity) -> Response:
        session = self.chat.create_session(who, await self._body(request))
        note_of(request.scope).summary = f"session {session.session_id} for customer {who.customer_id!r}"
        return JSONResponse(self.chat.session_view(session), status_code=201)

    async def get_session(self, request: Request, who: ChatIdentity) -> Response:
        session = self.chat.session_of(who, request.path_params["session_id"])
        return JSONResponse(self.chat.session_view(session))

    async def delete_session(self, request: Request, who: ChatIdentity) -> Response:
        session = self.chat.session_of(who, request.path_params["session_id"])
        self.chat.delete_session(session)
        note_of(
            request.scope
        ).summary = f"session {session.session_id} closed ({request.query_params.get('reason', 'no reason')})"
        return Response(status_code=204)

    async def events(self, request: Request, who: ChatIdentity) -> Response:
        session = self.chat.session_of(who, request.path_params["session_id"])
        events, why = await self.chat.poll(session, request.is_disconnected)
        if events is None:
            raise ChatRefusal("session_known", why, errors.SESSION_NOT_FOUND)
        note_of(request.scope).summary = why
        return JSONResponse(events)

    # -- engagements ---------------------------------------------------------------------------------------
    async def create_engagement(self, request: Request, who: ChatIdentity) -> Response:
        engagement = self.chat.create_engagement(who, await self._body(request))
        note_of(request.scope).summary = f"engagement {engagement.engagement_id}"
        return JSONResponse(engagement.view(), status_code=201)

    async def get_engagement(self, request: Request, who: ChatIdentity) -> Response:
        return JSONResponse(self.chat.engagement_of(who, request.path_params["engagement_id"]).view())

    async def join(self, request: Request, who: ChatIdentity) -> Response:
        engagement = self.chat.join(who, request.path_params["engagement_id"], await self._body(request))
        return JSONResponse(engagement.view())

    async def disconnect(self, request: Request, who: ChatIdentity) -> Response:
        self.chat.disconnect(who, request.path_params["engagement_id"], await self._body(request))
        return Response(status_code=204)

    # -- messages ------------------------------------------------------------------------------------------
    async def send_message(self, request: Request, who: ChatIdentity) -> Response:
        message = self.chat.send_message(who, request.path_params["engagement_id"], await self._body(request))
        return JSONResponse(message.view(), status_code=201)

    async def list_messages(self, request: Request, who: ChatIdentity) -> Response:
        engagement = self.chat.engagement_of(who, request.path_params["engagement_id"])
        base = f"{request.url.scheme}://{request.url.netloc}"
        page = self.chat.list_messages(engagement, dict(request.query_params), page_url_for(base, request.url.path))
        return JSONResponse(page)
