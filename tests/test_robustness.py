"""Bad input gets the vendor's error or a clear 4xx: never a 500, a traceback or a state change."""

from __future__ import annotations

import random

import httpx
import pytest

from tests.conftest import PROJECT

BODIES = [
    b"",
    b"\xff\xfe\x00garbage",
    b"[" * 100_000,
    b'{"query": NaN}',
    b'{"freeze": 1e999}',
    b"null",
    b'"a string"',
    b'{"query": "mutation { visitorAuthenticateFromCredentials(input: {projectId: 7011, credentials: \\"'
    + b"." * 5000
    + b'\\"}) { visitorSessionToken { accessToken } } }"}',
    bytes(random.Random(7).getrandbits(8) for _ in range(4096)),
]
ENDPOINTS = [
    ("POST", "/iadvize/graphql"),
    ("POST", "/iadvize/oauth2/token"),
    ("POST", "/_emulator/clock"),
    ("POST", "/_emulator/explain"),
    ("PUT", f"/_emulator/tenants/iadvize/{PROJECT}"),
    ("PUT", "/_emulator/users/iadvize/someone"),
]
CONTENT_TYPES = ["application/json", "application/x-www-form-urlencoded", "text/plain"]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_no_server_errors(client: httpx.Client, method: str, path: str) -> None:
    tenant_before = client.get(f"/_emulator/tenants/iadvize/{PROJECT}").json()
    for body in BODIES:
        for content_type in CONTENT_TYPES:
            response = client.request(method, path, content=body, headers={"Content-Type": content_type})
            assert response.status_code < 500, (path, body[:40], content_type, response.text[:200])
            if path == "/iadvize/graphql" and response.status_code == 200:
                assert "Traceback" not in response.text
    assert client.get(f"/_emulator/tenants/iadvize/{PROJECT}").json() == tenant_before
    assert client.get("/_emulator/users/iadvize/someone").status_code == 404
    assert client.get("/_emulator/clock").json()["mode"] == "real"


def test_unknown_paths_and_methods(client: httpx.Client) -> None:
    assert client.get("/iadvize/nothing-here").status_code == 404
    assert client.get("/_emulator/nothing-here").status_code == 404
    assert client.delete("/_emulator/health").status_code == 405
    assert client.get("/nowhere").status_code == 404
