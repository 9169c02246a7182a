"""Helpers for the Live Assist code-flow tests. Vendor values are written out here, not imported from the emulator.

Brand keys are generated here and id_tokens built with tests/tokens.py (raw cryptography), never with the
emulator's own helpers. ``serve_app`` runs an ASGI app (a brand token endpoint) under uvicorn in a background
thread on a free loopback port: an in-process emulator and a live one both reach it.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs

import httpx
import uvicorn
from cryptography.hazmat.primitives import serialization

from tests import tokens
from tests.conftest import random_project_id

ROOT = Path(__file__).resolve().parents[3]

# The emulator's answer to a refused Visitor Authentication Request ([EMU] body; [DOC] outcome: offline survey).
REFUSED = {"error": "authentication_failed", "outcome": "offline-survey"}

ISSUER = "https://brand.test"
TOKEN_ENDPOINT = "https://brand.test/token"
CLIENT_ID = "liveassist-test-client"
CLIENT_SECRET = "TEST-ONLY-code-flow-secret-7f3a9c"
DEFAULT_REDIRECT_URI = "https://liveperson.net"  # [DOC] P1: the default redirect_uri
SUB = "4255551212"

# The Visitor Authentication Request's fields besides ssoKey, as in the Server Chat API example (research §1.6).
VISITOR = {
    "authChatConnId": 568046210,
    "engagementId": 567609310,
    "LETagContextId": "2",
    "LETagSessionId": "90o5l5twRUGu1rN7bzwNMA",
    "LETagVisitorId": "RiM2JlOTcwOGIxZmNiNTk4",
}

# examples/brand_token_endpoint.py's TEST-ONLY client and issuer.
EXAMPLE_CLIENT_ID = "liveassist-emulator"
EXAMPLE_CLIENT_SECRET = "TEST-ONLY-brand-client-secret"
EXAMPLE_ISSUER = "https://brand.example"
EXAMPLE_PUBLIC_PEM = ROOT / "fixtures" / "keys" / "liveassist-brand-demo.public.pem"


def auth_path(account: str) -> str:
    return f"/liveassist/api/account/{account}/conversation.json?v=1&NC=true"


def chat_request_path(account: str) -> str:
    return f"/liveassist/api/account/{account}/chat/request?v=1&NC=true"


def spki_b64(key: Any) -> str:
    """The public key as the Live Assist console takes it: base64 DER SubjectPublicKeyInfo on one line."""
    public = key.public_key() if hasattr(key, "public_key") else key
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode("ascii")


def s256(verifier: str) -> str:
    """RFC 7636 S256: BASE64URL(SHA256(ASCII(code_verifier)))."""
    return tokens.b64u(hashlib.sha256(verifier.encode("ascii")).digest())


def form_of(request: httpx.Request) -> dict[str, list[str]]:
    """An application/x-www-form-urlencoded body, every value kept (a repeated field would show)."""
    return parse_qs(request.content.decode("ascii"), keep_blank_values=True, strict_parsing=True)


def journal_entry(client: httpx.Client, response: httpx.Response) -> dict[str, Any]:
    entry = client.get(f"/_emulator/journal/{response.headers['x-emulator-journal-id']}")
    assert entry.status_code == 200, entry.text
    return entry.json()


def assert_refused(
    client: httpx.Client, response: httpx.Response, check: str, *, traced: bool = True
) -> dict[str, Any]:
    """The emulator's exact refusal, and the named failed check in the diagnosis header and in the journal (and in
    its check trace when ``traced``: the chat request is refused without running the authentication pipeline)."""
    assert response.status_code == 401, response.text
    assert response.json() == REFUSED
    diagnosis = response.headers["x-emulator-diagnosis"]
    assert diagnosis.startswith(f"{check}: "), diagnosis
    assert " | remedy: " in diagnosis
    entry = journal_entry(client, response)
    assert entry["failedCheck"] == check, entry["summary"]
    assert entry["outcome"] == "rejected"
    assert entry["status"] == 401
    assert entry["summary"].startswith(f"{check}: ")
    if traced:
        assert entry["trace"]["failedCheck"] == check
    return entry


def assert_authenticated(client: httpx.Client, response: httpx.Response) -> dict[str, Any]:
    """200 with exactly participantId and conversationId; the journal says accepted."""
    assert response.status_code == 200, (response.text, response.headers.get("x-emulator-diagnosis"))
    body = response.json()
    assert set(body) == {"participantId", "conversationId"}
    assert all(isinstance(v, str) and v for v in body.values())
    entry = journal_entry(client, response)
    assert entry["outcome"] == "accepted", entry["summary"]
    assert entry["failedCheck"] is None
    assert entry["trace"]["ok"] is True
    return body


@dataclass
class CodeKit:
    """A brand (its signing key) and the connectors registered for it; connectors are removed afterwards."""

    client: httpx.Client
    brand: Any
    other: Any
    now: float
    registered: list[str] = field(default_factory=list)

    def claims(self, **overrides: Any) -> dict[str, Any]:
        claims: dict[str, Any] = {"iss": ISSUER, "iat": int(self.now), "exp": int(self.now) + 600, "sub": SUB}
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def id_token(self, key: Any = None, **overrides: Any) -> str:
        return tokens.jws(self.claims(**overrides), key or self.brand, header={"alg": "RS256", "typ": "JWT"})

    def connector(self, **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "flow": "code",
            "issuer": ISSUER,
            "jwtPublicKey": spki_b64(self.brand),
            "tokenEndpoint": TOKEN_ENDPOINT,
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "clientAuth": "basic",
            "redirectUri": DEFAULT_REDIRECT_URI,
            "pkce": False,
            "timeout": 10,
        }
        body.update(fields)
        return {k: v for k, v in body.items() if v is not None}

    def register(self, body: dict[str, Any] | None = None, **fields: Any) -> str:
        account = random_project_id()
        response = self.client.put(f"/_emulator/tenants/liveassist/{account}", json=body or self.connector(**fields))
        assert response.status_code == 201, response.text
        self.registered.append(account)
        return account

    def authenticate(self, account: str, code: Any, **fields: Any) -> httpx.Response:
        body = {"ssoKey": code, **VISITOR, **fields}
        return self.client.post(auth_path(account), json={k: v for k, v in body.items() if v is not None})

    def cleanup(self) -> None:
        for account in self.registered:
            self.client.delete(f"/_emulator/tenants/liveassist/{account}")


# -- a brand served over loopback ----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_app(app: Any, startup: float = 10.0) -> Iterator[str]:
    """``app`` under uvicorn in a daemon thread on a free loopback port (bound here: no race); yields its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"brand-{port}")
    thread.start()
    try:
        deadline = time.monotonic() + startup
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the brand server on port {port} did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def load_example_brand() -> ModuleType:
    """examples/brand_token_endpoint.py, imported from its file (examples/ is not a package)."""
    path = ROOT / "examples" / "brand_token_endpoint.py"
    spec = importlib.util.spec_from_file_location("liveassist_example_brand_token_endpoint", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def example_login(base_url: str, **profile: Any) -> str:
    """The example brand's stand-in for its login page: a one-time code for these claims."""
    response = httpx.post(f"{base_url}/login", content=json.dumps(profile), timeout=5)
    assert response.status_code == 200, response.text
    return str(response.json()["code"])
