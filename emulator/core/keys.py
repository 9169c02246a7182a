"""Key ring: asymmetric keys parsed once into key objects, looked up by ``kid``.

Accepted material (``load_key``):
    - PEM: SPKI ``PUBLIC KEY``, PKCS#1 ``RSA PUBLIC KEY``, PKCS#8 ``PRIVATE KEY``, PKCS#1 ``RSA PRIVATE KEY``,
      SEC1 ``EC PRIVATE KEY``, and an X.509 ``CERTIFICATE`` (its public key). Text around the PEM block is
      ignored, so annotated files work.
    - single-line base64 DER: SPKI (what iAdvize's docs publish as "iAdvize Public key"), PKCS#1, PKCS#8.
    - JWK: a dict or its JSON text (RSA, EC; private members make it a private key).

Parsing a private RSA key costs ~40 ms (cryptography validates it), a decryption ~0.7 ms: keys are parsed
when configuration is loaded or a tenant is registered, never per request.

Only public halves are ever exported (PEM, base64 SPKI, JWK). ``Key`` has no method that serialises the
private half; code that must sign or decrypt uses ``Key.private`` directly.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\s+.*?-----END \1-----", re.S)
_B64 = re.compile(r"^[A-Za-z0-9+/_\-\s]+=*\s*$")
_CURVES = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1, "P-521": ec.SECP521R1}
_CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


class KeyFormatError(ValueError):
    """Key material that cannot be read. The message says what was expected."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_to_b64url(n: int) -> str:
    return b64url(n.to_bytes((n.bit_length() + 7) // 8 or 1, "big"))


def _b64url_to_int(value: Any, name: str) -> int:
    if not isinstance(value, str) or not value:
        raise KeyFormatError(f"JWK member {name!r} must be a base64url string")
    try:
        return int.from_bytes(b64url_decode(value), "big")
    except (binascii.Error, ValueError) as exc:
        raise KeyFormatError(f"JWK member {name!r} is not valid base64url") from exc


@dataclass(frozen=True, eq=False)
class Key:
    """One parsed key. ``private`` is None for a public key."""

    kid: str
    public: PublicKey
    private: PrivateKey | None = field(default=None, repr=False)
    source: str = ""

    @property
    def kty(self) -> str:
        return "RSA" if isinstance(self.public, rsa.RSAPublicKey) else "EC"

    @property
    def bits(self) -> int:
        return self.public.key_size

    @property
    def is_private(self) -> bool:
        return self.private is not None

    def public_pem(self) -> str:
        return self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    def public_spki_b64(self) -> str:
        """Single-line base64 DER SubjectPublicKeyInfo, the form vendors' consoles show."""
        der = self.public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(der).decode("ascii")

    def public_jwk(self) -> dict[str, str]:
        jwk = _public_jwk_members(self.public)
        jwk["kid"] = self.kid
        return jwk

    def public_view(self, **jwk_members: str) -> dict[str, Any]:
        """Every form a brand may want the public half in (GET /_emulator/keys/{vendor}): kid, PEM, single-line
        SPKI, JWK (with ``jwk_members`` such as alg and use) and a JWKS of it."""
        jwk = {**self.public_jwk(), **jwk_members}
        return {
            "kid": self.kid,
            "pem": self.public_pem(),
            "spki": self.public_spki_b64(),
            "jwk": jwk,
            "jwks": {"keys": [jwk]},
        }

    def thumbprint(self) -> str:
        return jwk_thumbprint(self.public)

    def describe(self) -> dict[str, Any]:
        """What may be shown about a key: never the private half."""
        return {"kid": self.kid, "kty": self.kty, "bits": self.bits, "thumbprint": self.thumbprint()}


def _public_jwk_members(public: PublicKey) -> dict[str, str]:
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        return {"kty": "RSA", "n": _int_to_b64url(numbers.n), "e": _int_to_b64url(numbers.e)}
    numbers = public.public_numbers()
    crv = _CURVE_NAMES[public.curve.name]
    size = (public.curve.key_size + 7) // 8
    return {
        "kty": "EC",
        "crv": crv,
        "x": b64url(numbers.x.to_bytes(size, "big")),
        "y": b64url(numbers.y.to_bytes(size, "big")),
    }


def jwk_thumbprint(public: PublicKey) -> str:
    """RFC 7638 SHA-256 thumbprint: a stable kid for a key that has none."""
    members = _public_jwk_members(public)
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode()
    return b64url(hashlib.sha256(canonical).digest())


def _check_supported(obj: Any, what: str) -> None:
    if isinstance(obj, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return
    if isinstance(obj, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        if obj.curve.name not in _CURVE_NAMES:
            raise KeyFormatError(f"{what}: EC curve {obj.curve.name} is not supported (P-256/384/521 only)")
        return
    raise KeyFormatError(f"{what}: only RSA and EC keys are supported, got {type(obj).__name__}")


def _check_rsa_consistent(private: Any) -> None:
    """The arithmetic consistency of an RSA private key (n = pq, ed = 1 mod lcm(p-1, q-1), the CRT values).

    OpenSSL's full validation also tests p and q for primality: ~40 ms per 2048-bit key, a quarter of the
    emulator's start-up with three vendors' keys. Private keys only come from the operator's own configuration
    (the emulator's keys, the fixtures' brand keys for minting), so loading skips that test and checks this
    instead, which still refuses a corrupted or hand-edited key."""
    if not isinstance(private, rsa.RSAPrivateKey):
        return
    numbers = private.private_numbers()
    p, q, d, n, e = numbers.p, numbers.q, numbers.d, numbers.public_numbers.n, numbers.public_numbers.e
    lcm = (p - 1) * (q - 1) // math.gcd(p - 1, q - 1) if p > 1 and q > 1 else 0
    if (
        lcm == 0
        or p * q != n
        or (e * d) % lcm != 1
        or numbers.dmp1 != d % (p - 1)
        or numbers.dmq1 != d % (q - 1)
        or (numbers.iqmp * q) % p != 1
    ):
        raise KeyFormatError("RSA private key is inconsistent (its numbers do not make one key pair)")


def _from_pem(data: bytes) -> tuple[PublicKey, PrivateKey | None]:
    match = _PEM_BLOCK.search(data)
    if match is None:
        raise KeyFormatError("PEM text has no complete -----BEGIN ...----- / -----END ...----- block")
    label = match.group(1).decode()
    block = match.group(0)
    try:
        if label in ("PUBLIC KEY", "RSA PUBLIC KEY"):
            public = serialization.load_pem_public_key(block)
            _check_supported(public, "PEM public key")
            return public, None  # type: ignore[return-value]
        if label in ("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"):
            private = serialization.load_pem_private_key(block, password=None, unsafe_skip_rsa_key_validation=True)
            _check_supported(private, "PEM private key")
            _check_rsa_consistent(private)
            return private.public_key(), private  # type: ignore[return-value]
        if label == "CERTIFICATE":
            public = x509.load_pem_x509_certificate(block).public_key()
            _check_supported(public, "certificate public key")
            return public, None  # type: ignore[return-value]
        if label == "ENCRYPTED PRIVATE KEY":
            raise KeyFormatError(
                "encrypted PEM private keys are not supported: decrypt it first "
                "(openssl pkey -in key.pem -out key.decrypted.pem)"
            )
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        if isinstance(exc, KeyFormatError):
            raise
        raise KeyFormatError(f"PEM {label} could not be parsed: {exc}") from exc
    raise KeyFormatError(f"unsupported PEM block '{label}'")


def _from_der(der: bytes) -> tuple[PublicKey, PrivateKey | None]:
    try:
        public = serialization.load_der_public_key(der)
        _check_supported(public, "DER public key")
        return public, None  # type: ignore[return-value]
    except (ValueError, UnsupportedAlgorithm):
        pass
    try:
        private = serialization.load_der_private_key(der, password=None, unsafe_skip_rsa_key_validation=True)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError("base64 text is not a DER SubjectPublicKeyInfo, PKCS#1 or PKCS#8 key") from exc
    _check_supported(private, "DER private key")
    _check_rsa_consistent(private)
    return private.public_key(), private  # type: ignore[return-value]


def _from_x5c(value: Any) -> PublicKey:
    """The first x5c entry: a base64 DER certificate (RFC 7517), or a bare base64 SPKI as some IdPs publish."""
    if not isinstance(value, list) or not value or not isinstance(value[0], str):
        raise KeyFormatError("JWK member 'x5c' must be a non-empty array of base64 strings")
    try:
        der = base64.b64decode(value[0], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyFormatError("JWK x5c[0] is not base64") from exc
    try:
        public = x509.load_der_x509_certificate(der).public_key()
    except ValueError:
        try:
            public = serialization.load_der_public_key(der)
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise KeyFormatError("JWK x5c[0] is neither a DER certificate nor a DER SubjectPublicKeyInfo") from exc
    _check_supported(public, "JWK x5c[0]")
    return public  # type: ignore[return-value]


def _from_jwk(jwk: Mapping[str, Any]) -> tuple[PublicKey, PrivateKey | None]:
    kty = jwk.get("kty")
    if "x5c" in jwk and "d" not in jwk and not ({"n", "e"} <= jwk.keys() or {"x", "y"} <= jwk.keys()):
        return _from_x5c(jwk["x5c"]), None
    if kty == "RSA":
        n, e = _b64url_to_int(jwk.get("n"), "n"), _b64url_to_int(jwk.get("e"), "e")
        public_numbers = rsa.RSAPublicNumbers(e, n)
        if "d" not in jwk:
            return public_numbers.public_key(), None
        d = _b64url_to_int(jwk["d"], "d")
        if all(m in jwk for m in ("p", "q", "dp", "dq", "qi")):
            p, q = _b64url_to_int(jwk["p"], "p"), _b64url_to_int(jwk["q"], "q")
            dmp1, dmq1 = _b64url_to_int(jwk["dp"], "dp"), _b64url_to_int(jwk["dq"], "dq")
            iqmp = _b64url_to_int(jwk["qi"], "qi")
        else:
            p, q = rsa.rsa_recover_prime_factors(n, e, d)
            dmp1, dmq1, iqmp = rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q)
        try:
            private = rsa.RSAPrivateNumbers(p, q, d, dmp1, dmq1, iqmp, public_numbers).private_key()
        except ValueError as exc:
            raise KeyFormatError(f"JWK RSA private key is inconsistent: {exc}") from exc
        return private.public_key(), private
    if kty == "EC":
        crv = jwk.get("crv")
        if crv not in _CURVES:
            raise KeyFormatError(f"JWK EC curve {crv!r} is not supported (P-256/384/521 only)")
        curve = _CURVES[crv]()
        x, y = _b64url_to_int(jwk.get("x"), "x"), _b64url_to_int(jwk.get("y"), "y")
        try:
            ec_public = ec.EllipticCurvePublicNumbers(x, y, curve).public_key()
            if "d" not in jwk:
                return ec_public, None
            ec_private = ec.derive_private_key(_b64url_to_int(jwk["d"], "d"), curve)
        except ValueError as exc:
            raise KeyFormatError(f"JWK EC key is invalid: {exc}") from exc
        return ec_private.public_key(), ec_private
    if kty == "oct":
        raise KeyFormatError("JWK kty 'oct' is a shared secret, not a public/private key")
    raise KeyFormatError(f"JWK kty {kty!r} is not supported (RSA or EC)")


def load_key(material: str | bytes | Mapping[str, Any], *, kid: str | None = None, source: str = "") -> Key:
    """Parse key material once into a ``Key``. Raises ``KeyFormatError`` with a readable reason."""
    jwk_kid: str | None = None
    if isinstance(material, Mapping):
        if "keys" in material and "kty" not in material:
            raise KeyFormatError('this is a JWK Set ({"keys": [...]}); give one of its keys')
        public, private = _from_jwk(material)
        jwk_kid = material.get("kid") if isinstance(material.get("kid"), str) else None
    else:
        data = material.encode() if isinstance(material, str) else bytes(material)
        stripped = data.strip()
        if not stripped:
            raise KeyFormatError("key material is empty")
        if b"-----BEGIN" in stripped:
            public, private = _from_pem(stripped)
        elif stripped.startswith((b"{", b"[")):
            try:
                parsed = json.loads(stripped)
            except ValueError as exc:
                raise KeyFormatError(f"key text looks like JSON but is not: {exc}") from exc
            if not isinstance(parsed, dict):
                raise KeyFormatError("JWK JSON must be an object (one key), not a list")
            return load_key(parsed, kid=kid, source=source)
        else:
            text = stripped.decode("ascii", errors="replace")
            if not _B64.match(text):
                raise KeyFormatError(
                    "key text is neither PEM, JWK JSON nor single-line base64 DER (SPKI/PKCS#1/PKCS#8)"
                )
            compact = re.sub(r"\s+", "", text)
            try:
                der = (
                    base64.urlsafe_b64decode(compact + "=" * (-len(compact) % 4))
                    if ("-" in compact or "_" in compact)
                    else base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
                )
            except (binascii.Error, ValueError) as exc:
                raise KeyFormatError(f"key text is not valid base64: {exc}") from exc
            public, private = _from_der(der)
    return Key(kid=kid or jwk_kid or jwk_thumbprint(public), public=public, private=private, source=source)


class KeyRing:
    """An ordered set of keys, looked up by kid. Iteration keeps insertion order."""

    def __init__(self, keys: Iterable[Key] = ()) -> None:
        self._keys: dict[str, Key] = {}
        for key in keys:
            self.add(key)

    def add(self, key: Key) -> None:
        if key.kid in self._keys:
            raise KeyFormatError(f"duplicate kid {key.kid!r} in one key ring")
        self._keys[key.kid] = key

    def get(self, kid: str) -> Key | None:
        return self._keys.get(kid)

    def __iter__(self) -> Iterator[Key]:
        return iter(self._keys.values())

    def __len__(self) -> int:
        return len(self._keys)

    def kids(self) -> list[str]:
        return list(self._keys)

    def public_jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [key.public_jwk() for key in self]}
