"""The official Node client, @tiledesk/tiledesk-client 0.10.13 from the npm registry, signs in against the emulator:
``TiledeskClient.customAuthentication(token, apikey, {APIURL})`` with APIURL = <server>/tiledesk/v3.

The client needs a real HTTP server: $EMULATOR_BASE_URL when set, else `chat-emulator serve` on a free port.
Skipped cleanly when node/npm are missing; under CI=true a failed `npm ci` fails the test instead.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulator.testing import BASE_URL_ENV
from tests.interop.nodeenv import require_node
from tests.test_cli import serve
from tests.vendors.tiledesk.helpers import (
    Projects,
    aud,
    freeze,
    hs,
    projects_of,
    server_claims,
    widget_claims,
)

NODE_DIR = Path(__file__).resolve().parents[2] / "interop" / "node_tiledesk"
CLIENT_PACKAGE = NODE_DIR / "node_modules" / "@tiledesk" / "tiledesk-client" / "package.json"
APIKEY = "TEST-ONLY-apikey"  # required by the client, never sent by customAuthentication


@pytest.fixture(scope="module")
def node() -> str:
    node = require_node(NODE_DIR, CLIENT_PACKAGE)
    assert json.loads(CLIENT_PACKAGE.read_text())["version"] == "0.10.13"
    return node


@pytest.fixture(scope="module")
def server_url(node: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The live server under test, or one of our own on the default configuration."""
    live = os.environ.get(BASE_URL_ENV)
    if live:
        yield live.rstrip("/")
        return
    with serve(log=tmp_path_factory.mktemp("tiledesk-node") / "server.log") as url:
        yield url


@pytest.fixture
def api(server_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server_url, timeout=10) as client:
        assert client.post("/_emulator/reset").status_code == 200
        yield client


@pytest.fixture
def projects(api: httpx.Client) -> Iterator[Projects]:
    with projects_of(api) as registry:
        yield registry


def custom_authentication(node: str, server_url: str, token: str) -> dict[str, Any]:
    request = {"token": token, "apikey": APIKEY, "APIURL": f"{server_url}/tiledesk/v3"}
    result = subprocess.run(
        [node, str(NODE_DIR / "signin.js")],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=NODE_DIR,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def last_entry(api: httpx.Client) -> dict[str, Any]:
    return api.get("/_emulator/journal", params={"vendor": "tiledesk", "limit": 1}).json()["entries"][0]


@pytest.mark.parametrize("prefix", ["", "JWT "])
def test_node_client_signs_in_a_server_profile_visitor(
    node: str, server_url: str, api: httpx.Client, projects: Projects, prefix: str
) -> None:
    """The developer docs' token, bare or "JWT "-prefixed (the client's fixToken adds the prefix): 200 and the
    server's body, through the client's POST with no body to <APIURL>/auth/signinWithCustomToken."""
    project = projects.register("server")
    claims = server_claims(project.project_id, customAttr="c1")
    token = project.token(claims)
    result = custom_authentication(node, server_url, prefix + token)
    assert result == {"ok": True, "body": {"success": True, "token": f"JWT {token}", "user": claims}}
    entry = last_entry(api)
    assert (entry["path"], entry["status"], entry["tenant"]) == (
        "/tiledesk/v3/auth/signinWithCustomToken",
        200,
        project.project_id,
    )


def test_node_client_signs_in_a_documented_visitor(
    node: str, server_url: str, api: httpx.Client, projects: Projects
) -> None:
    """The widget docs' token on a documented-profile project, through the official client."""
    project = projects.register("documented")
    claims = widget_claims(freeze(api))
    token = project.token(claims)
    result = custom_authentication(node, server_url, token)
    assert result["ok"] is True, result
    assert result["body"]["token"] == f"JWT {token}"
    assert result["body"]["user"]["external_id"] == claims["external_id"]


def test_node_client_gets_the_plain_401(node: str, server_url: str, api: httpx.Client, projects: Projects) -> None:
    """Refusals reach the client as the server's: 401 with the text Unauthorized (a wrong secret, and a token of
    a secret regenerated since)."""
    project = projects.register("server")
    claims = server_claims(project.project_id, aud=aud(project.project_id, "https://api.tiledesk.com"))
    wrong = hs(claims, "not-the-secret")
    assert custom_authentication(node, server_url, wrong) == {"ok": False, "status": 401, "data": "Unauthorized"}
    assert last_entry(api)["failedCheck"] == "signature"

    old = project.token(claims)
    assert custom_authentication(node, server_url, old)["ok"] is True
    projects.rotate(project)
    assert custom_authentication(node, server_url, old) == {"ok": False, "status": 401, "data": "Unauthorized"}
    assert "previous secret" in last_entry(api)["summary"]
