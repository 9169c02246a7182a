"""POST /iadvize/graphql as HTTP: the seed's curl, literals vs variables, request errors, hosts."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import PROJECT
from tests.tokens import USER_ID, iadvize_token
from tests.vendors.iadvize.helpers import (
    REJECTED,
    SDK_SECURED,
    access_token,
    assert_refused,
    assert_rejected,
    document_error,
    graphql,
    request_error,
)

UNSUPPORTED_MEDIA_TYPE = request_error(
    "UNSUPPORTED_MEDIA_TYPE", "Unsupported Media Type: the request must have 'Content-Type: application/json'"
)
NOT_JSON = request_error("BAD_REQUEST", "Body is not valid JSON")


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
    message = (
        "Expected value of type 'LegacyId', but encountered error "
        "'LegacyId cannot represent 'abc': a positive integer is expected'; found: \"abc\"."
    )
    assert_refused(client, response, 400, document_error(message, 1, 70), "graphql_request")


def test_invalid_legacy_id_variable(client: httpx.Client) -> None:
    response = graphql(client, SDK_SECURED, {"projectId": "abc", "jwe": "x"})
    message = (
        "Variable '$projectId' has invalid value: Expected value of type 'LegacyId', but encountered error "
        "'LegacyId cannot represent 'abc': a positive integer is expected'; found: 'abc'."
    )
    assert_refused(client, response, 400, document_error(message, 1, 37), "graphql_request")


def test_variables_of_the_wrong_type(client: httpx.Client) -> None:
    response = graphql(client, SDK_SECURED, {"projectId": 7011, "jwe": 12})
    assert response.status_code == 400
    assert "jwe" in response.json()["errors"][0]["message"]
    message = "Variable '$jwe' has invalid value: String cannot represent a non string value: 12"
    assert_refused(client, response, 400, document_error(message, 1, 60), "graphql_request")


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
    assert_refused(client, response, 415, UNSUPPORTED_MEDIA_TYPE, "request_body")
    assert repr(content_type or "missing") in response.headers["x-emulator-diagnosis"]


def _bad_request(message: str) -> dict[str, Any]:
    return request_error("BAD_REQUEST", message)


@pytest.mark.parametrize(
    ("body", "fragment", "answer", "check"),
    [
        (b"{not json", "Body is not valid JSON", NOT_JSON, "request_body"),
        (b"", "Body is not valid JSON", NOT_JSON, "request_body"),
        (b"\xff\xfe{}", "Body is not valid JSON", NOT_JSON, "request_body"),
        (b"[]", "JSON object", _bad_request("The body must be a JSON object with a 'query'"), "graphql_request"),
        (b"null", "JSON object", _bad_request("The body must be a JSON object with a 'query'"), "graphql_request"),
        (
            b'{"variables": {}}',
            "Missing 'query'",
            _bad_request("Missing 'query' in the request body"),
            "graphql_request",
        ),
        (b'{"query": "  "}', "Missing 'query'", _bad_request("Missing 'query' in the request body"), "graphql_request"),
        (
            b'{"query": "mutation {"}',
            "Syntax Error",
            document_error("Syntax Error: Expected Name, found <EOF>.", 1, 11),
            "graphql_request",
        ),
        (
            b'{"query": "{ nope }"}',
            "Cannot query field 'nope'",
            document_error("Cannot query field 'nope' on type 'Query'.", 1, 3),
            "graphql_request",
        ),
        (
            b'{"query": "subscription { emulator { name } }"}',
            "subscription",
            document_error("The subscription operation is not supported by the schema.", 1, 1),
            "graphql_request",
        ),
        (
            b'{"query": "{ emulator { name } }", "variables": []}',
            "'variables' must be a JSON object",
            _bad_request("'variables' must be a JSON object"),
            "graphql_request",
        ),
        (
            b'{"query": "query A { emulator { name } } query B { emulator { name } }"}',
            "operation name",
            _bad_request("Must provide operation name if query contains multiple operations."),
            "graphql_request",
        ),
        (
            b'{"query": "query A { emulator { name } }", "operationName": "Z"}',
            "Unknown operation named 'Z'",
            _bad_request("Unknown operation named 'Z'."),
            "graphql_request",
        ),
        (
            b'{"query": "query A { emulator { name } }", "operationName": 3}',
            "'operationName' must be a string",
            _bad_request("'operationName' must be a string"),
            "graphql_request",
        ),
        (
            b'{"query": "query A { emulator { name } }", "operationName": ["A"]}',
            "'operationName' must be a string",
            _bad_request("'operationName' must be a string"),
            "graphql_request",
        ),
    ],
)
def test_bad_requests_are_400(
    client: httpx.Client, body: bytes, fragment: str, answer: dict[str, Any], check: str
) -> None:
    response = client.post("/iadvize/graphql", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    errors = response.json()["errors"]
    assert fragment.lower() in errors[0]["message"].lower()
    assert_refused(client, response, 400, answer, check)


def test_document_without_an_operation(client: httpx.Client) -> None:
    """Only fragments, no query or mutation: strawberry raises (CannotGetOperationTypeError) instead of answering.

    The message is that exception's text, "None" (kept as it is); the diagnosis says what is wrong.
    """
    body = b'{"query": "fragment F on Query { emulator { name } }"}'
    response = client.post("/iadvize/graphql", content=body, headers={"Content-Type": "application/json"})
    assert_refused(client, response, 400, _bad_request("None"), "graphql_request")
    assert "defines no operation" in response.headers["x-emulator-diagnosis"]


def test_get_is_not_allowed(client: httpx.Client) -> None:
    assert client.get("/iadvize/graphql").status_code == 405


def test_oversized_body_is_413(client: httpx.Client) -> None:
    body = b'{"query": "' + b"a" * (1024 * 1024 + 10) + b'"}'
    response = client.post("/iadvize/graphql", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    too_large = request_error("PAYLOAD_TOO_LARGE", "Request body too large")
    assert_refused(client, response, 413, too_large, "request_size")
    assert "over the 1048576-byte limit" in response.headers["x-emulator-diagnosis"]


def test_query_field_answers(client: httpx.Client) -> None:
    response = graphql(client, "{ emulator { name } }")
    assert response.json() == {"data": {"emulator": {"name": "chat-auth-emulator"}}}


def test_70kib_token_inlined_as_a_literal(client: httpx.Client, operator_token: str) -> None:
    """Over the token cap but within the body cap: the vendor string, check token_size."""
    response = curl(client, seed_curl_body(PROJECT, "A" * 70 * 1024), operator_token)
    assert_rejected(client, response, "token_size")
