"""Mint brand tokens for offline work and tests, with the TEST-ONLY fixture keys by default.

    from emulator.mint import iadvize_jwe, liveassist_id_token
    token = iadvize_jwe("alice", visitor_data={"firstName": "Alice"})      # valid for project 7011
    id_token = liveassist_id_token("4255551212", claims={"given_name": "Jane"}, encrypt=True)  # account 12345678

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
from emulator.vendors.liveassist import mint as _liveassist

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


def default_liveassist_brand_key() -> Key:
    return as_key(fixtures_dir() / "keys" / "liveassist-brand-demo.private.pem")


def default_liveassist_public_key() -> Key:
    """The emulator's Live Assist encryption key (public half), with its default kid."""
    key = as_key(fixtures_dir() / "keys" / "liveassist-emulator.crt")
    return Key(kid="lpsso2026", public=key.public, source=key.source)


def liveassist_id_token(
    sub: str,
    *,
    issuer: str = "https://brand.example",
    claims: dict[str, Any] | None = None,
    ttl: float = 3600,
    now: float | None = None,
    encrypt: bool = False,
    brand_key: KeyLike | None = None,
    liveassist_key: KeyLike | None = None,
) -> str:
    """A brand id_token for Live Assist's implicit flow: RS256 (demo brand key), optionally encrypted to the
    emulator's key (kid lpsso2026). Valid for the default connector of account 12345678."""
    body = _liveassist.liveassist_claims(sub, issuer=issuer, ttl=ttl, now=now, extra=claims)
    target = None
    if encrypt:
        target = as_key(liveassist_key) if liveassist_key is not None else default_liveassist_public_key()
    signer = as_key(brand_key) if brand_key is not None else default_liveassist_brand_key()
    return _liveassist.liveassist_id_token(body, brand_key=signer, encrypt_to=target)


__all__ = ["as_key", "iadvize_jwe", "liveassist_id_token"]
