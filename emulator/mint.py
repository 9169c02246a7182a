"""Mint brand tokens for offline work and tests, with the TEST-ONLY fixture keys by default.

    from emulator.mint import iadvize_jwe, liveassist_id_token
    token = iadvize_jwe("alice", visitor_data={"firstName": "Alice"})      # valid for project 7011
    id_token = liveassist_id_token("4255551212", claims={"given_name": "Jane"}, encrypt=True)  # account 12345678
    header = tiledesk_token("u1")              # "JWT ...", for project 5c81593adf767b0017d1aa68 (server profile)
    jwe = dixa_jwe("jane@example.com", "Jane") # for messenger 36ec56fce8394e9dbc347d025a621bc5

The iAdvize public key defaults to the emulator's (the default configuration's); pass ``iadvize_key`` (a Key,
PEM text or a path) when the emulator runs with another configuration, and ``now`` when its clock is frozen.
"""

from __future__ import annotations

import functools
import time
import uuid
from pathlib import Path
from typing import Any

from jose import jwe as jose_jwe

from emulator.config import fixtures_dir
from emulator.core.jose import compact_json, hmac_sign
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


def tiledesk_token(
    user_id: str,
    *,
    project_id: str = "5c81593adf767b0017d1aa68",
    secret: str | None = None,
    profile: str = "server",
    name: str = "Jane Doe",
    email: str | None = "jane.doe@example.com",
    ttl: float = 600,
    now: float | None = None,
    extra: dict[str, Any] | None = None,
    alg: str = "HS256",
) -> str:
    """A Tiledesk custom token, "JWT "-prefixed as signInWithCustomToken takes it. ``profile`` "server" gives the
    shape tiledesk-server needs (_id, sub userexternal, aud); "documented" the widget docs' {name, email, iat, exp,
    external_id}. ``secret`` defaults to the default configuration's TEST-ONLY secret of that project."""
    from emulator.vendors.tiledesk.config import TiledeskSettings

    if secret is None:
        from emulator.config import load_config

        settings = TiledeskSettings.from_section(load_config().vendors["tiledesk"])
        secret = next((p.jwt_secret for p in settings.projects if p.project_id == project_id), None)
        if secret is None:
            raise ValueError(f"project {project_id} has no secret in the default configuration: pass secret=")
    issued = int(time.time() if now is None else now)
    first, _, last = name.partition(" ")
    if profile == "server":
        claims: dict[str, Any] = {
            "_id": user_id if user_id.startswith(project_id) else f"{project_id}_{user_id}",
            "firstname": first,
            "lastname": last,
            "sub": "userexternal",
            "aud": f"https://tiledesk.com/projects/{project_id}",
            "iat": issued,
            "exp": issued + int(ttl),
        }
        if email is not None:
            claims["email"] = email
    else:
        claims = {"name": name, "email": email, "iat": issued, "exp": issued + int(ttl), "external_id": user_id}
    claims.update(extra or {})
    return "JWT " + hmac_sign(claims, secret.encode(), alg)


def dixa_jwe(
    email: str,
    name: str,
    *,
    key: str | bytes | None = None,
    messenger_token: str = "36ec56fce8394e9dbc347d025a621bc5",  # noqa: S107 - a public fixture id
    external_id: str | None = None,
    jti: str | None = None,
    now: float | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """A Dixa verified-identity JWE (alg dir, enc A256CBC-HS512), as the seed's jose example makes it. ``key`` is the
    base64url 64-byte key (or its bytes); it defaults to the default configuration's key of ``messenger_token``."""
    from emulator.vendors.dixa.config import DixaSettings, decode_key

    if key is None:
        from emulator.config import load_config

        settings = DixaSettings.from_section(load_config().vendors["dixa"])
        messenger = next((m for m in settings.messengers if m.token == messenger_token), None)
        if messenger is None:
            raise ValueError(f"no messenger {messenger_token!r} in the default configuration: pass key=")
        secret = next(iter(messenger.keys.values()))
    else:
        secret = key if isinstance(key, bytes) else decode_key(key, "key")
    claims: dict[str, Any] = {
        "jti": jti or str(uuid.uuid4()),
        "iat": int(time.time() if now is None else now),
        "email": email,
        "name": name,
    }
    if external_id is not None:
        claims["external_id"] = external_id
    claims.update(extra or {})
    token = jose_jwe.encrypt(compact_json(claims), secret, algorithm="dir", encryption="A256CBC-HS512")
    return token.decode("ascii") if isinstance(token, bytes) else token


__all__ = ["as_key", "dixa_jwe", "iadvize_jwe", "liveassist_id_token", "tiledesk_token"]
