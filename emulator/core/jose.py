"""Strict JOSE helpers over python-jose.

The rules every vendor gets for free:
    - a size cap checked before any parsing (``MAX_TOKEN_BYTES``, 64 KiB by default);
    - compact serialisation only, with the exact segment count, every segment valid base64url;
    - the protected header is a JSON object whose ``alg`` (and ``enc``) must be in an explicit allow-list
      given by the caller for that one use; ``none`` is never accepted, HMAC algorithms only ever verify with
      a shared secret and asymmetric ones only with an asymmetric key (no "HMAC keyed with a public key");
    - ``crit`` headers are refused (we understand no extension);
    - time claims are never checked here: libraries read the wall clock, the emulator's checks read its Clock.

The pieces are small on purpose, so that a vendor's check pipeline can name each step (format, header,
decrypt, signature) and report exactly which one failed.
"""

from __future__ import annotations

import binascii
import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import jwe as jose_jwe
from jose import jwk as jose_jwk
from jose.exceptions import JOSEError

from emulator.core import jsonutil
from emulator.core.keys import Key, b64url, b64url_decode

MAX_TOKEN_BYTES = 64 * 1024
_SEGMENT = re.compile(r"^[A-Za-z0-9_-]*$")

RSA_SIGNING = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
EC_SIGNING = frozenset({"ES256", "ES384", "ES512"})
HMAC_SIGNING = frozenset({"HS256", "HS384", "HS512"})
RSA_KEY_WRAPPING = frozenset({"RSA-OAEP", "RSA-OAEP-256", "RSA1_5"})
_GCM = frozenset({"A128GCM", "A192GCM", "A256GCM"})


class JoseError(ValueError):
    """A token refused by a JOSE rule. ``code`` is stable; ``message`` is for humans."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


@dataclass(frozen=True)
class Compact:
    """A compact-serialised JWS (3 segments) or JWE (5 segments) with its decoded protected header."""

    raw: str
    segments: tuple[str, ...]
    header: dict[str, Any]

    @property
    def kind(self) -> str:
        return "JWE" if len(self.segments) == 5 else "JWS"

    def segment_bytes(self, index: int) -> bytes:
        return b64url_decode(self.segments[index])


def check_size(token: str | bytes, max_bytes: int = MAX_TOKEN_BYTES) -> int:
    size = len(token.encode("utf-8", "surrogatepass") if isinstance(token, str) else token)
    if size > max_bytes:
        raise JoseError(
            "too_large", f"token is {size} bytes, over the {max_bytes}-byte cap", size=size, limit=max_bytes
        )
    return size


def parse_compact(token: Any, *, expect: Collection[int] = (3, 5), max_bytes: int = MAX_TOKEN_BYTES) -> Compact:
    """Split and decode a compact token, checking size first. ``expect`` is the allowed segment counts."""
    if not isinstance(token, str):
        raise JoseError("not_text", f"token must be a string, got {type(token).__name__}")
    check_size(token, max_bytes)
    token = token.strip()
    if not token:
        raise JoseError("empty", "token is empty")
    segments = tuple(token.split("."))
    if len(segments) not in expect:
        wanted = " or ".join(str(n) for n in sorted(expect))
        raise JoseError(
            "segments",
            f"token has {len(segments)} dot-separated segments, expected {wanted}",
            segments=len(segments),
        )
    for index, segment in enumerate(segments):
        if not _SEGMENT.fullmatch(segment):
            raise JoseError("base64url", f"segment {index + 1} is not base64url (characters outside A-Z a-z 0-9 - _)")
    if not segments[0]:
        raise JoseError("header_missing", "the protected header segment is empty")
    try:
        header = jsonutil.loads(b64url_decode(segments[0]))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise JoseError("header_json", f"the protected header is not base64url-encoded JSON: {exc}") from exc
    if not isinstance(header, dict):
        raise JoseError("header_json", "the protected header is JSON but not an object")
    return Compact(raw=token, segments=segments, header=header)


def check_alg(header: dict[str, Any], allowed: Collection[str], member: str = "alg") -> str:
    """``header[member]`` must be one of ``allowed``; ``none`` never is."""
    value = header.get(member)
    if not isinstance(value, str) or not value:
        raise JoseError(f"{member}_missing", f"the header has no '{member}'", actual=value)
    if value.lower() == "none":
        raise JoseError(f"{member}_none", f"'{member}: none' is never accepted", actual=value)
    if value not in allowed:
        raise JoseError(
            f"{member}_not_allowed",
            f"'{member}' is {value!r}, allowed: {', '.join(sorted(allowed))}",
            actual=value,
            allowed=sorted(allowed),
        )
    return value


def check_no_crit(header: dict[str, Any]) -> None:
    if "crit" in header:
        raise JoseError("crit", f"'crit' header {header['crit']!r} names extensions this verifier does not know")


def jwe_decrypt(compact: Compact, key: Key) -> bytes:
    """Decrypt an RSA key-wrapped JWE with ``key`` (its header already checked by the caller).

    The two steps run separately, through python-jose's key objects, so that failures are told apart for the
    diagnosis (this is a local tool: padding-oracle hygiene does not apply): ``unwrap_failed`` means the content
    key did not decrypt with our private key (the token was most likely encrypted to another public key);
    ``decrypt_failed`` means the content did not authenticate (tampered or truncated token, or a wrong ``enc``).
    """
    if compact.kind != "JWE":
        raise JoseError("segments", "not a JWE")
    if key.private is None or not isinstance(key.private, rsa.RSAPrivateKey):
        raise JoseError("key", f"key {key.kid!r} is not an RSA private key")
    header = compact.header
    alg, enc = header.get("alg", ""), header.get("enc", "")
    if alg not in RSA_KEY_WRAPPING:
        raise JoseError("alg_not_allowed", f"key management {alg!r} is not RSA key wrapping")
    try:
        wrapped, iv, ciphertext, tag = (compact.segment_bytes(i) for i in range(1, 5))
    except (binascii.Error, ValueError) as exc:
        raise JoseError("base64url", "a JWE segment is not valid base64url") from exc
    expected_len = (key.bits + 7) // 8
    if len(wrapped) != expected_len:
        raise JoseError(
            "unwrap_failed",
            f"the encrypted key is {len(wrapped)} bytes, but a key wrapped for our {key.bits}-bit RSA key is "
            f"{expected_len} bytes",
            wrapped_bytes=len(wrapped),
            expected_bytes=expected_len,
        )
    try:
        cek = jose_jwk.construct(key.private, alg).unwrap_key(wrapped)
    except (JOSEError, ValueError) as exc:
        raise JoseError(
            "unwrap_failed", f"the content encryption key does not decrypt with our private key ({alg})"
        ) from exc
    try:
        if enc in _GCM and "zip" not in header:
            return jose_jwk.construct(cek, enc).decrypt(ciphertext, iv, compact.segments[0].encode("ascii"), tag)
        plaintext = jose_jwe.decrypt(compact.raw, key.private)  # CBC-HS and compressed content
        if plaintext is None:
            raise JOSEError("no plaintext")
        return plaintext
    except (JOSEError, ValueError, TypeError, KeyError, OverflowError) as exc:
        raise JoseError(
            "decrypt_failed",
            "the content key unwrapped, but the content does not authenticate: the token was altered, "
            f"truncated, or its 'enc' ({enc}) does not match how it was encrypted",
        ) from exc


def jwe_decrypt_dir(compact: Compact, keys: dict[str, bytes]) -> tuple[str, bytes]:
    """Decrypt a JWE with ``alg: dir`` (the shared key is the content key), trying each key; (key id, plaintext).
    The caller has checked the header (alg, enc) and the empty encrypted-key segment."""
    if compact.kind != "JWE":
        raise JoseError("segments", "not a JWE")
    for kid, secret in keys.items():
        try:
            plaintext = jose_jwe.decrypt(compact.raw, secret)
        except (JOSEError, ValueError, TypeError, KeyError, OverflowError):
            continue
        if plaintext is not None:
            return kid, plaintext
    raise JoseError("decrypt_failed", f"the token decrypts with none of the {len(keys)} active key(s)")


def _jose_key(key: Key, alg: str) -> Any:
    if alg in RSA_SIGNING:
        if not isinstance(key.public, rsa.RSAPublicKey):
            raise JoseError("key_type", f"{alg} needs an RSA key; key {key.kid!r} is {key.kty}")
    elif alg in EC_SIGNING:
        if not isinstance(key.public, ec.EllipticCurvePublicKey):
            raise JoseError("key_type", f"{alg} needs an EC key; key {key.kid!r} is {key.kty}")
    else:
        raise JoseError("alg_not_allowed", f"{alg!r} cannot be used with an asymmetric key")
    return jose_jwk.construct(key.public, alg)


def jws_verify(compact: Compact, key: Key, allowed: Collection[str]) -> bytes:
    """Verify an asymmetric JWS signature with ``key``. ``allowed`` must not contain HMAC algorithms."""
    if compact.kind != "JWS":
        raise JoseError("segments", "not a JWS")
    alg = check_alg(compact.header, allowed)
    check_no_crit(compact.header)
    if alg in HMAC_SIGNING:
        raise JoseError("alg_not_allowed", "HMAC algorithms never verify with a public key")
    return _verify_segments(compact, _jose_key(key, alg), f"the {alg} signature does not verify with key {key.kid!r}")


def _verify_segments(compact: Compact, verifier: Any, failure: str) -> bytes:
    """Check the signature of an already parsed JWS with a python-jose key; return the payload bytes."""
    try:
        signature, payload = compact.segment_bytes(2), compact.segment_bytes(1)
    except (binascii.Error, ValueError) as exc:
        raise JoseError("base64url", "a JWS segment is not valid base64url") from exc
    signing_input = f"{compact.segments[0]}.{compact.segments[1]}".encode("ascii")
    try:
        verified = verifier.verify(signing_input, signature)
    except (JOSEError, ValueError) as exc:
        raise JoseError("bad_signature", failure) from exc
    if not verified:
        raise JoseError("bad_signature", failure)
    return payload


def hmac_verify(compact: Compact, secret: bytes, allowed: Collection[str]) -> bytes:
    """Verify an HMAC JWS with a shared secret. ``allowed`` may hold only HS256/384/512."""
    if compact.kind != "JWS":
        raise JoseError("segments", "not a JWS")
    if not set(allowed) <= HMAC_SIGNING:
        raise ValueError("hmac_verify allow-list must hold only HMAC algorithms")
    alg = check_alg(compact.header, allowed)
    check_no_crit(compact.header)
    verifier = jose_jwk.construct({"kty": "oct", "k": b64url(secret)}, alg)
    return _verify_segments(compact, verifier, f"the {alg} signature does not verify with the shared secret")


def jws_sign(payload: dict[str, Any] | bytes, key: Key, alg: str, headers: dict[str, Any] | None = None) -> str:
    """Sign ``payload`` (claims, or already-serialised bytes) as a compact JWS with a private key (RS*/PS*/ES*).

    The protected header is exactly ``{"alg": alg, **headers}``: no ``typ`` is added behind the caller's back.
    """
    if key.private is None:
        raise ValueError(f"key {key.kid!r} has no private half")
    if alg not in RSA_SIGNING | EC_SIGNING:
        raise ValueError(f"{alg!r} is not an asymmetric signing algorithm")
    body = payload if isinstance(payload, bytes) else compact_json(payload)
    signing_input = f"{b64url(compact_json({'alg': alg, **(headers or {})}))}.{b64url(body)}"
    signature = jose_jwk.construct(key.private, alg).sign(signing_input.encode("ascii"))
    return f"{signing_input}.{b64url(signature)}"


def hmac_sign(
    payload: dict[str, Any] | bytes, secret: bytes, alg: str = "HS256", headers: dict[str, Any] | None = None
) -> str:
    """Sign with a shared secret (HS256/384/512); the header is exactly ``{"alg": alg, **headers}``."""
    if alg not in HMAC_SIGNING:
        raise ValueError(f"{alg!r} is not an HMAC algorithm")
    body = payload if isinstance(payload, bytes) else compact_json(payload)
    signing_input = f"{b64url(compact_json({'alg': alg, **(headers or {})}))}.{b64url(body)}"
    signature = jose_jwk.construct({"kty": "oct", "k": b64url(secret)}, alg).sign(signing_input.encode("ascii"))
    return f"{signing_input}.{b64url(signature)}"


def compact_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def jwe_encrypt(
    plaintext: bytes, key: Key, alg: str, enc: str, *, cty: str | None = None, kid: str | None = None
) -> str:
    """Encrypt to a public key (used by minting helpers, never by verification)."""
    if alg not in RSA_KEY_WRAPPING:
        raise ValueError(f"{alg!r} is not RSA key wrapping")
    token = jose_jwe.encrypt(plaintext, key.public, encryption=enc, algorithm=alg, cty=cty, kid=kid)
    return token.decode("ascii") if isinstance(token, bytes) else token


def json_object(data: bytes, what: str = "payload") -> dict[str, Any]:
    """Parse a JSON object (claims) from bytes, or raise JoseError('claims_json')."""
    try:
        value = jsonutil.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise JoseError("claims_json", f"the {what} is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise JoseError("claims_json", f"the {what} is JSON but not an object")
    return value
