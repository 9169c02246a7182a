"""Dixa state: messengers (registered) apart from visitor sessions and the jti replay store (runtime).

Replacing a messenger's settings (a new PUT) keeps its sessions and replay store: configuration is not runtime
state. A reset clears both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator.vendors.dixa.config import DixaSettings, Messenger

RANK = {"anonymous": 0, "claim": 1, "verified": 2}
LEVEL_OF_SETTING = {"anonymous": "anonymous", "claimed": "claim", "verified": "verified"}


@dataclass
class VisitorSession:
    session_id: str
    messenger: str
    identity: str = "anonymous"  # anonymous | claim | verified (the widget's on-user-identity-changed values)
    user: dict[str, Any] = field(default_factory=dict)
    invalid_email: str | None = None  # set by a refused email: no conversation until a valid identity is set
    conversations: list[str] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        return {"sessionId": self.session_id, "identity": self.identity, "user": dict(self.user)}


class DixaState:
    def __init__(self, settings: DixaSettings) -> None:
        self.messengers: dict[str, Messenger] = {m.token: m for m in settings.messengers}
        self.sessions: dict[str, VisitorSession] = {}
        self.replay: dict[tuple[str, str], float] = {}  # (messengerToken, jti) -> when first accepted

    def reset(self) -> None:
        self.sessions.clear()
        self.replay.clear()
