"""Live Assist state: connectors (registered) apart from conversations, codes seen and the JWKS cache (runtime)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator.core.keys import Key
from emulator.vendors.liveassist.config import Connector, LiveAssistSettings
from emulator.vendors.liveassist.sdes import Attributes


@dataclass
class Conversation:
    conversation_id: str
    account_id: str
    sub: str
    issuer: str
    flow: str
    claims: dict[str, Any]
    attributes: Attributes
    exp: float
    skew: float  # the connector's clockSkew: the same leeway the id_token checks allow on exp
    participants: list[str] = field(default_factory=list)
    chats: list[str] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)

    def expired(self, now: float) -> bool:
        return now >= self.exp + self.skew


class LiveAssistState:
    def __init__(self, settings: LiveAssistSettings) -> None:
        self.connectors: dict[str, Connector] = {c.account_id: c for c in settings.connectors}
        self.conversations: dict[str, Conversation] = {}
        self.participants: dict[str, str] = {}  # participantId -> conversationId
        self.chats: dict[str, str] = {}  # chatId -> conversationId
        self.codes_seen: dict[tuple[str, str], float] = {}  # (accountId, sha256(code)) -> first seen
        self.jwks: dict[str, list[Key]] = {}  # jwksUrl -> its signing keys

    def reset(self) -> None:
        self.conversations.clear()
        self.participants.clear()
        self.chats.clear()
        self.codes_seen.clear()
        self.jwks.clear()
