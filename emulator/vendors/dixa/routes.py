"""The Dixa Messenger visitor API, under /dixa. Dixa publishes no backend protocol: this small JSON API is the
emulator's design, in Dixa's vocabulary (messengerToken, userIdentity, BackendError), for the browser shim and
brands' tests. Errors are ``{"error": <BackendError or emulator error>}``.

    POST   /messengers/{messengerToken}/sessions                         {userIdentity?} -> 201 the session
    GET    /messengers/{messengerToken}/sessions/{sessionId}             + canStartConversation
    PUT    /messengers/{messengerToken}/sessions/{sessionId}/identity    a UserIdentity (setUserIdentity)
    DELETE /messengers/{messengerToken}/sessions/{sessionId}/identity    purge (purgeUserIdentity)
    POST   /messengers/{messengerToken}/sessions/{sessionId}/conversations    startConversation
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from emulator.core.http import BodyTooLarge, HTTPProblem, parse_json, read_body, with_diagnosis
from emulator.core.journal import Note, note_of
from emulator.vendors.dixa import errors
from emulator.vendors.dixa.config import Messenger
from emulator.vendors.dixa.service import DixaService, Outcome
from emulator.vendors.dixa.state import VisitorSession

_BODY_LIMIT = 128 * 1024
BASE = "/messengers/{messenger}"


def _error(note: Note, status: int, error: dict[str, Any], check: str, message: str, remedy: str = "") -> Response:
    note.outcome, note.failed_check, note.summary = "rejected", check, f"{check}: {message}"
    diagnosis = note.summary + (f" | remedy: {remedy}" if remedy else "")
    return with_diagnosis(JSONResponse({"error": error}, status_code=status), diagnosis)


class DixaRoutes:
    def __init__(self, service: DixaService) -> None:
        self.service = service

    def routes(self) -> list[BaseRoute]:
        return [
            Route(BASE + "/sessions", self._wrap(self.create, "create_session"), methods=["POST"]),
            Route(BASE + "/sessions/{session}", self._wrap(self.get, "get_session"), methods=["GET"]),
            Route(
                BASE + "/sessions/{session}/identity", self._wrap(self.set_identity, "set_identity"), methods=["PUT"]
            ),
            Route(BASE + "/sessions/{session}/identity", self._wrap(self.purge, "purge_identity"), methods=["DELETE"]),
            Route(
                BASE + "/sessions/{session}/conversations",
                self._wrap(self.conversation, "start_conversation"),
                methods=["POST"],
            ),
        ]

    def _wrap(self, handler: Any, operation: str) -> Any:
        async def endpoint(request: Request) -> Response:
            note = note_of(request.scope)
            note.operation = note.operation or operation
            note.tenant = request.path_params["messenger"]
            try:
                return await handler(request, note)
            except HTTPProblem as refused:
                return refused.response

        return endpoint

    def _messenger(self, request: Request, note: Note) -> Messenger:
        token = request.path_params["messenger"]
        messenger = self.service.state.messengers.get(token)
        if messenger is None:
            raise HTTPProblem(
                _error(
                    note,
                    404,
                    errors.emulator_error("invalid-payload", "Invalid payload: no messenger has this messengerToken"),
                    "messenger_known",
                    f"unknown messengerToken {token!r} (init would reject 'Invalid payload')",
                    "Register it: PUT /_emulator/tenants/dixa/<messengerToken>",
                )
            )
        return messenger

    def _session(self, request: Request, note: Note, messenger: Messenger) -> VisitorSession:
        session = self.service.state.sessions.get(request.path_params["session"])
        if session is None or session.messenger != messenger.token:
            raise HTTPProblem(
                _error(
                    note,
                    404,
                    errors.emulator_error("session-not-found", "no such session for this messenger"),
                    "session_known",
                    "unknown session (or reset)",
                    "Create a session: POST /dixa/messengers/<messengerToken>/sessions",
                )
            )
        return session

    async def _body(self, request: Request, note: Note, *, optional: bool) -> dict[str, Any]:
        try:
            raw = await read_body(request, _BODY_LIMIT)
            if optional and not raw.strip():
                return {}
            body = parse_json(raw)
        except (ValueError, BodyTooLarge) as exc:
            raise HTTPProblem(
                _error(note, 400, errors.emulator_error("invalid-payload", str(exc)), "request_body", str(exc))
            ) from exc
        if not isinstance(body, dict):
            message = "the body must be a JSON object"
            raise HTTPProblem(
                _error(note, 400, errors.emulator_error("invalid-payload", message), "request_body", message)
            )
        return body

    def _apply(self, note: Note, messenger: Messenger, session: VisitorSession, identity: Any) -> Outcome:
        outcome = self.service.set_identity(messenger, session, identity)
        if isinstance(identity, dict) and identity.get("type") == "verified":
            payload = identity.get("payload")
            note.token = (
                payload.get("token") if isinstance(payload, dict) and isinstance(payload.get("token"), str) else None
            )
        if outcome.trace is not None or outcome.warnings:
            note.trace = {**(outcome.trace or {}), "warnings": outcome.warnings}
        return outcome

    def _view(self, messenger: Messenger, session: VisitorSession) -> dict[str, Any]:
        return {**session.view(), "canStartConversation": self.service.can_start(messenger, session)}

    async def create(self, request: Request, note: Note) -> Response:
        messenger = self._messenger(request, note)
        body = await self._body(request, note, optional=True)
        session = self.service.new_session(messenger)
        if body.get("userIdentity") is not None:
            outcome = self._apply(note, messenger, session, body["userIdentity"])
            if outcome.error is not None:  # the session exists (anonymous); the widget would emit on-backend-error
                answer = {**session.view(), "backendError": outcome.error}
                note.failed_check, note.summary = (
                    outcome.check,
                    f"{outcome.check}: {outcome.message} (session kept, anonymous)",
                )
                note.outcome = "rejected"
                return with_diagnosis(JSONResponse(answer, status_code=201), note.summary)
        note.outcome, note.summary = "accepted", f"session {session.session_id}: {session.identity}"
        return JSONResponse(session.view(), status_code=201)

    async def get(self, request: Request, note: Note) -> Response:
        messenger = self._messenger(request, note)
        return JSONResponse(self._view(messenger, self._session(request, note, messenger)))

    async def set_identity(self, request: Request, note: Note) -> Response:
        messenger = self._messenger(request, note)
        session = self._session(request, note, messenger)
        body = await self._body(request, note, optional=False)
        identity = body.get("userIdentity", body)  # the UserIdentity itself, or {"userIdentity": ...}
        outcome = self._apply(note, messenger, session, identity)
        if outcome.error is not None:
            assert outcome.check is not None
            return _error(note, outcome.status, outcome.error, outcome.check, outcome.message, outcome.remedy)
        note.outcome, note.summary = (
            "accepted",
            f"identity {session.identity}" + (f" ({outcome.message})" if outcome.message else ""),
        )
        return JSONResponse(self._view(messenger, session))

    async def purge(self, request: Request, note: Note) -> Response:
        messenger = self._messenger(request, note)
        session = self._session(request, note, messenger)
        self.service.purge(session)
        note.outcome, note.summary = "accepted", "identity purged: anonymous"
        return JSONResponse(self._view(messenger, session))

    async def conversation(self, request: Request, note: Note) -> Response:
        messenger = self._messenger(request, note)
        session = self._session(request, note, messenger)
        outcome = self.service.gate(messenger, session)
        if outcome.error is not None:
            assert outcome.check is not None
            return _error(note, outcome.status, outcome.error, outcome.check, outcome.message, outcome.remedy)
        conversation = str(uuid.uuid4())
        session.conversations.append(conversation)
        note.outcome, note.summary = "accepted", f"conversation {conversation} ({session.identity})"
        return JSONResponse({"conversationId": conversation}, status_code=201)
