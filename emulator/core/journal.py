"""A bounded journal of vendor requests and their verdicts (a ring buffer: the oldest entry goes first).

Every request that reaches a vendor endpoint is recorded by ``JournalMiddleware``: method, path, status,
and what the handler noted (tenant, outcome, failed check, the check trace, the token). Secrets never reach it:
handlers note only what is safe (no passwords, no client secrets, no Authorization header), and tokens are
kept only while ``include_tokens`` is on (``[emulator] journalTokens``).
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emulator.core.clock import Clock

NOTE_KEY = "emulator.journal_note"
# Credentials a client may wrongly put in a URL: kept out of the journal even then.
SECRET_PARAMETERS = frozenset({"client_secret", "password", "secret", "access_token", "refresh_token", "code_verifier"})


def redact_query(query: str) -> str:
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, "<redacted>" if k.lower() in SECRET_PARAMETERS else v) for k, v in pairs])


@dataclass
class Note:
    """What a handler tells the journal about the request it served."""

    tenant: str | None = None
    operation: str | None = None
    outcome: str | None = None  # "accepted" | "rejected" | "error"
    failed_check: str | None = None
    summary: str | None = None
    trace: dict[str, Any] | None = None
    token: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    entry_id: int | None = None


def note_of(scope: Scope) -> Note:
    """The Note for this request (created on first use, e.g. outside the middleware in unit tests)."""
    note = scope.get(NOTE_KEY)
    if note is None:
        note = scope[NOTE_KEY] = Note()
    return note


class Journal:
    def __init__(self, clock: Clock, size: int = 1000, include_tokens: bool = True) -> None:
        if size < 1:
            raise ValueError("journal size must be at least 1")
        self.clock = clock
        self.size = size
        self.include_tokens = include_tokens
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self._ids = itertools.count(1)

    def next_id(self) -> int:
        return next(self._ids)

    def record(self, entry: dict[str, Any]) -> None:
        if not self.include_tokens:
            entry.pop("token", None)
        self._entries.append(entry)

    def entries(self, vendor: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Newest first."""
        selected = (e for e in reversed(self._entries) if vendor is None or e["vendor"] == vendor)
        return list(itertools.islice(selected, limit))

    def get(self, entry_id: int) -> dict[str, Any] | None:
        return next((e for e in self._entries if e["id"] == entry_id), None)

    def clear(self) -> int:
        count = len(self._entries)
        self._entries.clear()
        return count

    def __len__(self) -> int:
        return len(self._entries)


class JournalMiddleware:
    """Wraps one vendor's ASGI app; records every HTTP request it serves."""

    def __init__(self, app: ASGIApp, journal: Journal, vendor: str) -> None:
        self.app = app
        self.journal = journal
        self.vendor = vendor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        note = note_of(scope)
        note.entry_id = self.journal.next_id()
        status = 500
        at = self.journal.clock.now()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-emulator-journal-id", str(note.entry_id).encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.journal.record(self._entry(scope, note, status, at))

    def _entry(self, scope: Scope, note: Note, status: int, at: float) -> dict[str, Any]:
        headers = dict(scope.get("headers") or [])
        entry: dict[str, Any] = {
            "id": note.entry_id,
            "at": at,
            "vendor": self.vendor,
            "method": scope["method"],
            "path": scope["path"],
            "query": redact_query(scope.get("query_string", b"").decode("latin-1")),
            "host": headers.get(b"host", b"").decode("latin-1"),
            "status": status,
            "tenant": note.tenant,
            "operation": note.operation,
            "outcome": note.outcome or ("accepted" if status < 400 else "rejected"),
            "failedCheck": note.failed_check,
            "summary": note.summary,
            "trace": note.trace,
            "details": note.details,
        }
        if note.token is not None:
            entry["token"] = note.token
        return entry
