"""Live Assist's service endpoints, under /liveassist (research/liveassist.md §1.6, §6.2).

POST /api/account/{accountId}/conversation.json?v=1&NC=true   Visitor Authentication Request (ssoKey)
POST /api/account/{accountId}/chat/request?v=1&NC=true        start a chat (authenticated participants only)
GET  /api/account/{accountId}/chat/{chatId}?v=1&NC=true       the chat: 401 token_expired once exp passed
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from emulator.core.http import BodyTooLarge, HTTPProblem, media_type, parse_json, read_body, with_diagnosis
from emulator.core.journal import Note, note_of
from emulator.vendors.liveassist import errors
from emulator.vendors.liveassist.service import LiveAssistService
from emulator.vendors.liveassist.state import Conversation

_BODY_LIMIT = 128 * 1024
_CHAT_NOT_FOUND = {"error": "chat_not_found"}  # [EMU] the body of a GET on a chat the account does not have


def _refuse(
    note: Note,
    check: str,
    message: str,
    remedy: str,
    body: dict[str, str] = errors.AUTHENTICATION_FAILED,
    status: int = 401,
) -> Response:
    note.outcome, note.failed_check, note.summary = "rejected", check, f"{check}: {message}"
    return with_diagnosis(JSONResponse(body, status_code=status), f"{note.summary} | remedy: {remedy}")


class LiveAssistRoutes:
    def __init__(self, service: LiveAssistService) -> None:
        self.service = service

    def routes(self) -> list[BaseRoute]:
        base = "/api/account/{account_id}"
        return [
            Route(
                base + "/conversation.json", self._wrap(self.authenticate, "visitor_authentication"), methods=["POST"]
            ),
            Route(base + "/chat/request", self._wrap(self.chat_request, "chat_request"), methods=["POST"]),
            Route(base + "/chat/{chat_id}", self._wrap(self.chat, "chat"), methods=["GET"]),
        ]

    def _wrap(self, handler: Any, operation: str) -> Any:
        """The endpoint: the journal note (operation, tenant) set up, and an HTTPProblem raised turned into its answer."""

        async def endpoint(request: Request) -> Response:
            note = note_of(request.scope)
            note.operation = operation
            account = note.tenant = request.path_params["account_id"]
            try:
                return await handler(request, note, account)
            except HTTPProblem as refused:
                return refused.response

        return endpoint

    async def _json(self, request: Request, note: Note) -> dict[str, Any]:
        if media_type(request) != "application/json":
            raise HTTPProblem(
                _refuse(note, "request_body", "Content-Type is not application/json", "Send the request as JSON")
            )
        try:
            body = parse_json(await read_body(request, _BODY_LIMIT))
        except (ValueError, BodyTooLarge) as exc:
            raise HTTPProblem(_refuse(note, "request_body", str(exc), "Send a JSON object")) from exc
        if not isinstance(body, dict):
            raise HTTPProblem(_refuse(note, "request_body", "the body is not a JSON object", "Send a JSON object"))
        return body

    def _not_expired(self, note: Note, conversation: Conversation) -> None:
        now = self.service.runtime.clock.now()
        if conversation.expired(now):
            raise HTTPProblem(_expired(note, conversation.exp, conversation.skew, now))

    async def authenticate(self, request: Request, note: Note, account: str) -> Response:
        body = await self._json(request, note)
        note.token = body.get("ssoKey") if isinstance(body.get("ssoKey"), str) else None
        note.details = {
            k: body.get(k)
            for k in ("engagementId", "LETagVisitorId", "LETagSessionId", "conversationId", "redirectUri")
        }
        auth = await self.service.verify(
            account,
            body.get("ssoKey"),
            redirect_uri=body.get("redirectUri") if isinstance(body.get("redirectUri"), str) else None,
            session_id=body.get("LETagSessionId"),
        )
        if not auth.trace.ok:
            note.trace = auth.report()
            failed = auth.trace.failed
            assert failed is not None
            return _refuse(note, failed.name, failed.message, failed.remedy)
        self.service.open_conversation(auth, body.get("conversationId"))
        note.trace = auth.report()  # with the resume warnings
        assert auth.conversation is not None
        verb = "resumed" if auth.resumed else "started"
        note.outcome = "accepted"
        note.summary = f"conversation {auth.conversation.conversation_id} {verb} for sub {auth.conversation.sub!r}"
        return JSONResponse({"participantId": auth.participant_id, "conversationId": auth.conversation.conversation_id})

    async def chat_request(self, request: Request, note: Note, account: str) -> Response:
        body = await self._json(request, note)
        inner = body.get("request") if isinstance(body.get("request"), dict) else body
        conversation = self.service.conversation_of(account, inner.get("participantId"), inner.get("conversationId"))
        if conversation is None:
            return _refuse(
                note,
                "authenticated_participant",
                "no authenticated participant/conversation pair (the Visitor Authentication Request must succeed first)",
                "Send the participantId and conversationId answered by conversation.json",
            )
        self._not_expired(note, conversation)
        chat_id = self.service.start_chat(conversation)
        note.outcome, note.summary = "accepted", f"chat {chat_id} in conversation {conversation.conversation_id}"
        location = (
            f"{request.url.scheme}://{request.url.netloc}{request.url.path.rsplit('/', 1)[0]}/{chat_id}?v=1&NC=true"
        )
        return JSONResponse({"chatId": chat_id}, status_code=201, headers={"Location": location})

    async def chat(self, request: Request, note: Note, account: str) -> Response:
        chat_id = request.path_params["chat_id"]
        conversation = self.service.conversation_of_chat(account, chat_id)
        if conversation is None:
            owner = self.service.account_of_chat(chat_id)
            why = (
                "no chat/request at this account answered it (or a reset forgot it)"
                if owner is None
                else f"it was started at account {owner}"
            )
            return _refuse(
                note,
                "chat_known",
                f"chat {chat_id} is not one of account {account}'s: {why}",
                "Use the chat URI (the Location header) that chat/request answered at this account",
                _CHAT_NOT_FOUND,
                404,
            )
        self._not_expired(note, conversation)
        return JSONResponse(
            {
                "chatId": chat_id,
                "conversationId": conversation.conversation_id,
                "state": "chatting",
                "authenticated": True,
            }
        )


def _expired(note: Note, exp: float, skew: float, now: float) -> Response:
    return _refuse(
        note,
        "authentication_expired",
        f"the id_token's exp ({exp:.0f}) passed {now - exp:.0f} s ago (clockSkew {skew:g} s): the customer side must "
        "provide a refreshed token",
        "Re-authenticate (conversation.json with a fresh code or id_token and this conversationId)",
        errors.TOKEN_EXPIRED,
    )
