"""Avaya state: registered accounts apart from the runtime chat state (sessions, engagements, events).

Identity: a chat session belongs to (accountId, integrationId, customerId from the chat JWT). Several sessions may
exist for one customer (tabs, devices); engagements belong to the customer, not to a session, so every session of
the customer lists them, and a session receives an engagement's events once it created or joined it.

Events are consumed once per session: a poll takes every pending event of its session, and no event is handed
out again (the SDK forgets its de-duplication set after an empty poll).
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from emulator.config import ConfigError
from emulator.vendors.avaya.config import Account, AvayaSettings

Customer = tuple[str, str, str]  # (accountId, integrationId, customerId)


def iso(epoch: float) -> str:
    """An ISO 8601 UTC instant with milliseconds, as the SDK's Date() parses."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(epoch * 1000) % 1000:03d}Z"


@dataclass
class Participant:
    participant_id: str
    participant_type: str  # CUSTOMER | AGENT
    display_name: str

    def view(self) -> dict[str, str]:
        return {
            "participantId": self.participant_id,
            "participantType": self.participant_type,
            "displayName": self.display_name,
        }


@dataclass
class Message:
    message_id: str
    engagement_id: str
    dialog_id: str
    index: int
    sender: Participant
    text: str
    parent_message_id: str | None
    received_at: float

    def body(self) -> dict[str, Any]:
        return {"elementType": "TEXT", "elementText": {"text": self.text, "textFormat": "PLAINTEXT"}}

    def view(self) -> dict[str, Any]:
        """The REST shape (send and list)."""
        return {
            "messageId": self.message_id,
            "dialogId": self.dialog_id,
            "engagementId": self.engagement_id,
            "body": self.body(),
            "messageIndex": self.index,
            "parentMessageId": self.parent_message_id,
            "senderParticipantId": self.sender.participant_id,
            "participantType": self.sender.participant_type,
            "displayName": self.sender.display_name,
            "receivedAt": iso(self.received_at),
            "lastUpdatedAt": iso(self.received_at),
        }

    def event_view(self) -> dict[str, Any]:
        """The shape inside a MESSAGE event."""
        return {
            "messageId": self.message_id,
            "parentMessageId": self.parent_message_id,
            "messageIndex": self.index,
            "receivedAt": iso(self.received_at),
            "lastUpdatedAt": iso(self.received_at),
            "body": self.body(),
        }


@dataclass
class Engagement:
    engagement_id: str
    dialog_id: str
    customer: Customer
    customer_participant: Participant
    agent: Participant | None
    parameters: dict[str, Any]
    created_at: float
    updated_at: float
    status: str = "ACTIVE"  # ACTIVE | TERMINATED
    messages: list[Message] = field(default_factory=list)
    sessions: set[str] = field(default_factory=set)  # sessions that created or joined it

    @property
    def active(self) -> bool:
        return self.status == "ACTIVE"

    def participants(self) -> list[Participant]:
        return [p for p in (self.customer_participant, self.agent) if p is not None]

    def view(self) -> dict[str, Any]:
        return {
            "engagementId": self.engagement_id,
            "createdAt": iso(self.created_at),
            "lastUpdatedAt": iso(self.updated_at),
            "engagementParameters": self.parameters,
            "dialogs": [
                {
                    "dialogId": self.dialog_id,
                    "dialogStatus": self.status,
                    "participants": [p.view() for p in self.participants()] if self.active else [],
                    "createdAt": iso(self.created_at),
                    "lastUpdatedAt": iso(self.updated_at),
                }
            ],
        }


@dataclass
class ChatSession:
    session_id: str
    customer: Customer
    display_name: str | None
    parameters: dict[str, str]
    created_at: float
    events: list[dict[str, Any]] = field(default_factory=list)  # pending, not yet handed out
    delivered: int = 0
    polls: int = 0  # polls started; only the newest may take events
    # binds to the running loop on its first wait (Python >= 3.10), so creating it outside a loop is fine
    wakeup: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def wake(self) -> None:
        """Wake the poll waiting on this session, if any."""
        self.wakeup.set()

    def push(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        self.wake()

    def take(self) -> list[dict[str, Any]]:
        events, self.events = self.events, []
        self.delivered += len(events)
        self.wakeup.clear()
        return events


class AvayaState:
    def __init__(self, settings: AvayaSettings) -> None:
        self.accounts: dict[str, Account] = {}
        for account in settings.accounts:
            try:
                self.put_account(account)
            except ConfigError as exc:
                raise ConfigError(f"[[avaya.accounts]] accountId {account.account_id}: {exc}") from exc
        self.sessions: dict[str, ChatSession] = {}
        self.engagements: dict[str, Engagement] = {}
        self.timers: set[asyncio.TimerHandle] = set()
        self._event_ids = itertools.count(1)

    def reset(self) -> None:
        for handle in self.timers:
            handle.cancel()
        self.timers.clear()
        for session in self.sessions.values():
            session.wake()  # a pending poll wakes, finds its session gone and answers 404
        self.sessions.clear()
        self.engagements.clear()

    def put_account(self, account: Account) -> bool:
        """Register (or replace) an account; True when it is new. An appkey and an integration identify one
        account: ConfigError when another account already has this appkey or one of these integrations."""
        for other in self.accounts.values():
            if other.account_id == account.account_id:
                continue
            if other.appkey == account.appkey:
                raise ConfigError(
                    f"appkey: already the appkey of account {other.account_id} (an appkey identifies one account)"
                )
            shared = set(other.integrations) & set(account.integrations)
            if shared:
                raise ConfigError(f"integrations: {sorted(shared)} already belong to account {other.account_id}")
        created = account.account_id not in self.accounts
        self.accounts[account.account_id] = account
        return created

    def account_of_integration(self, integration_id: str) -> Account | None:
        wanted = integration_id.lower()
        return next((a for a in self.accounts.values() if wanted in a.integrations), None)

    def next_event_id(self) -> str:
        return f"{next(self._event_ids):012d}-{uuid.uuid4().hex[:12]}"

    def engagements_of(self, customer: Customer) -> list[Engagement]:
        return [e for e in self.engagements.values() if e.customer == customer and e.active]
