"""Mint brand tokens for offline work and tests, with the TEST-ONLY fixture keys by default.

    from emulator.mint import iadvize_jwe
    token = iadvize_jwe("alice", visitor_data={"firstName": "Alice"})      # valid for project 7011

The iAdvize public key defaults to the emulator's (the default configuration's); pass ``iadvize_key`` (a Key,
PEM text or a path) when the emulator runs with another configuration, and ``now`` when its clock is frozen.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from emulator.config import fixtures_dir
from emulator.core.keys import Key, load_key
from emulator.vendors.iadvize import mint as _iadvize

KeyLike = Key | str | Path


@functools.lru_cache(maxsize=32)
def _load_cached(text: str, source: str) -> Key:
    return load_key(text, source=source)


def as_key(value: KeyLike) -> Key:
    """A Key from a Key, a path to a key file, or key text (PEM / JWK / base64). Parsed once per content."""
    if isinstance(value, Key):
        return value
    path = Path(value)
    if isinstance(value, Path) or ("-----BEGIN" not in str(value) and path.is_file()):
        return _load_cached(path.read_text(encoding="utf-8"), str(path))
    return _load_cached(str(value), "inline")


def default_iadvize_brand_key() -> Key:
    return as_key(fixtures_dir() / "keys" / "iadvize-brand-demo.private.pem")


def default_iadvize_public_key() -> Key:
    return as_key(fixtures_dir() / "keys" / "iadvize-emulator.public.pem")


def iadvize_jwe(
    user_id: str,
    *,
    visitor_data: dict[str, str] | None = None,
    ttl: float = 60,
    now: float | None = None,
    issuer: str | None = None,
    extra_claims: dict[str, Any] | None = None,
    brand_key: KeyLike | None = None,
    iadvize_key: KeyLike | None = None,
) -> str:
    """A brand JWE for iAdvize: RS256 JWS (brand key) inside RSA-OAEP-256/A256GCM JWE (iAdvize key)."""
    claims = _iadvize.iadvize_claims(
        user_id, visitor_data=visitor_data, ttl=ttl, now=now, issuer=issuer, extra=extra_claims
    )
    return _iadvize.iadvize_jwe(
        claims,
        brand_key=as_key(brand_key) if brand_key is not None else default_iadvize_brand_key(),
        iadvize_key=as_key(iadvize_key) if iadvize_key is not None else default_iadvize_public_key(),
    )


__all__ = ["as_key", "iadvize_jwe"]
