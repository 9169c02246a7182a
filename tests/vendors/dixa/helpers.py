"""Helpers for the Dixa tests: independent JWE builders, the visitor API, and the emulator's answers written out.

Tokens are built without the emulator's code: with raw python-jose (``jose.jwe.encrypt``, as the issue asks) and
with a raw ``cryptography`` implementation of A256CBC-HS512 (RFC 7518 §5.2.2) for the tokens python-jose will
not make (alg none, a non-empty encrypted key, a crit header, a header changed after encryption). The fixture
keys are read from fixtures/default.toml, the configuration a live server runs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import tomllib
import uuid
from typing import Any

import httpx
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from jose import jwe as jose_jwe

from tests.conftest import ROOT

_FIXTURE = tomllib.loads((ROOT / "fixtures" / "default.toml").read_text())
_FIXTURE_KEYS = {m["messengerToken"]: m["keys"] for m in _FIXTURE["dixa"]["messengers"]}

ANONYMOUS_MIN = "36ec56fce8394e9dbc347d025a621bc5"  # minIdentificationLevel anonymous
CLAIMED_MIN = "c1a1med0000000000000000000000001"  # minIdentificationLevel claimed
VERIFIED_MIN = "0e11f1ed00000000000000000000000a"  # minIdentificationLevel verified
ENC = "A256CBC-HS512"
DROP = object()  # claims(..., name=DROP) leaves the claim out

# BackendError (docs.dixa.io) and the emulator's own errors, written out rather than imported.
UNKNOWN_ERROR = {"type": "unknown-error"}
UNKNOWN_MESSENGER = {"type": "invalid-payload", "message": "Invalid payload: no messenger has this messengerToken"}
UNKNOWN_SESSION = {"type": "session-not-found", "message": "no such session for this messenger"}
BAD_IDENTITY = {
    "type": "invalid-payload",
    "message": "userIdentity must be {type: 'anonymous' | 'claim' | 'verified', ...}",
}
NEEDS_CLAIM = {
    "type": "identification-required",
    "message": "the messenger requires a claimed identity: the widget shows the claim form (IdentityClaimModal)",
    "minIdentificationLevel": "claimed",
    "view": "IdentityClaimModal",
}
NEEDS_VERIFIED = {
    "type": "identification-required",
    "message": "the messenger requires a verified identity: the brand must set one (a JWE) first",
    "minIdentificationLevel": "verified",
}


def invalid_email(email: str) -> dict[str, Any]:
    return {"type": "invalid-email-address", "email": email}


def demotion_refused(current: str, attempted: str) -> dict[str, Any]:
    return {
        "type": "demotion-refused",
        "message": f"the visitor is {current}: an identity can only be promoted, never demoted ({attempted})",
        "identity": current,
    }


# --- keys and tokens -------------------------------------------------------------------------------------------


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def fixture_key(messenger: str) -> bytes:
    """The TEST-ONLY key of a fixture messenger, as fixtures/default.toml writes it (base64url, 64 bytes)."""
    return b64u_decode(_FIXTURE_KEYS[messenger][0])


def new_key(size: int = 64) -> bytes:
    return os.urandom(size)


def claims(now: float, **overrides: Any) -> dict[str, Any]:
    """The seed's required claims (email, name, iat in seconds, a random jti); ``name=DROP`` leaves one out."""
    values: dict[str, Any] = {
        "email": "jane@example.com",
        "name": "Jane Doe",
        "iat": int(now),
        "jti": str(uuid.uuid4()),
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not DROP}


def _bytes(plaintext: dict[str, Any] | bytes) -> bytes:
    return plaintext if isinstance(plaintext, bytes) else json.dumps(plaintext).encode()


def pyjose(
    plaintext: dict[str, Any] | bytes, key: Any, *, enc: str = ENC, alg: str = "dir", zip: str | None = None
) -> str:
    """A compact JWE made by raw python-jose (the issue's "with raw python-jose always")."""
    return jose_jwe.encrypt(_bytes(plaintext), key, algorithm=alg, encryption=enc, zip=zip).decode("ascii")


def raw_jwe(
    plaintext: dict[str, Any] | bytes,
    key: bytes,
    *,
    header: dict[str, Any] | None = None,
    encrypted_key: bytes = b"",
) -> str:
    """A256CBC-HS512 by hand (RFC 7518 §5.2.2.1): MAC_KEY = the first 32 bytes, ENC_KEY = the last 32;
    tag = the first 32 bytes of HMAC-SHA-512(MAC_KEY, AAD || IV || ciphertext || AL), AAD = the encoded header."""
    assert len(key) == 64
    mac_key, enc_key = key[:32], key[32:]
    protected = b64u(json.dumps(header if header is not None else {"alg": "dir", "enc": ENC}).encode())
    aad = protected.encode("ascii")
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(_bytes(plaintext)) + padder.finalize()
    encryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    al = (len(aad) * 8).to_bytes(8, "big")
    tag = hmac.new(mac_key, aad + iv + ciphertext + al, hashlib.sha512).digest()[:32]
    return ".".join([protected, b64u(encrypted_key), b64u(iv), b64u(ciphertext), b64u(tag)])


def header_of(token: str) -> dict[str, Any]:
    return json.loads(b64u_decode(token.split(".")[0]))


def flip(token: str, segment: int, byte: int = 0) -> str:
    """The token with one bit of one segment flipped."""
    parts = token.split(".")
    data = bytearray(b64u_decode(parts[segment]))
    data[byte] ^= 0x01
    parts[segment] = b64u(bytes(data))
    return ".".join(parts)


# --- identities and the visitor API ----------------------------------------------------------------------------


def verified(token: Any) -> dict[str, Any]:
    return {"type": "verified", "payload": {"type": "jwe", "token": token}}


def claim(name: str = "Claire Claim", email: str = "claire@example.com", kind: str = "claim") -> dict[str, Any]:
    return {"type": kind, "name": name, "email": email}


ANONYMOUS = {"type": "anonymous"}


def sessions_url(messenger: str) -> str:
    return f"/dixa/messengers/{messenger}/sessions"


def new_session(client: httpx.Client, messenger: str, identity: Any = None) -> dict[str, Any]:
    body = {} if identity is None else {"userIdentity": identity}
    response = client.post(sessions_url(messenger), json=body)
    assert response.status_code == 201, response.text
    return response.json()


def get_session(client: httpx.Client, messenger: str, session_id: str) -> dict[str, Any]:
    response = client.get(f"{sessions_url(messenger)}/{session_id}")
    assert response.status_code == 200, response.text
    return response.json()


def set_identity(client: httpx.Client, messenger: str, session_id: str, identity: Any) -> httpx.Response:
    return client.put(f"{sessions_url(messenger)}/{session_id}/identity", json=identity)


def purge(client: httpx.Client, messenger: str, session_id: str) -> httpx.Response:
    return client.delete(f"{sessions_url(messenger)}/{session_id}/identity")


def start_conversation(client: httpx.Client, messenger: str, session_id: str) -> httpx.Response:
    return client.post(f"{sessions_url(messenger)}/{session_id}/conversations")


def identify(client: httpx.Client, messenger: str, session_id: str, identity: Any) -> dict[str, Any]:
    """Set an identity that must be accepted; the answer (the session view)."""
    response = set_identity(client, messenger, session_id, identity)
    assert response.status_code == 200, response.text
    return response.json()


def journal_entry(client: httpx.Client, response: httpx.Response) -> dict[str, Any]:
    entry = client.get(f"/_emulator/journal/{response.headers['x-emulator-journal-id']}")
    assert entry.status_code == 200, entry.text
    return entry.json()


def assert_refused(
    client: httpx.Client, response: httpx.Response, status: int, error: dict[str, Any], check: str
) -> str:
    """The exact answer, and the named failed check in the X-Emulator-Diagnosis header and the journal;
    returns the diagnosis header."""
    assert response.status_code == status, response.text
    assert response.json() == {"error": error}
    diagnosis = response.headers["x-emulator-diagnosis"]
    assert diagnosis.startswith(f"{check}: "), diagnosis
    entry = journal_entry(client, response)
    assert entry["failedCheck"] == check
    assert entry["outcome"] == "rejected"
    assert entry["status"] == status
    return diagnosis


def assert_conversation_refused(
    client: httpx.Client, messenger: str, session_id: str, error: dict[str, Any], check: str
) -> str:
    return assert_refused(client, start_conversation(client, messenger, session_id), 403, error, check)


def assert_conversation_started(client: httpx.Client, messenger: str, session_id: str) -> str:
    response = start_conversation(client, messenger, session_id)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"conversationId"}
    return body["conversationId"]


# --- control plane ---------------------------------------------------------------------------------------------


def random_messenger() -> str:
    return uuid.uuid4().hex


def register(client: httpx.Client, keys: list[bytes] | None = None, **fields: Any) -> tuple[str, dict[str, Any]]:
    """A new messenger with a random 32-hex token; (token, the PUT answer)."""
    token = random_messenger()
    body: dict[str, Any] = dict(fields)
    if keys is not None:
        body["keys"] = [b64u(k) for k in keys]
    response = client.put(f"/_emulator/tenants/dixa/{token}", json=body)
    assert response.status_code == 201, response.text
    return token, response.json()


def tenant(client: httpx.Client, messenger: str) -> httpx.Response:
    return client.get(f"/_emulator/tenants/dixa/{messenger}")


def agent_view(client: httpx.Client, messenger: str) -> list[dict[str, Any]]:
    """What the agent sees of a messenger's visitors (GET /_emulator/sessions/dixa)."""
    response = client.get("/_emulator/sessions/dixa", params={"messengerToken": messenger})
    assert response.status_code == 200, response.text
    return response.json()["sessions"]


def freeze(client: httpx.Client, at: float) -> None:
    assert client.post("/_emulator/clock", json={"freeze": at}).json() == {"now": at, "mode": "frozen"}


def advance(client: httpx.Client, seconds: float) -> float:
    response = client.post("/_emulator/clock", json={"advance": seconds})
    assert response.status_code == 200, response.text
    return response.json()["now"]
