"""The GraphQL API's operator side: POST /oauth2/token, GET /_authenticated, Bearer on the test mutation."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer

from tests.conftest import OPERATOR, PROJECT
from tests.tokens import USER_ID, iadvize_token
from tests.vendors.iadvize.helpers import UNAUTHENTICATED, access_token, assert_refused, try_jwe

INVALID_TOKEN = {"error_description": "access token not valid", "error": "invalid_token"}


def login(client: httpx.Client, **form: str) -> httpx.Response:
    return client.post("/iadvize/oauth2/token", data=form)


def test_token_success_shape(client: httpx.Client) -> None:
    response = login(client, **OPERATOR, grant_type="password")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "token_type", "refresh_token"}
    assert body["expires_in"] == 86400
    assert body["token_type"] == "Bearer"
    assert body["refresh_token"] == "none"
    assert response.headers["cache-control"] == "no-store"


def oauth_error(error: str, description: str) -> dict[str, str]:
    return {"error": error, "error_description": description}


@pytest.mark.parametrize(
    ("form", "status", "error", "description", "check"),
    [
        (
            {**OPERATOR, "password": "wrong", "grant_type": "password"},
            400,
            "invalid_grant",
            "Bad credentials",
            "operator_credentials",
        ),
        (
            {"username": "nobody@brand.example", "password": "x", "grant_type": "password"},
            400,
            "invalid_grant",
            "Bad credentials",
            "operator_credentials",
        ),
        (
            {**OPERATOR, "grant_type": "client_credentials"},
            400,
            "unsupported_grant_type",
            "Only the password grant type is supported",
            "grant_type",
        ),
        ({**OPERATOR}, 400, "invalid_request", "Missing grant_type", "grant_type"),
        ({**OPERATOR, "grant_type": ""}, 400, "invalid_request", "Missing grant_type", "grant_type"),
        (
            {"username": OPERATOR["username"], "grant_type": "password"},
            400,
            "invalid_request",
            "Missing password",
            "login_fields",
        ),
        ({"password": "x", "grant_type": "password"}, 400, "invalid_request", "Missing username", "login_fields"),
        ({"grant_type": "password"}, 400, "invalid_request", "Missing username and password", "login_fields"),
    ],
)
def test_token_refusals(
    client: httpx.Client, form: dict[str, str], status: int, error: str, description: str, check: str
) -> None:
    response = login(client, **form)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.headers["x-emulator-diagnosis"]
    assert_refused(client, response, status, oauth_error(error, description), check)
    assert response.headers["cache-control"] == "no-store"


def test_token_refusal_says_which_credential_is_wrong(client: httpx.Client) -> None:
    wrong = login(client, **{**OPERATOR, "password": "wrong"}, grant_type="password")
    assert wrong.headers["x-emulator-diagnosis"] == "operator_credentials: wrong password"
    nobody = login(client, username="nobody@brand.example", password="x", grant_type="password")
    assert "no operator 'nobody@brand.example'" in nobody.headers["x-emulator-diagnosis"]


def test_token_refuses_json_body(client: httpx.Client) -> None:
    response = client.post("/iadvize/oauth2/token", json={**OPERATOR, "grant_type": "password"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "x-www-form-urlencoded" in response.headers["x-emulator-diagnosis"]
    body = oauth_error("invalid_request", "The request body must be application/x-www-form-urlencoded")
    assert_refused(client, response, 400, body, "request_body")


def test_token_refuses_a_body_over_64_kib(client: httpx.Client) -> None:
    form = f"username={OPERATOR['username']}&password={OPERATOR['password']}&grant_type=password&pad="
    content = (form + "a" * (64 * 1024)).encode()
    response = client.post(
        "/iadvize/oauth2/token", content=content, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert_refused(client, response, 400, oauth_error("invalid_request", "Request body too large"), "request_size")
    assert "over the 65536-byte limit" in response.headers["x-emulator-diagnosis"]
    assert response.headers["cache-control"] == "no-store"


def test_password_never_in_the_journal(client: httpx.Client) -> None:
    login(client, **OPERATOR, grant_type="password")
    login(client, username=OPERATOR["username"], password="a-wrong-guess", grant_type="password")
    journal = json.dumps(client.get("/_emulator/journal").json())
    assert OPERATOR["password"] not in journal
    assert "a-wrong-guess" not in journal
    assert OPERATOR["username"] in journal


def test_authenticated(client: httpx.Client, operator_token: str) -> None:
    response = client.get("/iadvize/_authenticated", headers={"Authorization": f"Bearer {operator_token}"})
    assert response.status_code == 200
    assert response.json() == {"authenticated": True}


@pytest.mark.parametrize(
    ("header", "why"),
    [
        (None, "no Authorization header"),
        ("Basic b3A6cHc=", "not 'Bearer <token>'"),
        ("Bearer not-a-token", "not one this emulator issues"),
        (
            "Bearer " + URLSafeTimedSerializer("another secret").dumps({"u": OPERATOR["username"]}),
            "not issued by this emulator",
        ),
    ],
)
def test_authenticated_refusals(client: httpx.Client, header: str | None, why: str) -> None:
    headers = {"Authorization": header} if header else {}
    response = client.get("/iadvize/_authenticated", headers=headers)
    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN
    assert why in response.headers["x-emulator-diagnosis"]
    entry = assert_refused(client, response, 401, INVALID_TOKEN, "operator_token")
    assert why in entry["summary"]


def test_authenticated_refuses_a_deleted_operators_token(client: httpx.Client) -> None:
    assert client.put("/_emulator/users/iadvize/gone@brand.example", json={"password": "pw-1"}).status_code == 201
    token = login(client, username="gone@brand.example", password="pw-1", grant_type="password").json()["access_token"]
    assert client.delete("/_emulator/users/iadvize/gone@brand.example").status_code == 204
    response = client.get("/iadvize/_authenticated", headers={"Authorization": f"Bearer {token}"})
    entry = assert_refused(client, response, 401, INVALID_TOKEN, "operator_token")
    assert "'gone@brand.example' no longer exists" in entry["summary"]


def test_access_token_expires_after_a_day(client: httpx.Client, operator_token: str) -> None:
    client.post("/_emulator/clock", json={"advance": 86400 + 2})
    response = client.get("/iadvize/_authenticated", headers={"Authorization": f"Bearer {operator_token}"})
    assert response.status_code == 401
    assert "over 86400 s old" in response.headers["x-emulator-diagnosis"]
    entry = assert_refused(client, response, 401, INVALID_TOKEN, "operator_token")
    assert "over 86400 s old" in entry["summary"]


def _unauthenticated(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 401
    body = response.json()
    assert body["data"] is None
    error = body["errors"][0]
    assert error["message"] == UNAUTHENTICATED
    assert error["extensions"]["name"] == "UNAUTHENTICATED"
    assert error["extensions"]["emulator"]["failedCheck"] == "operator_token"
    assert response.headers["x-emulator-diagnosis"].startswith("operator_token: ")
    return error["extensions"]["emulator"]


@pytest.fixture
def good_jwe(brand_key: Any, iadvize_public: Any, now: float) -> str:
    return iadvize_token(brand_key, iadvize_public, {USER_ID: "alice", "exp": int(now) + 50})


def test_test_mutation_without_bearer(client: httpx.Client, good_jwe: str) -> None:
    diagnosis = _unauthenticated(try_jwe(client, "", PROJECT, good_jwe))
    assert "no Authorization header" in diagnosis["summary"]


def test_test_mutation_with_expired_bearer(client: httpx.Client, operator_token: str, good_jwe: str) -> None:
    client.post("/_emulator/clock", json={"advance": 86400 + 2})
    diagnosis = _unauthenticated(try_jwe(client, operator_token, PROJECT, good_jwe))
    assert "over 86400 s old" in diagnosis["summary"]


def test_test_mutation_with_deleted_operator(client: httpx.Client, good_jwe: str) -> None:
    assert client.put("/_emulator/users/iadvize/qa@brand.example", json={"password": "pw-1"}).status_code == 201
    token = login(client, username="qa@brand.example", password="pw-1", grant_type="password").json()["access_token"]
    access_token(try_jwe(client, token, PROJECT, good_jwe), "testVisitorAuthenticateFromCredentials")
    assert client.delete("/_emulator/users/iadvize/qa@brand.example").status_code == 204
    diagnosis = _unauthenticated(try_jwe(client, token, PROJECT, good_jwe))
    assert "no longer exists" in diagnosis["summary"]


def test_operator_password_can_be_changed(client: httpx.Client) -> None:
    assert client.put("/_emulator/users/iadvize/qa2@brand.example", json={"password": "one"}).status_code == 201
    assert client.put("/_emulator/users/iadvize/qa2@brand.example", json={"password": "two"}).status_code == 200
    assert login(client, username="qa2@brand.example", password="one", grant_type="password").status_code == 400
    assert login(client, username="qa2@brand.example", password="two", grant_type="password").status_code == 200
    users = client.get("/_emulator/users/iadvize").json()["users"]
    assert {"username": "qa2@brand.example"} in users
    assert "two" not in json.dumps(users)
    client.delete("/_emulator/users/iadvize/qa2@brand.example")


@pytest.mark.parametrize("body", [{}, {"password": ""}, {"password": 3}, {"password": "x", "role": "admin"}, []])
def test_operator_bad_bodies(client: httpx.Client, body: Any) -> None:
    response = client.put("/_emulator/users/iadvize/bad@brand.example", json=body)
    assert response.status_code == 400
    assert client.get("/_emulator/users/iadvize/bad@brand.example").status_code == 404
