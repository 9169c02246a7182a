"""POST /iadvize/graphql as HTTP: the seed's curl, literals vs variables, request errors, hosts."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import PROJECT
from tests.tokens import USER_ID, iadvize_token
from tests.vendors.iadvize.helpers import REJECTED, access_token, assert_rejected, graphql


def seed_curl_body(project_sid: str, jwe: str) -> bytes:
    """The FAQ's --data, byte for byte, with the two placeholders replaced."""
    data = (
        '{"query":"mutation TestJWE {\\n  testVisitorAuthenticateFromCredentials(input: {projectId: \\"YOUR PROJECT SID\\",'
        ' credentials: \\"<REPLACE JWE HERE>\\"}) {\\n    visitorSessionToken {\\n      accessToken\\n    }\\n  }\\n}\\n",'
        '"operationName":"TestJWE"}'
    )
    return data.replace("YOUR PROJECT SID", project_sid).replace("<REPLACE JWE HERE>", jwe).encode()


@pytest.fixture
def good_jwe(brand_key: Any, iadvize_public: Any, now: float) -> str:
    return iadvize_token(brand_key, iadvize_public, {USER_ID: "alice", "exp": int(now) + 50})


def curl(client: httpx.Client, body: bytes, bearer: str | None, url: str = "/iadvize/graphql") -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    return client.post(url, content=body, headers=headers)


def test_seed_curl_works_unchanged(client: httpx.Client, operator_token: str, good_jwe: str) -> None:
    response = curl(client, seed_curl_body(PROJECT, good_jwe), operator_token)
    token = access_token(response, "testVisitorAuthenticateFromCredentials")
    assert token.count(".") == 2


def test_seed_curl_refusal_is_the_faq_string(client: httpx.Client, operator_token: str, good_jwe: str) -> None:
    response = curl(client, seed_curl_body("7012", good_jwe), operator_token)
    assert response.json()["errors"][0]["message"] == REJECTED
    assert_rejected(client, response, "authentication_enabled")


def test_real_host_routing(client: httpx.Client, operator_token: str, good_jwe: str) -> None:
    """A test that routes api.iadvize.com to the emulator keeps iAdvize's paths."""
    headers = {
        "Host": "api.iadvize.com",
        "Content-Type": "application/json",
        "Authorization": f"Bearer {operator_token}",
    }
    response = client.post("/graphql", content=seed_curl_body(PROJECT, good_jwe), headers=headers)
    access_token(response, "testVisitorAuthenticateFromCredentials")
    login = client.post(
        "/oauth2/token",
        data={"username": "operator@brand.example", "password": "TEST-ONLY-password", "grant_type": "password"},
        headers={"Host": "api.iadvize.com:443"},
    )
    assert login.status_code == 200 and login.json()["token_type"] == "Bearer"
    assert client.get(
        "/_authenticated", headers={"Host": "api.iadvize.com", "Authorization": f"Bearer {operator_token}"}
    ).json() == {"authenticated": True}


def test_platform_sd_query_parameter(client: httpx.Client, operator_token: str, good_jwe: str) -> None:
    response = curl(client, seed_curl_body(PROJECT, good_jwe), operator_token, url="/iadvize/graphql?platform=sd")
    access_token(response, "testVisitorAuthenticateFromCredentials")


@pytest.mark.parametrize("literal", ["7011", '"7011"'])
def test_project_id_literal_int_or_string(
    client: httpx.Client, operator_token: str, good_jwe: str, literal: str
) -> None:
    query = (
        "mutation { testVisitorAuthenticateFromCredentials(input: {projectId: %s, credentials: %s}) "
        "{ visitorSessionToken { accessToken } } }" % (literal, json.dumps(good_jwe))
    )
    access_token(graphql(client, query, bearer=operator_token), "testVisitorAuthenticateFromCredentials")


def test_invalid_legacy_id_is_a_request_error(client: httpx.Client, operator_token: str) -> None:
    query = 'mutation { testVisitorAuthenticateFromCredentials(input: {projectId: "abc", credentials: "x"}) { visitorSessionToken { accessToken } } }'
    response = graphql(client, query, bearer=operator_token)
    assert response.status_code == 400
    body = response.json()
    assert body["data"] is None
    assert "LegacyId" in body["errors"][0]["message"]


def test_variables_of_the_wrong_type(client: httpx.Client) -> None:
    from tests.vendors.iadvize.helpers import SDK_SECURED

    response = graphql(client, SDK_SECURED, {"projectId": 7011, "jwe": 12})
    assert response.status_code == 400
    assert "jwe" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b'{"query": "{ emulator { name } }"}'),
        ("application/x-www-form-urlencoded", b"query=x"),
        (None, b"{}"),
    ],
)
def test_non_json_body_is_415(client: httpx.Client, content_type: str | None, body: bytes) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/iadvize/graphql", content=body, headers=headers)
    assert response.status_code == 415
    assert response.json()["errors"][0]["extensions"]["name"] == "UNSUPPORTED_MEDIA_TYPE"
    assert "application/json" in response.headers["x-emulator-diagnosis"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "Body is not valid JSON"),
        (b"[]", "JSON object"),
        (b'{"variables": {}}', "Missing 'query'"),
        (b'{"query": "mutation {"}', "Syntax Error"),
        (b'{"query": "{ nope }"}', "Cannot query field 'nope'"),
        (b'{"query": "{ emulator { name } }", "variables": []}', "'variables' must be a JSON object"),
        (b'{"query": "query A { emulator { name } } query B { emulator { name } }"}', "operation name"),
        (b'{"query": "query A { emulator { name } }", "operationName": "Z"}', "Unknown operation named 'Z'"),
    ],
)
def test_bad_requests_are_400(client: httpx.Client, body: bytes, fragment: str) -> None:
    response = client.post("/iadvize/graphql", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    errors = response.json()["errors"]
    assert fragment.lower() in errors[0]["message"].lower()


def test_get_is_not_allowed(client: httpx.Client) -> None:
    assert client.get("/iadvize/graphql").status_code == 405


def test_oversized_body_is_413(client: httpx.Client) -> None:
    body = b'{"query": "' + b"a" * (1024 * 1024 + 10) + b'"}'
    response = client.post("/iadvize/graphql", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_query_field_answers(client: httpx.Client) -> None:
    response = graphql(client, "{ emulator { name } }")
    assert response.json() == {"data": {"emulator": {"name": "chat-auth-emulator"}}}


def test_70kib_token_inlined_as_a_literal(client: httpx.Client, operator_token: str) -> None:
    """Over the token cap but within the body cap: the vendor string, check token_size."""
    response = curl(client, seed_curl_body(PROJECT, "A" * 70 * 1024), operator_token)
    assert_rejected(client, response, "token_size")
