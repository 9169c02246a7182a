"""Tiledesk test helpers: HS256/384/512 tokens built with raw hmac (never the emulator's signer), the requests the
widget and the official clients send, and the assertions every refusal shares.

Vendor strings are written out here, not imported from the emulator (tiledesk-server 2.19, research §A).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

# -- the default fixtures (fixtures/default.toml [tiledesk]); TEST-ONLY secrets --------------------------------
DOC_PROJECT = "5ec688ed13400f0012c2edd1"
DOC_SECRET = "TEST-ONLY-0f6f1d0c-1a2b-4c3d-8e9f-5ec688ed13400"
SERVER_PROJECT = "5c81593adf767b0017d1aa68"
SERVER_SECRET = "TEST-ONLY-ebfbe3d2-a783-435c-9f8e-5c81593adf76"
GLOBAL_SECRET = "TEST-ONLY-tiledesk-global-secret"
CHAT21_SECRET = "tokenKey"
FIXTURE_ADMIN = ("admin@brand.example", "TEST-ONLY-tiledesk-admin")

# -- the server's answers, byte for byte ---------------------------------------------------------------------------
UNAUTHORIZED = b"Unauthorized"  # passport's allFailed(): res.end(http.STATUS_CODES[401]), no Content-Type
AUD_REQUIRED = b'{"success":false,"msg":"JWT Aud field is required"}'
VALIDTOKEN_403 = b'{"success":false,"msg":"Unauthorized."}'
NOT_ACTIVE = b'{"success":false,"msg":"Authentication failed. Project_user not active."}'
NOT_IN_PROJECT = b'{"success":false,"msg":"you dont belong to the project."}'
ROLE_REQUIRED = b'{"success":false,"msg":"you dont have the required role."}'
PROJECT_NOT_FOUND = b'{"success":false,"msg":"Project not found"}'
BAD_REQUEST = b"Bad Request"  # passport's allFailed() when passport-http failed with 400

PREFIX = "/tiledesk"
SIGNIN = "/auth/signinWithCustomToken"
CHAT21 = "/chat21/native/auth/createCustomToken"
HOST = "api.tiledesk.com"
_DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


# -- tokens ---------------------------------------------------------------------------------------------------------
def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def compact_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def hs(payload: dict[str, Any] | bytes, secret: str, alg: str = "HS256", header: dict[str, Any] | None = None) -> str:
    """What jsonwebtoken's ``jwt.sign(payload, secret, {algorithm})`` returns: the secret string is the raw key."""
    head = header if header is not None else {"alg": alg, "typ": "JWT"}
    body = payload if isinstance(payload, bytes) else compact_json(payload)
    signing_input = f"{b64u(compact_json(head))}.{b64u(body)}"
    signature = hmac.new(secret.encode(), signing_input.encode("ascii"), _DIGESTS[alg]).digest()
    return f"{signing_input}.{b64u(signature)}"


def unsigned(payload: dict[str, Any]) -> str:
    """alg none: an empty signature."""
    return f"{b64u(compact_json({'alg': 'none', 'typ': 'JWT'}))}.{b64u(compact_json(payload))}."


def claims_of(token: str) -> dict[str, Any]:
    return json.loads(b64u_decode(token.split(".")[1]))


def verify_hs256(token: str, secret: str) -> dict[str, Any]:
    """Check an HS256 token the emulator issued, with our own code; return its claims."""
    head, body, signature = token.split(".")
    expected = hmac.new(secret.encode(), f"{head}.{body}".encode("ascii"), hashlib.sha256).digest()
    assert hmac.compare_digest(expected, b64u_decode(signature)), "the signature does not verify"
    assert json.loads(b64u_decode(head))["alg"] == "HS256"
    return json.loads(b64u_decode(body))


def aud(project_id: str, host: str = "https://tiledesk.com") -> str:
    return f"{host}/projects/{project_id}"


def widget_claims(now: float, **overrides: Any) -> dict[str, Any]:
    """The widget docs' payload (docs/auth.md; the seed): {name, email, iat, exp, external_id}."""
    claims: dict[str, Any] = {
        "name": "Ada Lovelace",
        "email": "ada@brand.example",
        "iat": int(now),
        "exp": int(now) + 300,
        "external_id": "ada-1815",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def server_claims(project_id: str, **overrides: Any) -> dict[str, Any]:
    """The developer docs' payload, which tiledesk-server accepts: _id, sub userexternal, aud with the project."""
    claims: dict[str, Any] = {
        "_id": f"{project_id}_ada",
        "firstname": "Ada",
        "lastname": "Lovelace",
        "email": "ada@brand.example",
        "sub": "userexternal",
        "aud": aud(project_id),
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def random_project_id() -> str:
    return "%024x" % random.getrandbits(96)


# -- requests -------------------------------------------------------------------------------------------------------
def signin(
    client: httpx.Client,
    authorization: str | None,
    *,
    path: str = PREFIX + SIGNIN,
    params: dict[str, str] | None = None,
    json_body: Any = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST /auth/signinWithCustomToken as the widget does: the string given to signInWithCustomToken is the
    Authorization header, verbatim."""
    sent = dict(headers or {})
    if authorization is not None:
        sent["Authorization"] = authorization
    if json_body is not None:
        return client.post(path, params=params, json=json_body, headers=sent)
    return client.post(path, params=params, content=content, headers=sent)


def chat21(client: httpx.Client, authorization: str, *, path: str = PREFIX + CHAT21) -> httpx.Response:
    """The widget's next call after sign-in (MQTT token), with the same Authorization header."""
    return client.post(path, headers={"Authorization": authorization})


def generate(client: httpx.Client, project_id: str, credentials: tuple[str, str] | None) -> httpx.Response:
    """POST /<projectId>/keys/generate as the README's curl -u does (HTTP Basic)."""
    return client.post(f"{PREFIX}/{project_id}/keys/generate", auth=credentials)


def journal_entry(client: httpx.Client, response: httpx.Response) -> dict[str, Any]:
    entry = client.get(f"/_emulator/journal/{response.headers['x-emulator-journal-id']}")
    assert entry.status_code == 200, entry.text
    return entry.json()


def assert_refused(
    client: httpx.Client,
    response: httpx.Response,
    check: str,
    status: int = 401,
    body: bytes = UNAUTHORIZED,
    *,
    no_challenge: bool = True,
) -> tuple[str, dict[str, Any]]:
    """The server's exact answer (status and body bytes; passport's plain text has no Content-Type), and the named
    failed check in X-Emulator-Diagnosis and in the journal. Returns (diagnosis header, journal entry).

    ``no_challenge``: passport-jwt fails with an Error, not a challenge string, so its 401 has no WWW-Authenticate
    (keys/generate's Basic strategy is another matter: see test_keys_and_rotation)."""
    assert response.status_code == status, (response.status_code, response.text, response.headers)
    assert response.content == body
    if body in (UNAUTHORIZED, BAD_REQUEST):
        assert "content-type" not in response.headers
        if no_challenge:
            assert "www-authenticate" not in response.headers
    else:
        assert response.headers["content-type"].startswith("application/json")
    diagnosis = response.headers["x-emulator-diagnosis"]
    assert diagnosis.startswith(f"{check}: "), diagnosis
    entry = journal_entry(client, response)
    assert entry["failedCheck"] == check
    assert entry["outcome"] == "rejected"
    assert entry["status"] == status
    return diagnosis, entry


def signed_in(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, (response.status_code, response.text, response.headers)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"success", "token", "user"}
    assert body["success"] is True
    return body


def check_of(entry: dict[str, Any], name: str) -> dict[str, Any]:
    """One check's outcome in a journal entry's (or explain's) trace."""
    checks = entry["trace"]["checks"] if "trace" in entry else entry["checks"]
    return next(c for c in checks if c["check"] == name)


# -- projects -------------------------------------------------------------------------------------------------------
@dataclass
class Project:
    """A project this test registered (random id and admin), with its current shared secret."""

    project_id: str
    profile: str
    admin: tuple[str, str]
    secret: str | None = None
    old_secrets: list[str] = field(default_factory=list)

    def token(self, claims: dict[str, Any], alg: str = "HS256") -> str:
        assert self.secret is not None
        return hs(claims, self.secret, alg)


class Projects:
    """Registers projects through the control plane (so that live runs never rotate the fixtures' secrets) and
    deletes them afterwards (registered state survives /_emulator/reset)."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.created: list[str] = []

    def register(self, profile: str = "server", *, generate_secret: bool = True) -> Project:
        project = Project(
            random_project_id(), profile, (f"admin-{uuid.uuid4().hex[:8]}@brand.example", uuid.uuid4().hex)
        )
        body = {"profile": profile, "admins": [{"username": project.admin[0], "password": project.admin[1]}]}
        response = self.client.put(f"/_emulator/tenants/tiledesk/{project.project_id}", json=body)
        assert response.status_code == 201, response.text
        self.created.append(project.project_id)
        if generate_secret:
            self.rotate(project)
        return project

    def rotate(self, project: Project) -> dict[str, Any]:
        response = generate(self.client, project.project_id, project.admin)
        assert response.status_code == 200, response.text
        body = response.json()
        if project.secret is not None:
            project.old_secrets.append(project.secret)
        project.secret = body["jwtSecret"]
        return body

    def cleanup(self) -> None:
        for project_id in self.created:
            self.client.delete(f"/_emulator/tenants/tiledesk/{project_id}")


@contextmanager
def projects_of(client: httpx.Client) -> Iterator[Projects]:
    projects = Projects(client)
    try:
        yield projects
    finally:
        projects.cleanup()


def freeze(client: httpx.Client, at: float | None = None) -> int:
    """Freeze the emulator's clock on a whole second (the autouse reset unfreezes it for the next test)."""
    target = int(at if at is not None else client.get("/_emulator/clock").json()["now"])
    response = client.post("/_emulator/clock", json={"freeze": target})
    assert response.status_code == 200, response.text
    return target


def advance(client: httpx.Client, seconds: float) -> None:
    response = client.post("/_emulator/clock", json={"advance": seconds})
    assert response.status_code == 200, response.text
