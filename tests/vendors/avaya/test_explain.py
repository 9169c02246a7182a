"""POST /_emulator/explain and `chat-emulator explain avaya` on chat JWTs (tenant = accountId), no side effects."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from tests.vendors.avaya.helpers import ACCOUNT, INTEGRATION, chat_jwt


def explain(client: httpx.Client, token: object, tenant: str = ACCOUNT) -> dict:
    response = client.post("/_emulator/explain", json={"vendor": "avaya", "tenant": tenant, "token": token})
    assert response.status_code == 200, response.text
    return response.json()


def test_explain_a_good_chat_jwt(client: httpx.Client) -> None:
    jwt = chat_jwt(client, "explained", customerName="Ada")
    before = client.get("/_emulator/journal").json()["count"]
    report = explain(client, jwt)
    assert report["ok"] is True and report["failedCheck"] is None
    assert [c["check"] for c in report["checks"]] == [
        "jwt_format",
        "jwt_alg",
        "jwt_signature",
        "jwt_claims",
        "jwt_integration",
        "jwt_not_expired",
    ]
    assert report["decoded"]["jwsHeader"] == {"alg": "RS256"}
    assert report["decoded"]["claims"]["integrationId"] == INTEGRATION
    assert client.get("/_emulator/journal").json()["count"] == before  # explain journals nothing


@pytest.mark.parametrize(
    ("token", "tenant", "check"),
    [
        ("garbage", ACCOUNT, "jwt_format"),
        ("jwt.e30.e30.AA", ACCOUNT, "jwt_alg"),
        ({"not": "a string"}, ACCOUNT, "jwt_format"),
    ],
)
def test_explain_bad_tokens(client: httpx.Client, token: object, tenant: str, check: str) -> None:
    report = explain(client, token, tenant)
    assert report["failedCheck"] == check
    assert report["vendorResponse"]["status"] == 403


def test_explain_another_accounts_tenant_and_expiry(client: httpx.Client, now: float) -> None:
    client.post("/_emulator/clock", json={"freeze": int(now)})
    jwt = chat_jwt(client, "expiring")
    assert explain(client, jwt, "ZZZZZZ")["failedCheck"] == "jwt_integration"
    client.post("/_emulator/clock", json={"advance": 15 * 60})
    report = explain(client, jwt)
    assert report["failedCheck"] == "jwt_not_expired"
    assert report["vendorResponse"]["status"] == 401


def test_cli_explain_avaya(client: httpx.Client) -> None:
    jwt = chat_jwt(client, "cli")
    command = [sys.executable, "-m", "emulator.cli", "explain", "avaya", "--account", ACCOUNT, jwt]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ok"] is True
    bad = subprocess.run([*command[:-1], "jwt.x.y.z"], capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["failedCheck"] == "jwt_format"
