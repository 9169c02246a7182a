"""Dixa configuration: messengers (by messengerToken) with their minimum identification level and keys.

Keys are the 64-byte shared keys of the verified identity JWE (alg dir, enc A256CBC-HS512), written as Dixa's
settings page shows them: base64url. Several keys may be active at once (rotation). The same parser reads
``[[dixa.messengers]]`` and the JSON body of ``PUT /_emulator/tenants/dixa/<messengerToken>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from emulator.config import ConfigError, require_known, seconds, tenant_tables

TOKEN = re.compile(r"[A-Za-z0-9_-]{1,128}")  # 32 hex characters in every public snippet
LEVELS = ("anonymous", "claimed", "verified")
KEY_BYTES = 64  # [DOC] seed: "an octet sequence of 64 bytes" (A256CBC-HS512's key)
DEFAULT_REPLAY_WINDOW = 86400.0  # [EMU] 24 h of emulator-clock time: Dixa documents no jti rule
DEFAULT_SKEW = 60.0  # [EMU] how far in the future iat may be
_FIELDS = {"messengerToken", "minIdentificationLevel", "keys", "replayWindow", "clockSkew"}


def key_id(key: bytes) -> str:
    """A stable, non-secret name for a key: shown in place of the key, everywhere."""
    return "k-" + hashlib.sha256(key).hexdigest()[:12]


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).rstrip(b"=").decode("ascii")


def decode_key(text: Any, where: str) -> bytes:
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9_-]+={0,2}", text.strip()):
        raise ConfigError(f"{where}: a base64url string is required")
    try:
        key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"{where}: not base64url: {exc}") from exc
    if len(key) != KEY_BYTES:
        raise ConfigError(
            f"{where}: the key is {len(key)} bytes; Dixa's key is exactly {KEY_BYTES} bytes (A256CBC-HS512 uses 32 for "
            "HMAC-SHA-512 and 32 for AES-256), written base64url"
        )
    return key


@dataclass(frozen=True)
class Messenger:
    token: str
    min_level: str
    keys: dict[str, bytes]  # key id -> key
    replay_window: float
    clock_skew: float

    @classmethod
    def from_json(cls, token: Any, body: Any, *, generated: bytes | None = None) -> Messenger:
        """``generated``: the key to use when the body gives none (the caller makes it and shows it once)."""
        if not isinstance(token, str) or not TOKEN.fullmatch(token):
            raise ConfigError(f"messengerToken: 1-128 letters, digits, '-' or '_' are required, got {token!r}")
        if not isinstance(body, dict):
            raise ConfigError("the messenger must be a JSON object")
        require_known(body, _FIELDS)
        if "messengerToken" in body and body["messengerToken"] != token:
            raise ConfigError(
                f"messengerToken in the body ({body['messengerToken']!r}) differs from the one in the path"
            )
        level = body.get("minIdentificationLevel", "anonymous")
        if level not in LEVELS:
            raise ConfigError(f"minIdentificationLevel: one of {list(LEVELS)}, got {level!r}")
        keys_in = body.get("keys")
        if keys_in is None:  # omitted (or null): the caller generated one
            if generated is None:
                raise ConfigError("keys: at least one base64url key of 64 bytes is required")
            keys = [generated]
        elif not isinstance(keys_in, list) or not keys_in:
            raise ConfigError("keys: a non-empty list of base64url keys (omit it to have one generated)")
        else:
            keys = [decode_key(k, f"keys[{i}]") for i, k in enumerate(keys_in)]
        return cls(
            token=token,
            min_level=level,
            keys={key_id(k): k for k in keys},
            replay_window=seconds(body, "replayWindow", DEFAULT_REPLAY_WINDOW, 0, 366 * 86400),
            clock_skew=seconds(body, "clockSkew", DEFAULT_SKEW, 0, 3600),
        )

    def view(self) -> dict[str, Any]:
        return {
            "messengerToken": self.token,
            "minIdentificationLevel": self.min_level,
            "keyIds": list(self.keys),
            "replayWindow": self.replay_window,
            "clockSkew": self.clock_skew,
        }


@dataclass(frozen=True)
class DixaSettings:
    messengers: tuple[Messenger, ...]

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> DixaSettings:
        require_known(section, {"messengers"}, "[dixa]")
        messengers = tenant_tables(
            section,
            "dixa",
            "messengers",
            lambda raw: Messenger.from_json(raw.get("messengerToken"), raw),
            lambda m: m.token,
        )
        return cls(messengers)
