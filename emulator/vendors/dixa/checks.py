"""The Dixa verified-identity pipeline, in order (seed 004 and research §B.3).

A compact JWE, ``alg: dir`` and ``enc: A256CBC-HS512`` (the shared 64-byte key is the content key, so the
encrypted-key segment is empty), decrypted with one of the messenger's active keys, holding JSON claims with
``email``, ``name``, ``iat`` and ``jti`` (``external_id`` optional). A bad email is Dixa's ``invalid-email-address``;
every other failure, a missing ``email`` claim included, is ``unknown-error``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from emulator.core.checks import Check, Fail, Pass, Pipeline, numeric_date
from emulator.core.jose import Compact, JoseError, json_object, jwe_decrypt_dir, parse_compact
from emulator.vendors.dixa import errors
from emulator.vendors.dixa.config import Messenger
from emulator.vendors.dixa.state import DixaState

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
REQUIRED = {"email": str, "name": str, "iat": (int, float), "jti": str}


@dataclass
class Context:
    state: DixaState
    messenger: Messenger
    token: Any
    now: float
    max_token_bytes: int
    compact: Compact | None = None
    key_id: str | None = None
    plaintext: bytes = b""
    claims: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _token_format(ctx: Context) -> Pass:
    try:
        ctx.compact = parse_compact(ctx.token, expect=(5,), max_bytes=ctx.max_token_bytes)
    except JoseError as exc:
        raise Fail(f"not a compact JWE: {exc.message}", expected="5 base64url segments", actual=exc.code) from exc
    return Pass(expected="a compact JWE", actual=f"header {ctx.compact.header}")


def _alg(ctx: Context) -> Pass:
    assert ctx.compact is not None
    alg = ctx.compact.header.get("alg")
    if alg != "dir":
        raise Fail(
            f"alg is {alg!r}: Dixa's token is encrypted directly with the shared key", expected="dir", actual=alg
        )
    return Pass(expected="dir", actual=alg)


def _enc(ctx: Context) -> Pass:
    assert ctx.compact is not None
    header = ctx.compact.header
    if header.get("enc") != "A256CBC-HS512":
        raise Fail(f"enc is {header.get('enc')!r}", expected="A256CBC-HS512", actual=header.get("enc"))
    if "crit" in header or "zip" in header:
        raise Fail("crit/zip headers are not part of Dixa's token", expected="no crit, no zip", actual=sorted(header))
    return Pass(expected="A256CBC-HS512", actual=header["enc"])


def _encrypted_key_empty(ctx: Context) -> Pass:
    assert ctx.compact is not None
    if ctx.compact.segments[1]:
        raise Fail(
            "the encrypted-key segment is not empty: with alg dir the shared key is the content key",
            expected="''",
            actual=f"{len(ctx.compact.segments[1])} characters",
        )
    return Pass(expected="empty", actual="empty")


def _decrypt(ctx: Context) -> Pass:
    assert ctx.compact is not None
    try:
        ctx.key_id, ctx.plaintext = jwe_decrypt_dir(ctx.compact, ctx.messenger.keys)
    except JoseError as exc:
        raise Fail(
            f"{exc.message}: encrypted with another key, a removed key, or altered",
            expected=list(ctx.messenger.keys),
            actual=exc.code,
        ) from exc
    return Pass(expected=list(ctx.messenger.keys), actual=ctx.key_id)


def _claims_json(ctx: Context) -> Pass:
    try:
        ctx.claims = json_object(ctx.plaintext, "JWE payload")
    except JoseError as exc:
        raise Fail(exc.message, expected="a JSON object of claims", actual=exc.code) from exc
    return Pass(actual=sorted(ctx.claims))


def _claims_required(ctx: Context) -> Pass:
    wrong = [
        name
        for name, kind in REQUIRED.items()
        if not isinstance(ctx.claims.get(name), kind)
        or isinstance(ctx.claims.get(name), bool)
        or (ctx.claims.get(name) == "" and name != "email")  # an empty email is an invalid address
    ]
    if wrong:
        raise Fail(
            f"claims {wrong} are missing, empty or of the wrong type",
            expected=sorted(REQUIRED),
            actual=sorted(ctx.claims),
        )
    external = ctx.claims.get("external_id")
    if external is not None and not isinstance(external, str):
        raise Fail("external_id must be a string", expected="string", actual=external)
    return Pass(expected=sorted(REQUIRED), actual="present")


def _email(ctx: Context) -> Pass:
    email = ctx.claims["email"]
    if not EMAIL.fullmatch(email):
        raise Fail(f"email {email!r} is not a valid address", expected="name@domain.tld", actual=email)
    return Pass(actual=email)


def _iat(ctx: Context) -> Pass:
    iat = numeric_date(
        ctx.claims,
        "iat",
        not_a_number="'{name}' is not a number",  # claims_required has already refused it
        milliseconds="iat is {value}: milliseconds, but iat is seconds",
        seconds="seconds",
    )
    assert iat is not None  # claims_required
    skew = ctx.messenger.clock_skew
    if iat > ctx.now + skew:
        raise Fail(
            f"iat is {iat - ctx.now:.0f} s in the future (skew {skew:g} s)",
            expected=f"<= {ctx.now + skew:.0f}",
            actual=iat,
        )
    return Pass(expected=f"<= now + {skew:g}", actual=iat)


def _jti(ctx: Context) -> Pass:
    seen = ctx.state.replay.get((ctx.messenger.token, ctx.claims["jti"]))
    window = ctx.messenger.replay_window
    if seen is not None and ctx.now - seen < window:
        raise Fail(
            f"jti {ctx.claims['jti']!r} was already used {ctx.now - seen:.0f} s ago (replay window {window:g} s)",
            expected="a jti not seen within the replay window",
            actual=ctx.claims["jti"],
            remedy="Mint a new token, with a random jti, for every identification",
        )
    return Pass(expected="unused jti", actual=ctx.claims["jti"])


def _check(
    name: str, run: Any, description: str, remedy: str, error: dict[str, Any] | None = None
) -> Check[Context, Any]:
    return Check(name, run, description, remedy, error or errors.UNKNOWN_ERROR)


_KEY = "Encrypt with a key of the messenger (Dixa -> Settings -> Messenger -> Authentication)"
_CLAIMS = "Put email, name, iat (seconds) and a random jti in the token"
PIPELINE: Pipeline[Context, Any] = Pipeline(
    [
        _check("token_format", _token_format, "a compact JWE", "Send the JWE as jose's EncryptJWT returns it"),
        _check("jwe_alg", _alg, "alg is dir", "setProtectedHeader({alg: 'dir', enc: 'A256CBC-HS512'})"),
        _check("jwe_enc", _enc, "enc is A256CBC-HS512", "setProtectedHeader({alg: 'dir', enc: 'A256CBC-HS512'})"),
        _check("encrypted_key_empty", _encrypted_key_empty, "no encrypted key (alg dir)", "Use alg dir"),
        _check("jwe_decrypt", _decrypt, "decrypts with one of the messenger's keys", _KEY),
        _check("claims_json", _claims_json, "the payload is a JSON object", _CLAIMS),
        _check("claims_required", _claims_required, "email, name, iat and jti are present", _CLAIMS),
        _check(
            "email_valid",
            _email,
            "email is a valid address",
            "Use a valid email address",
            {"type": "invalid-email-address"},
        ),
        _check("iat", _iat, "iat is not in the future", "Set iat to the current time, in seconds"),
        _check("jti_fresh", _jti, "jti was not used within the replay window", "A new random jti per token"),
    ]
)
