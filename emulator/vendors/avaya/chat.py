"""The Chat SDK's server side: sessions, the events long poll, engagements, messages and an echo agent.

Shapes follow what Chat SDK 0.1.53 reads (research/avaya.md §6). Times are ISO 8601 on the emulator clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from emulator.core.runtime import Runtime
from emulator.vendors.avaya import errors
from emulator.vendors.avaya.config import AvayaSettings
from emulator.vendors.avaya.service import ChatIdentity
from emulator.vendors.avaya.state import AvayaState, ChatSession, Engagement, Message, Participant, iso

MAX_TEXT = 4096  # [SDK] sendMessage accepts 1-4096 characters
MAX_PAGE = 50  # [SDK] getMessages asks for pages of 50


class ChatRefusal(Exception):
    def __init__(self, check: str, message: str, body: dict[str, Any], remedy: str = "") -> None:
        super().__init__(message)
        self.check, self.message, self.body, self.remedy = check, message, body, remedy


def _violation(field: str, message: str, code: int, why: str) -> ChatRefusal:
    body = errors.constraint_violation([errors.violation(field, message, code)])
    return ChatRefusal("request_body", why, body, f"Send {field} as the Chat SDK does")


class ChatService:
    def __init__(self, settings: AvayaSettings, state: AvayaState, runtime: Runtime) -> None:
        self.settings = settings
        self.state = state
        self.runtime = runtime

    @property
    def now(self) -> float:
        return self.runtime.clock.now()

    # -- sessions --------------------------------------------------------------------------------------------
    def create_session(self, who: ChatIdentity, body: Mapping[str, Any]) -> ChatSession:
        display = body.get("displayName")
        parameters = body.get("sessionParameters")
        if display is not None and (not isinstance(display, str) or len(display) > 70):
            raise _violation(
                "displayName", "size must be between 0 and 70", errors.CODE_SIZE, "displayName is not a string of <= 70"
            )
        if parameters is not None and not _mapped_data(parameters):
            raise _violation(
                "sessionParameters", "must be at most 20 string values", errors.CODE_SIZE, "bad sessionParameters"
            )
        session = ChatSession(
            session_id=str(uuid.uuid4()),
            customer=who.customer,
            display_name=who.customer_name or display or None,  # [DOC] init's displayName: "only if ... not in JWT"
            parameters=dict(parameters or {}),
            created_at=self.now,
        )
        self.state.sessions[session.session_id] = session
        return session

    def session_of(self, who: ChatIdentity, session_id: Any) -> ChatSession:
        session = self.state.sessions.get(session_id) if isinstance(session_id, str) else None
        if session is None:
            raise ChatRefusal(
                "session_known",
                f"no session {session_id!r} (deleted, reset, or never created)",
                errors.SESSION_NOT_FOUND,
                "Create a session (the SDK does on init(); clear its sessionStorage 'ccaasClientSessionId' to start over)",
            )
        if session.customer != who.customer:
            raise ChatRefusal(
                "session_owner",
                f"session {session_id} belongs to customer {session.customer[2]!r}, the JWT is for {who.customer_id!r}",
                errors.FORBIDDEN,
                "Use a chat JWT issued for the session's customerId",
            )
        return session

    def session_view(self, session: ChatSession) -> dict[str, Any]:
        return {
            "sessionId": session.session_id,
            "displayName": session.display_name,
            "clientType": "web",
            "sessionParameters": session.parameters,
            "createdAt": iso(session.created_at),
            "engagements": [e.view() for e in self.state.engagements_of(session.customer)],
        }

    def delete_session(self, session: ChatSession) -> None:
        """Engagements stay: the customer may be chatting on them from another session ([DOC])."""
        del self.state.sessions[session.session_id]
        for engagement in self.state.engagements.values():
            engagement.sessions.discard(session.session_id)
        session.wake()

    async def poll(
        self, session: ChatSession, disconnected: Callable[[], Awaitable[bool]]
    ) -> tuple[list[dict[str, Any]] | None, str]:
        """(events, why): pending events, waiting up to longPollSeconds for some; None when the session went away.

        One poll waits per session: a newer poll supersedes the one already waiting, which answers [] at once.
        The SDK polls with fetch(keepalive), so after a page reload the old page's poll stays open beside the new
        page's; without this, the orphaned poll would take (and lose) the next event.
        """
        session.polls += 1
        generation = session.polls
        session.wake()  # wake the poll already waiting, if any: it is superseded
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.long_poll_seconds
        while True:
            if self.state.sessions.get(session.session_id) is not session:
                return None, "the session was closed during the poll"
            if session.polls != generation:
                return [], "superseded by a newer poll of the same session (e.g. the page reloaded)"
            if session.events:
                if await disconnected():
                    return [], "the client went away"
                events = session.take()
                return events, f"{len(events)} event(s): {[e['eventType'] for e in events]}"
            remaining = deadline - loop.time()
            if remaining <= 0:
                return [], f"no event within longPollSeconds ({self.settings.long_poll_seconds:g} s)"
            if await disconnected():
                return [], "the client went away"
            session.wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(session.wakeup.wait(), min(remaining, 1.0))

    # -- engagements -----------------------------------------------------------------------------------------
    def create_engagement(self, who: ChatIdentity, body: Mapping[str, Any]) -> Engagement:
        session = self._session_in(who, body)
        parameters = body.get("engagementParameters") or {}
        if not _mapped_data(parameters):
            raise _violation(
                "engagementParameters", "must be at most 20 string values", errors.CODE_SIZE, "bad engagementParameters"
            )
        now = self.now
        customer = Participant(str(uuid.uuid4()), "CUSTOMER", session.display_name or who.customer_name or "Customer")
        engagement = Engagement(
            engagement_id=str(uuid.uuid4()),
            dialog_id=str(uuid.uuid4()),
            customer=who.customer,
            customer_participant=customer,
            agent=None,
            parameters=dict(parameters),
            created_at=now,
            updated_at=now,
        )
        self.state.engagements[engagement.engagement_id] = engagement
        engagement.sessions.add(session.session_id)
        # Without this event the SDK keeps the engagement PENDING and sendMessage fails with ACS-313.
        self._push(engagement, "PARTICIPANT_ADDED", customer, only=session)
        engagement.agent = Participant(str(uuid.uuid4()), "AGENT", self.settings.agent_name)
        self._push(engagement, "PARTICIPANT_ADDED", engagement.agent)
        return engagement

    def engagement_of(self, who: ChatIdentity, engagement_id: str) -> Engagement:
        engagement = self.state.engagements.get(engagement_id)
        if engagement is None or not engagement.active:
            state = "terminated" if engagement is not None else "unknown"
            raise ChatRefusal(
                "engagement_known",
                f"engagement {engagement_id} is {state}",
                errors.ENGAGEMENT_NOT_FOUND,
                "Create a new engagement (the SDK reports ACS-314 for this one)",
            )
        if engagement.customer != who.customer:
            raise ChatRefusal(
                "engagement_owner",
                f"engagement {engagement_id} belongs to customer {engagement.customer[2]!r}",
                errors.FORBIDDEN,
                "Use a chat JWT issued for the engagement's customerId",
            )
        return engagement

    def _session_in(self, who: ChatIdentity, body: Mapping[str, Any]) -> ChatSession:
        """The session a body names ([SDK] every engagement call sends its sessionId)."""
        if body.get("sessionId") is None:
            raise _violation("sessionId", "must not be null", errors.CODE_NOT_NULL, "the body has no sessionId")
        return self.session_of(who, body["sessionId"])

    def _dialog(self, engagement: Engagement, body: Mapping[str, Any]) -> None:
        dialog = body.get("dialogId")
        if dialog is None:
            raise _violation("dialogId", "must not be null", errors.CODE_NOT_NULL, "the body has no dialogId")
        if dialog != engagement.dialog_id:
            raise _violation(
                "dialogId",
                "must be the engagement's dialog",
                errors.CODE_PATTERN,
                f"dialogId {dialog!r} is not {engagement.dialog_id}",
            )

    def join(self, who: ChatIdentity, engagement_id: str, body: Mapping[str, Any]) -> Engagement:
        engagement = self.engagement_of(who, engagement_id)
        session = self._session_in(who, body)
        self._dialog(engagement, body)
        engagement.sessions.add(session.session_id)
        engagement.updated_at = self.now
        self._push(engagement, "PARTICIPANT_ADDED", engagement.customer_participant, only=session)
        return engagement

    def disconnect(self, who: ChatIdentity, engagement_id: str, body: Mapping[str, Any]) -> Engagement:
        engagement = self.engagement_of(who, engagement_id)
        self._session_in(who, body)
        self._dialog(engagement, body)
        if engagement.agent is not None:
            self._push(engagement, "PARTICIPANT_DISCONNECTED", engagement.agent)
        self._push(engagement, "PARTICIPANT_DISCONNECTED", engagement.customer_participant)
        engagement.status = "TERMINATED"
        engagement.updated_at = self.now
        return engagement

    # -- messages --------------------------------------------------------------------------------------------
    def send_message(self, who: ChatIdentity, engagement_id: str, body: Mapping[str, Any]) -> Message:
        engagement = self.engagement_of(who, engagement_id)
        self._session_in(who, body)
        self._dialog(engagement, body)
        content = body.get("body")
        text = content.get("elementText", {}).get("text") if isinstance(content, dict) else None
        if not isinstance(text, str) or not 1 <= len(text) <= MAX_TEXT:
            raise _violation(
                "body.elementText.text",
                f"size must be between 1 and {MAX_TEXT}",
                errors.CODE_SIZE,
                "the message text is missing, empty or too long",
            )
        parent = body.get("parentMessageId")
        message = self._add_message(
            engagement, engagement.customer_participant, text, parent if isinstance(parent, str) else None
        )
        self._schedule_echo(engagement, message)
        return message

    def _add_message(self, engagement: Engagement, sender: Participant, text: str, parent: str | None) -> Message:
        message = Message(
            message_id=str(uuid.uuid4()),
            engagement_id=engagement.engagement_id,
            dialog_id=engagement.dialog_id,
            index=len(engagement.messages) + 1,
            sender=sender,
            text=text,
            parent_message_id=parent,
            received_at=self.now,
        )
        engagement.messages.append(message)
        engagement.updated_at = message.received_at
        self._push(engagement, "MESSAGE", sender, message=message)
        return message

    def _schedule_echo(self, engagement: Engagement, message: Message) -> None:
        def echo() -> None:
            self.state.timers.discard(handle)
            if (
                engagement.active
                and engagement.agent is not None
                and self.state.engagements.get(engagement.engagement_id) is engagement
            ):
                self._add_message(engagement, engagement.agent, message.text, message.message_id)

        handle = asyncio.get_running_loop().call_later(self.settings.echo_delay_seconds, echo)
        self.state.timers.add(handle)

    def list_messages(
        self, engagement: Engagement, query: Mapping[str, str], page_url: Callable[[dict[str, str]], str]
    ) -> dict[str, Any]:
        size = _positive(query.get("pageSize"), 10, MAX_PAGE)
        number = _positive(query.get("pageNumber"), 1, 10**6)
        ordered = sorted(engagement.messages, key=lambda m: m.index, reverse=query.get("orderBy", "DSC") != "ASC")
        page = ordered[(number - 1) * size : number * size]
        more = number * size < len(ordered)
        next_link = page_url({**query, "pageSize": str(size), "pageNumber": str(number + 1)}) if more else ""
        return {
            "messages": [m.view() for m in page],
            "pagination": {"pageNumber": number},
            "links": {"next": next_link},
        }

    # -- events ----------------------------------------------------------------------------------------------
    def _push(
        self,
        engagement: Engagement,
        event_type: str,
        participant: Participant,
        *,
        message: Message | None = None,
        only: ChatSession | None = None,
    ) -> None:
        targets = (
            [only]
            if only is not None
            else [self.state.sessions[s] for s in engagement.sessions if s in self.state.sessions]
        )
        for session in targets:
            event: dict[str, Any] = {
                "eventId": self.state.next_event_id(),
                "eventType": event_type,
                "engagementId": engagement.engagement_id,
                "dialogId": engagement.dialog_id,
                "sessionId": session.session_id,
                "eventDate": iso(self.now),
                "participant": participant.view(),
            }
            if message is not None:
                event["message"] = message.event_view()
            session.push(event)


def _mapped_data(value: Any) -> bool:
    """[SDK] MappedData: at most 20 keys of at most 64 characters, string values of at most 256."""
    return (
        isinstance(value, dict)
        and len(value) <= 20
        and all(isinstance(k, str) and len(k) <= 64 and isinstance(v, str) and len(v) <= 256 for k, v in value.items())
    )


def _positive(text: str | None, default: int, maximum: int) -> int:
    """A positive ASCII integer, capped; anything else (absent, '0', 'abc', '²', '١') is the default."""
    if text is None or not (text.isascii() and text.isdigit()) or int(text) < 1:
        return default
    return min(int(text), maximum)


def page_url_for(base: str, path: str) -> Callable[[dict[str, str]], str]:
    return lambda query: f"{base}{path}?{urlencode(query)}"
