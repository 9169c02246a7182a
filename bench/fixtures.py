"""What the benchmarks share: the keys, a token, the emulator on a frozen clock, and the verification floor.

The token is built with raw ``cryptography`` calls, independently of the emulator's JOSE code. The floor is
the cryptography a correct verifier cannot skip, with its keys loaded once, before any timing.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from starlette.applications import Starlette

from emulator.app import create_app
from emulator.vendors.iadvize.service import IAdvizeService

ROOT = Path(__file__).resolve().parent.parent
KEYS = ROOT / "fixtures" / "keys"
PROJECT_ID = "7011"  # fixtures/default.toml: authenticated mode on, brand key iadvize-brand-demo
USER_ID = "https://iadvize.com/userId"
LIFETIME = 50  # seconds: within the project's tokenMaxAge (60)

_OAEP_256 = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
_PKCS1 = padding.PKCS1v15()


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str | bytes) -> bytes:
    raw = text.encode("ascii") if isinstance(text, str) else text
    return base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def private_key(name: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key((KEYS / name).read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError(f"{name} is not an RSA private key")
    return key


def public_key(name: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key((KEYS / name).read_bytes())
    if not isinstance(key, rsa.RSAPublicKey):
        raise TypeError(f"{name} is not an RSA public key")
    return key


def iadvize_token(now: float, user_id: str = "bench-visitor") -> str:
    """RS256 JWS signed by the demo brand, nested in an RSA-OAEP-256 / A256GCM JWE to the emulator's key."""
    claims = {USER_ID: user_id, "iat": int(now), "exp": int(now) + LIFETIME}
    signing_input = f"{b64u(_json({'alg': 'RS256', 'typ': 'JWT'}))}.{b64u(_json(claims))}".encode("ascii")
    signature = private_key("iadvize-brand-demo.private.pem").sign(signing_input, _PKCS1, hashes.SHA256())
    jws = signing_input + b"." + b64u(signature).encode("ascii")

    cek, iv = os.urandom(32), os.urandom(12)
    wrapped = public_key("iadvize-emulator.public.pem").encrypt(cek, _OAEP_256)
    protected = b64u(_json({"alg": "RSA-OAEP-256", "enc": "A256GCM", "cty": "JWT"}))
    sealed = AESGCM(cek).encrypt(iv, jws, protected.encode("ascii"))
    return ".".join([protected, b64u(wrapped), b64u(iv), b64u(sealed[:-16]), b64u(sealed[-16:])])


class Floor:
    """RSA-OAEP-256 unwrap, AES-256-GCM decrypt, RS256 verify: nothing else, keys loaded up front."""

    def __init__(self) -> None:
        self.decrypting = private_key("iadvize-emulator.private.pem")
        self.verifying = public_key("iadvize-brand-demo.public.pem")

    def open(self, token: str) -> bytes:
        """The inner JWS's payload; raises if any step fails."""
        protected, wrapped, iv, ciphertext, tag = token.split(".")
        cek = self.decrypting.decrypt(b64u_decode(wrapped), _OAEP_256)
        jws = AESGCM(cek).decrypt(b64u_decode(iv), b64u_decode(ciphertext) + b64u_decode(tag), protected.encode())
        header, payload, signature = jws.split(b".")
        self.verifying.verify(b64u_decode(signature), header + b"." + payload, _PKCS1, hashes.SHA256())
        return b64u_decode(payload)


def emulator_app(now: float) -> tuple[Starlette, IAdvizeService]:
    """The emulator on its embedded default configuration, its clock frozen at ``now``."""
    app = create_app()
    app.state.runtime.clock.freeze(now)
    return app, app.state.vendors["iadvize"].service
