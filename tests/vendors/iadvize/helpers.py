"""GraphQL helpers for the iAdvize tests. Vendor strings are written out here, not imported from the emulator."""

from __future__ import annotations

from typing import Any

import httpx

REJECTED = "Failed to authenticate visitor from credentials : the website is not correctly setup (null)"
UNAUTHENTICATED = "The token in the Authorization header was invalid or expired"

# The FAQ's "How can I test my JWE?" mutation, with variables instead of inlined literals.
TEST_MUTATION = (
    "mutation TestJWE($projectId: LegacyId!, $credentials: String!) {\n"
    "  testVisitorAuthenticateFromCredentials(input: {projectId: $projectId, credentials: $credentials}) {\n"
    "    visitorSessionToken {\n      accessToken\n    }\n  }\n}\n"
)

# Exact operation text of the Android SDK (research/iadvize.md §2.4).
SDK_SECURED = (
    "mutation authenticateSecuredVisitor($projectId: LegacyId!, $jwe: String!, $vuid: String) {\n"
    "  visitorAuthenticateFromCredentials(input: { projectId: $projectId credentials: $jwe currentVuid: $vuid } ) {\n"
    "    visitorSessionToken { accessToken } } }"
)
SDK_ANONYMOUS = (
    "mutation authenticateAnonymousVisitor($projectId: LegacyId!, $vuid: String) {\n"
    "  visitorAuthenticateAnonymously(input: { projectId: $projectId vuid: $vuid } ) {\n"
    "    visitorSessionToken { accessToken } } }"
)


def graphql(
    client: httpx.Client,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    bearer: str | None = None,
    operation_name: str | None = None,
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    if operation_name:
        body["operationName"] = operation_name
    return client.post("/iadvize/graphql", json=body, headers=headers)


def try_jwe(client: httpx.Client, bearer: str, project_id: str | int, credentials: str) -> httpx.Response:
    return graphql(client, TEST_MUTATION, {"projectId": project_id, "credentials": credentials}, bearer=bearer)


def sdk_secured(client: httpx.Client, project_id: int | str, jwe: str, vuid: str | None = None) -> httpx.Response:
    return graphql(client, SDK_SECURED, {"projectId": project_id, "jwe": jwe, "vuid": vuid})


def access_token(response: httpx.Response, field: str) -> str:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"][field]["visitorSessionToken"]["accessToken"]


def assert_rejected(client: httpx.Client, response: httpx.Response, check: str) -> dict[str, Any]:
    """The vendor's exact answer, and the named failed check in extensions, header and journal."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is None
    assert len(body["errors"]) == 1
    error = body["errors"][0]
    assert error["message"] == REJECTED
    assert error["extensions"]["name"] == "BAD_USER_INPUT"
    assert error["extensions"]["retryPolicy"] == "NO_RETRY"
    diagnosis = error["extensions"]["emulator"]
    assert diagnosis["failedCheck"] == check, diagnosis["summary"]
    assert response.headers["x-emulator-diagnosis"].startswith(f"{check}: ")
    entry = client.get(f"/_emulator/journal/{response.headers['x-emulator-journal-id']}").json()
    assert entry["failedCheck"] == check
    assert entry["outcome"] == "rejected"
    return diagnosis


def request_error(name: str, message: str) -> dict[str, Any]:
    """A request-level GraphQL refusal (400/413/415) as the emulator answers it: no data, one error."""
    return {"errors": [{"message": message, "extensions": {"name": name, "retryPolicy": "NO_RETRY"}}]}


def document_error(message: str, line: int, column: int) -> dict[str, Any]:
    """A 400 for a document that does not parse, validate or take its variables: data null, located error."""
    error = {
        "message": message,
        "locations": [{"line": line, "column": column}],
        "extensions": {"name": "BAD_REQUEST", "retryPolicy": "NO_RETRY"},
    }
    return {"data": None, "errors": [error]}


def assert_refused(
    client: httpx.Client, response: httpx.Response, status: int, body: dict[str, Any], check: str
) -> dict[str, Any]:
    """Any refusal's exact answer (status, full body), and the named failed check in the header and journal."""
    assert response.status_code == status, response.text
    assert response.json() == body
    diagnosis = response.headers["x-emulator-diagnosis"]
    assert diagnosis.startswith(f"{check}: "), diagnosis
    entry = client.get(f"/_emulator/journal/{response.headers['x-emulator-journal-id']}").json()
    assert entry["failedCheck"] == check, entry["summary"]
    assert entry["outcome"] == "rejected"
    return entry
