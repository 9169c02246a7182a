"""Opaque, expiring tokens signed with itsdangerous (bearer tokens, handles, codes).

They are verifiable without server state: the payload and its issue time are signed with the emulator secret
(``[emulator] secret``). Their age is measured on the emulator clock, so freezing or advancing the clock
expires them on demand. Each use has its own salt, so a token of one kind is never accepted as another.
"""

from __future__ import annotations

from typing import Any, Literal

from itsdangerous import BadData, BadSignature, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.timed import TimestampSigner

from emulator.core.clock import Clock

Reason = Literal["malformed", "bad_signature", "expired", "not_yet_valid"]


class OpaqueTokenError(ValueError):
    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    def explain(self, what: str, lifetime: float) -> str:
        """A diagnosis line for a refused ``what`` (e.g. "the access token") that lives ``lifetime`` seconds."""
        return {
            "expired": f"{what} is over {lifetime:g} s old (expired)",
            "not_yet_valid": f"{what} was issued after the emulator's current time (the clock moved back)",
            "bad_signature": f"{what} was not issued by this emulator (bad signature)",
            "malformed": f"{what} is not one this emulator issues",
        }[self.reason]


def _signer_for(clock: Clock) -> type[TimestampSigner]:
    class ClockSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock.now())

    return ClockSigner


class OpaqueTokens:
    def __init__(self, secret: str | bytes, clock: Clock) -> None:
        if not secret:
            raise ValueError("the opaque-token secret must not be empty")
        self._secret = secret
        self._clock = clock
        self._signer = _signer_for(clock)
        self._serializers: dict[str, URLSafeTimedSerializer] = {}

    def _serializer(self, kind: str) -> URLSafeTimedSerializer:
        serializer = self._serializers.get(kind)
        if serializer is None:
            serializer = URLSafeTimedSerializer(self._secret, salt=f"chat-auth-emulator/{kind}", signer=self._signer)
            self._serializers[kind] = serializer
        return serializer

    def issue(self, kind: str, payload: Any) -> str:
        return self._serializer(kind).dumps(payload)

    def verify(self, kind: str, token: Any, max_age: float) -> Any:
        """The payload of a valid token of ``kind`` no older than ``max_age`` seconds, else OpaqueTokenError."""
        if not isinstance(token, str) or not token or len(token) > 8192 or token.count(".") < 2:
            raise OpaqueTokenError("malformed", "token is missing or not a plausible opaque token")
        try:
            return self._serializer(kind).loads(token, max_age=max_age)
        except SignatureExpired as exc:
            if exc.date_signed is not None and exc.date_signed.timestamp() > self._clock.now():
                raise OpaqueTokenError(
                    "not_yet_valid", "token was issued after the emulator's current time (clock moved back)"
                ) from exc
            raise OpaqueTokenError("expired", f"token is older than {max_age:g} seconds") from exc
        except BadSignature as exc:
            raise OpaqueTokenError("bad_signature", "token signature does not verify") from exc
        except BadData as exc:
            raise OpaqueTokenError("malformed", "token is not an emulator token") from exc
