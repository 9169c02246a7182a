"""Dixa's vocabulary for what goes wrong, and the emulator's own errors beside it.

[DOC] docs.dixa.io "BackendError": ``{type: 'invalid-email-address', email}`` | ``{type: 'unknown-error'}``.
[EMU] the other error types: Dixa publishes no backend protocol, so this HTTP API is the emulator's design.
"""

from __future__ import annotations

from typing import Any


def invalid_email(email: Any) -> dict[str, Any]:
    return {"type": "invalid-email-address", "email": email if isinstance(email, str) else ""}


UNKNOWN_ERROR = {"type": "unknown-error"}


def emulator_error(kind: str, message: str, **more: Any) -> dict[str, Any]:
    """[EMU] invalid-payload, session-not-found, demotion-refused, identification-required."""
    return {"type": kind, "message": message, **more}
