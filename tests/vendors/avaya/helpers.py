"""Avaya test helpers. Vendor values are written out here, not imported from the emulator."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

ACCOUNT = "ABCDEF"  # default fixtures
APPKEY = "TEST-ONLY-appkey-ABCDEF"
CLIENT_ID = "emulator-backend"
CLIENT_SECRET = "TEST-ONLY-client-secret"
INTEGRATION = "0847c56d-30fd-4b75-90be-a4ff8d08bd44"
PROBLEM_JSON = "application/problem+json"
SDK_BASE = f"/avaya/sdk/digital/chat/v1/integrations/{INTEGRATION}"


def access_token_response(
    client: httpx.Client,
    account: str = ACCOUNT,
    *,
    appkey: str | None = APPKEY,
    form: dict[str, str] | None = None,
    legacy: bool = False,
) -> httpx.Response:
    """POST the access-token request the way the official sample backend does."""
    path = (
        f"/avaya/auth/realms/{account}/protocol/openid-connect/token"
        if legacy
        else f"/avaya/api/auth/v1/{account}/protocol/openid-connect/token"
    )
    data = (
        form
        if form is not None
        else {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    )
    headers = {"Connection": "keep-alive"}
    if appkey is not None:
        headers["appkey"] = appkey
    return client.post(path, data=data, headers=headers)


def access_token(client: httpx.Client, account: str = ACCOUNT, appkey: str = APPKEY, **form: str) -> str:
    response = access_token_response(client, account, appkey=appkey, form=form or None)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def token_response(
    client: httpx.Client,
    body: Any,
    *,
    bearer: str | None,
    account: str = ACCOUNT,
    appkey: str | None = APPKEY,
) -> httpx.Response:
    """POST Generate JWT Token."""
    headers = {}
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    if appkey is not None:
        headers["appkey"] = appkey
    return client.post(f"/avaya/api/digital/chat/v1/accounts/{account}/tokens", json=body, headers=headers)


def chat_jwt(client: httpx.Client, customer_id: str = "customer-1", **fields: Any) -> str:
    """A chat JWT for the default integration, through the real two-step backend flow."""
    body = {"integrationId": INTEGRATION, "customerId": customer_id, **fields}
    response = token_response(client, body, bearer=access_token(client))
    assert response.status_code == 201, response.text
    return response.json()["jwtToken"]


def claims_of(jwt: str) -> dict[str, Any]:
    """Decode the payload the way the Chat SDK does: segment 2 (after 'jwt.'), standard base64 (atob)."""
    segment = jwt.split(".")[2]
    return json.loads(base64.b64decode(segment + "=" * (-len(segment) % 4), validate=True))


def sdk_headers(jwt: str, appkey: str = APPKEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt}", "appkey": appkey}


def assert_problem(response: httpx.Response, status: int, title: str, detail: str | None = None) -> dict[str, Any]:
    """An RFC 7807 answer with the vendor's status/title (and detail), plus the emulator's diagnosis header."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["title"] == title
    assert int(body["status"]) == status
    if detail is not None:
        assert body["detail"] == detail
    assert response.headers.get("x-emulator-diagnosis")
    return body
