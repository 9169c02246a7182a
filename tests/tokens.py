"""Independent token builders for the tests: raw `cryptography` calls, no python-jose, no emulator code.

The emulator verifies with python-jose; building test tokens another way means a bug shared by minting and
verifying cannot hide.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

USER_ID = "https://iadvize.com/userId"
VISITOR_DATA = "https://iadvize.com/visitorData"


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def jws(payload: dict[str, Any] | bytes, key: Any, alg: str = "RS256", header: dict[str, Any] | None = None) -> str:
    """A compact JWS. ``key``: an RSA private key (RS256), bytes (HS256), or None (alg none)."""
    head = header if header is not None else {"alg": alg}
    body = payload if isinstance(payload, bytes) else _json(payload)
    signing_input = f"{b64u(_json(head))}.{b64u(body)}".encode("ascii")
    if alg == "RS256":
        signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    elif alg == "HS256":
        signature = hmac.new(key, signing_input, hashlib.sha256).digest()
    elif alg == "none":
        signature = b""
    else:
        raise ValueError(alg)
    return f"{signing_input.decode()}.{b64u(signature)}"


def jwe(
    plaintext: bytes | str,
    public_key: rsa.RSAPublicKey,
    alg: str = "RSA-OAEP-256",
    enc: str = "A256GCM",
    header: dict[str, Any] | None = None,
) -> str:
    """A compact JWE with RSA-OAEP(-256) key wrapping and AES-GCM content encryption."""
    data = plaintext.encode() if isinstance(plaintext, str) else plaintext
    cek = os.urandom({"A128GCM": 16, "A192GCM": 24, "A256GCM": 32}[enc])
    digest = hashes.SHA256() if alg == "RSA-OAEP-256" else hashes.SHA1()  # noqa: S303 - RSA-OAEP is SHA-1 by spec
    wrapped = public_key.encrypt(cek, padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None))
    protected = b64u(_json(header if header is not None else {"alg": alg, "enc": enc, "cty": "JWT"}))
    iv = os.urandom(12)
    sealed = AESGCM(cek).encrypt(iv, data, protected.encode("ascii"))
    return ".".join([protected, b64u(wrapped), b64u(iv), b64u(sealed[:-16]), b64u(sealed[-16:])])


def iadvize_token(brand_key: Any, iadvize_public: rsa.RSAPublicKey, claims: dict[str, Any]) -> str:
    return jwe(jws(claims, brand_key), iadvize_public)


def load_private(path: os.PathLike[str] | str) -> Any:
    return serialization.load_pem_private_key(Path(path).read_bytes(), password=None)


def load_public(path: os.PathLike[str] | str) -> Any:
    return serialization.load_pem_public_key(Path(path).read_bytes())


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: Any) -> str:
    public = key.public_key() if hasattr(key, "public_key") else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def decode_segment(token: str, index: int) -> dict[str, Any]:
    return json.loads(b64u_decode(token.split(".")[index]))
