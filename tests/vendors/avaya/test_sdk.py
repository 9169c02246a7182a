"""The Chat SDK's REST surface (/sdk/digital/chat/v1/integrations/{integrationId}/...), driven the way Chat SDK
0.1.53 drives it (research/avaya.md §4.2, §5, §6): sessions, the events long poll, engagements, messages, the
echo agent, chat-JWT refresh and expiry, and every refusal with its vendor body and named failed check.

Long polls wait 20 s in the default configuration: these tests only poll when events are pending or due within
about a second (the echo agent). Empty polls are tested on an in-process app whose long poll lasts 0.3 s.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from emulator.app import create_app
from emulator.testing import BASE_URL_ENV, emulator_client
from tests import tokens
from tests.conftest import FIXTURE_KEYS, LIVE
from tests.vendors.avaya.helpers import (
    ACCOUNT,
    APPKEY,
    CLIENT_ID,
    CLIENT_SECRET,
    INTEGRATION,
    SDK_BASE,
    assert_problem,
    chat_jwt,
    claims_of,
    sdk_headers,
)

# -- vendor answers, written out ------------------------------------------------------------------------------
DOCS = "https://developers.avayacloud.com/onecloud-ccaas/docs/error-handling"
DOCS_V1 = "https://developers.avayacloud.com/onecloud-ccaas/v1.0/docs/error-handling"
FORBIDDEN = {
    "type": f"{DOCS}#forbidden",
    "title": "Forbidden",
    "status": 403,
    "detail": "According to the access control policy the current user and/or accountId does not have permission "
    "to access this resource.",
}
UNAUTHORIZED = {
    "type": f"{DOCS}#unauthorized",
    "title": "Unauthorized",
    "status": 401,
    "detail": "This operation requires authentication. See "
    "https://developers.avayacloud.com/onecloud-ccaas/docs/how-to-authenticate-with-ccaas-apis",
}
UNAUTHORIZED_APPKEY = {
    "type": f"{DOCS_V1}#unauthorized",
    "title": "Unauthorized",
    "status": 401,
    "detail": "The client request has not been completed because it lacks valid authentication credentials(Appkey)",
}
RESOURCE_NOT_FOUND = {
    "type": f"{DOCS}#resource-not-found",
    "title": "Resource Not Found",
    "status": 404,
    "detail": "Either there is no API method associated with the URL path of the request, or the request refers to "
    "one or more resources that were not found.",
}
# The SDK stops its event stream (CLIENT_SESSION_INVALIDATED) on a 404 whose detail is exactly this.
SESSION_NOT_FOUND = {"type": f"{DOCS}#not-found", "title": "Not Found", "status": 404, "detail": "Session not found"}
ENGAGEMENT_NOT_FOUND = {
    "type": f"{DOCS}#not-found",
    "title": "Not Found",
    "status": 404,
    "detail": "Engagement not found",
}
CONSTRAINT_VIOLATION = {
    "type": f"{DOCS}#constraint-violation",
    "title": "Constraint Violation",
    "status": 400,
    "detail": "A problem that indicates a syntactically correct, yet semantically illegal request. The Server can "
    "not process this request until the client resolves the semantic errors described in the violations section.",
}
BAD_REQUEST = {
    "type": f"{DOCS_V1}#bad-request",
    "title": "Bad Request",
    "status": 400,
    "detail": "The request could not be understood by the server due to malformed syntax.",
}
UNSUPPORTED_MEDIA_TYPE = {
    "type": f"{DOCS}#conflict",
    "title": "Conflict",
    "status": 415,
    "detail": "The media-type in Content-type of the request is not supported by the server.",
}
AGENT_NAME = "Echo Agent"  # the default fixtures' agentName
DEFAULT_TTL = 15 * 60
EMULATOR_KEY = tokens.load_private(FIXTURE_KEYS / "avaya-emulator.private.pem")  # the default [avaya] signingKey


# -- the SDK's calls -----------------------------------------------------------------------------------------
def iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def freeze(client: httpx.Client, at: int) -> None:
    assert client.post("/_emulator/clock", json={"freeze": at}).json() == {"now": at, "mode": "frozen"}


def advance(client: httpx.Client, seconds: float) -> None:
    assert client.post("/_emulator/clock", json={"advance": seconds}).status_code == 200


def create_session(
    client: httpx.Client, jwt: str, display_name: str = "Guest", parameters: dict[str, str] | None = None
) -> dict[str, Any]:
    body = {"displayName": display_name, "clientType": "web", "sessionParameters": parameters or {}}
    response = client.post(f"{SDK_BASE}/sessions", json=body, headers=sdk_headers(jwt))
    assert response.status_code == 201, response.text
    return response.json()


def get_session(client: httpx.Client, jwt: str, session_id: str) -> httpx.Response:
    return client.get(f"{SDK_BASE}/sessions/{session_id}", headers=sdk_headers(jwt))


def create_engagement(client: httpx.Client, jwt: str, session_id: str) -> dict[str, Any]:
    body = {"sessionId": session_id, "engagementParameters": {"topic": "billing"}}
    response = client.post(f"{SDK_BASE}/engagements", json=body, headers=sdk_headers(jwt))
    assert response.status_code == 201, response.text
    return response.json()


def dialog_of(engagement: dict[str, Any]) -> str:
    return engagement["dialogs"][0]["dialogId"]


def participant(engagement: dict[str, Any], kind: str) -> dict[str, Any]:
    (found,) = [p for p in engagement["dialogs"][0]["participants"] if p["participantType"] == kind]
    return found


def text_body(text: str) -> dict[str, Any]:
    return {"elementType": "TEXT", "elementText": {"text": text, "textFormat": "PLAINTEXT"}}


def send_text(
    client: httpx.Client,
    jwt: str,
    engagement: dict[str, Any],
    session_id: str,
    text: str,
    parent: str | None = None,
    **overrides: Any,
) -> httpx.Response:
    body = {
        "dialogId": dialog_of(engagement),
        "sessionId": session_id,
        "parentMessageId": parent,
        "body": text_body(text),
        **overrides,
    }
    return client.post(
        f"{SDK_BASE}/engagements/{engagement['engagementId']}/messages", json=body, headers=sdk_headers(jwt)
    )


def poll_response(client: httpx.Client, jwt: str, session_id: str, last_event_id: str | None = None) -> httpx.Response:
    params = {"lastEventId": last_event_id} if last_event_id else None
    return client.get(f"{SDK_BASE}/sessions/{session_id}/events", params=params, headers=sdk_headers(jwt))


def poll(client: httpx.Client, jwt: str, session_id: str, last_event_id: str | None = None) -> list[dict[str, Any]]:
    response = poll_response(client, jwt, session_id, last_event_id)
    assert response.status_code == 200, response.text
    events = response.json()
    assert isinstance(events, list)
    return events


def events_until(
    client: httpx.Client, jwt: str, session_id: str, count: int, last_event_id: str | None = None
) -> list[dict[str, Any]]:
    """Poll like the SDK (lastEventId = the last one seen) until `count` events came; only call when they are due."""
    events: list[dict[str, Any]] = []
    while len(events) < count:
        batch = poll(client, jwt, session_id, last_event_id)
        assert batch, f"an empty poll after {events}"
        events += batch
        last_event_id = batch[-1]["eventId"]
    assert len(events) == count, events
    return events


def kinds(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["eventType"], e["participant"]["participantType"]) for e in events]


def start_chat(client: httpx.Client, jwt: str) -> tuple[str, dict[str, Any]]:
    """init() + createEngagement(), the two PARTICIPANT_ADDED events consumed."""
    session_id = create_session(client, jwt)["sessionId"]
    engagement = create_engagement(client, jwt, session_id)
    assert kinds(events_until(client, jwt, session_id, 2)) == [
        ("PARTICIPANT_ADDED", "CUSTOMER"),
        ("PARTICIPANT_ADDED", "AGENT"),
    ]
    return session_id, engagement


def assert_refused(client: httpx.Client, response: httpx.Response, body: dict[str, Any], check: str) -> dict[str, Any]:
    """The vendor's exact problem body, and the named failed check in the header and the journal."""
    assert_problem(response, body["status"], body["title"], body["detail"])
    assert response.json() == body
    assert response.headers["x-emulator-diagnosis"].startswith(f"{check}: ")
    entry = client.get(f"/_emulator/journal/{response.headers['x-emulator-journal-id']}").json()
    assert entry["failedCheck"] == check
    assert entry["outcome"] == "rejected"
    return entry


def violation_body(field: str, message: str, code: int) -> dict[str, Any]:
    return {**CONSTRAINT_VIOLATION, "violations": [{"field": field, "message": message, "code": code}]}


# -- 1. the SDK flow -------------------------------------------------------------------------------------------
def test_sdk_flow_init_chat_echo_refresh_expire_and_refresh_again(client: httpx.Client, now: float) -> None:
    """What a page with the Chat SDK does, call by call: JWT from the backend, init() (POST /sessions),
    createEngagement(), the event stream (PARTICIPANT_ADDED CUSTOMER flips the engagement ACTIVE), sendMessage(),
    the agent's reply on the long poll, setJwtToken() with a refreshed JWT on the same session, TOKEN_EXPIRED
    (401 from the server, failedCheck jwt_not_expired) and recovery with a fresh JWT."""
    start = int(now)
    freeze(client, start)
    jwt = chat_jwt(client, "flow-customer", customerName="Joe Soap", verifiedCustomer=True)
    assert claims_of(jwt)["exp"] == start + DEFAULT_TTL

    # init(): the JWT's customerName wins over init's displayName ("used only if ... not provided in JWT")
    session = create_session(client, jwt, display_name="Guest", parameters={"model": "ABC-123"})
    session_id = session["sessionId"]
    assert session == {
        "sessionId": session_id,
        "displayName": "Joe Soap",
        "clientType": "web",
        "sessionParameters": {"model": "ABC-123"},
        "createdAt": iso(start),
        "engagements": [],
    }
    uuid.UUID(session_id)

    # createEngagement(): one dialog, the customer and the agent
    engagement = create_engagement(client, jwt, session_id)
    engagement_id, dialog_id = engagement["engagementId"], dialog_of(engagement)
    customer, agent = participant(engagement, "CUSTOMER"), participant(engagement, "AGENT")
    assert engagement == {
        "engagementId": engagement_id,
        "createdAt": iso(start),
        "lastUpdatedAt": iso(start),
        "engagementParameters": {"topic": "billing"},
        "dialogs": [
            {
                "dialogId": dialog_id,
                "dialogStatus": "ACTIVE",
                "participants": [customer, agent],
                "createdAt": iso(start),
                "lastUpdatedAt": iso(start),
            }
        ],
    }
    assert customer["displayName"] == "Joe Soap"
    assert agent["displayName"] == AGENT_NAME
    assert customer["participantId"] != agent["participantId"]

    # the event stream: the CUSTOMER's PARTICIPANT_ADDED first (without it sendMessage fails with ACS-313)
    added = poll(client, jwt, session_id)
    assert [(e["eventType"], e["participant"]) for e in added] == [
        ("PARTICIPANT_ADDED", customer),
        ("PARTICIPANT_ADDED", agent),
    ]
    for event in added:
        assert (event["engagementId"], event["dialogId"], event["sessionId"]) == (engagement_id, dialog_id, session_id)
        assert event["eventDate"] == iso(start)
        assert "message" not in event
    assert added[0]["eventId"] != added[1]["eventId"]

    # sendMessage(): 201 and the message as the SDK reads it
    sent = send_text(client, jwt, engagement, session_id, "Hello, is anyone there?")
    assert sent.status_code == 201, sent.text
    message = sent.json()
    assert message == {
        "messageId": message["messageId"],
        "dialogId": dialog_id,
        "engagementId": engagement_id,
        "body": text_body("Hello, is anyone there?"),
        "messageIndex": 1,
        "parentMessageId": None,
        "senderParticipantId": customer["participantId"],
        "participantType": "CUSTOMER",
        "displayName": "Joe Soap",
        "receivedAt": iso(start),
        "lastUpdatedAt": iso(start),
    }

    # the long poll: the customer's own MESSAGE (MESSAGE_DELIVERED), then the agent's echo (MESSAGE_ARRIVED)
    began = time.monotonic()
    messages = events_until(client, jwt, session_id, 2, added[-1]["eventId"])
    assert time.monotonic() - began < 5  # echoDelaySeconds 1
    assert kinds(messages) == [("MESSAGE", "CUSTOMER"), ("MESSAGE", "AGENT")]
    mine, reply = messages
    assert mine["message"]["messageId"] == message["messageId"]
    assert reply["participant"] == agent
    assert reply["message"]["body"] == text_body("Hello, is anyone there?")
    assert reply["message"]["parentMessageId"] == message["messageId"]
    assert reply["message"]["messageIndex"] == 2
    assert reply["message"]["messageId"] != message["messageId"]

    # TOKEN_EXPIRY_REMINDER (exp - 180 s): the page gets a new JWT for the same customer and calls setJwtToken()
    advance(client, DEFAULT_TTL - 100)
    refreshed = chat_jwt(client, "flow-customer", customerName="Joe Soap", verifiedCustomer=True)
    assert claims_of(refreshed)["jti"] != claims_of(jwt)["jti"]
    assert claims_of(refreshed)["exp"] == start + DEFAULT_TTL - 100 + DEFAULT_TTL
    resumed = get_session(client, refreshed, session_id)
    assert resumed.status_code == 200, resumed.text
    assert [e["engagementId"] for e in resumed.json()["engagements"]] == [engagement_id]
    assert get_session(client, jwt, session_id).status_code == 200  # the old JWT still lives until its own exp
    sent = send_text(client, refreshed, engagement, session_id, "Still me", parent=reply["message"]["messageId"])
    assert sent.status_code == 201, sent.text
    assert sent.json()["messageIndex"] == 3
    assert sent.json()["parentMessageId"] == reply["message"]["messageId"]
    echoed = events_until(client, refreshed, session_id, 2, messages[-1]["eventId"])
    assert kinds(echoed) == [("MESSAGE", "CUSTOMER"), ("MESSAGE", "AGENT")]
    assert echoed[1]["message"]["body"] == text_body("Still me")
    assert echoed[1]["message"]["parentMessageId"] == sent.json()["messageId"]

    # the first JWT expires at its exp, the refreshed one keeps working
    advance(client, 100)
    assert_refused(client, get_session(client, jwt, session_id), UNAUTHORIZED, "jwt_not_expired")
    assert get_session(client, refreshed, session_id).status_code == 200

    # TOKEN_EXPIRED: the event stream answers 401 (the SDK's EVENT_STREAM_FAILED UNAUTHORIZED)
    advance(client, DEFAULT_TTL - 100 + 1)
    entry = assert_refused(
        client, poll_response(client, refreshed, session_id, echoed[-1]["eventId"]), UNAUTHORIZED, "jwt_not_expired"
    )
    assert "expired 1 s ago" in entry["summary"]
    refused = send_text(client, refreshed, engagement, session_id, "lost")
    assert_refused(client, refused, UNAUTHORIZED, "jwt_not_expired")

    # a fresh JWT (setJwtToken) resumes the same session and engagement; nothing was lost meanwhile
    fresh = chat_jwt(client, "flow-customer", customerName="Joe Soap", verifiedCustomer=True)
    resumed = get_session(client, fresh, session_id)
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["engagements"][0]["engagementId"] == engagement_id
    sent = send_text(client, fresh, engagement, session_id, "Back again")
    assert sent.status_code == 201, sent.text
    assert sent.json()["messageIndex"] == 5  # the refused "lost" was not stored
    assert kinds(events_until(client, fresh, session_id, 2, echoed[-1]["eventId"])) == [
        ("MESSAGE", "CUSTOMER"),
        ("MESSAGE", "AGENT"),
    ]


# -- 2. authentication of SDK calls ------------------------------------------------------------------------------
@dataclass
class Material:
    jwt: str
    claims: dict[str, Any]
    other_key: Any


def _bearer(token: str) -> str:
    return f"Bearer {token}"


def _tampered(m: Material) -> str:
    _, header, _, signature = m.jwt.split(".")
    payload = tokens.b64u(json.dumps({**m.claims, "customerId": "mallory"}).encode())
    return _bearer(f"jwt.{header}.{payload}.{signature}")


def _without(claims: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in claims.items() if k != name}


BAD_AUTHORIZATIONS: list[tuple[str, Callable[[Material], str | None], str]] = [
    ("no_authorization", lambda m: None, "jwt_format"),
    ("no_bearer_scheme", lambda m: m.jwt, "jwt_format"),
    ("no_jwt_prefix", lambda m: _bearer(m.jwt.removeprefix("jwt.")), "jwt_format"),
    ("garbage_after_prefix", lambda m: _bearer("jwt.not-a-token"), "jwt_format"),
    (
        "hs256",
        lambda m: _bearer("jwt." + tokens.jws(m.claims, b"a-shared-secret-0123456789abcdef", "HS256")),
        "jwt_alg",
    ),
    ("another_rsa_key", lambda m: _bearer("jwt." + tokens.jws(m.claims, m.other_key)), "jwt_signature"),
    ("tampered_payload", _tampered, "jwt_signature"),
    (
        "no_customer_claim",
        lambda m: _bearer("jwt." + tokens.jws(_without(m.claims, "customerId"), EMULATOR_KEY)),
        "jwt_claims",
    ),
]


def _with(claims: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    return {**claims, name: value}


# Chat JWTs signed with the emulator's key (so only the claims are wrong), built here with raw cryptography:
# (id, the claims from the issued JWT's -> the signed claims, the claims jwt_claims names)
BAD_CLAIMS: list[tuple[str, Callable[[dict[str, Any]], dict[str, Any]], list[str]]] = [
    ("customerId_missing", lambda c: _without(c, "customerId"), ["customerId"]),
    ("customerId_null", lambda c: _with(c, "customerId", None), ["customerId"]),
    ("customerId_number", lambda c: _with(c, "customerId", 12345), ["customerId"]),
    ("customerId_list", lambda c: _with(c, "customerId", ["auth-customer"]), ["customerId"]),
    ("integrationId_missing", lambda c: _without(c, "integrationId"), ["integrationId"]),
    ("integrationId_number", lambda c: _with(c, "integrationId", 847), ["integrationId"]),
    ("accountId_missing", lambda c: _without(c, "accountId"), ["accountId"]),
    ("accountId_number", lambda c: _with(c, "accountId", 123456), ["accountId"]),
    ("accountId_object", lambda c: _with(c, "accountId", {"id": ACCOUNT}), ["accountId"]),
    ("exp_missing", lambda c: _without(c, "exp"), ["exp"]),
    ("exp_null", lambda c: _with(c, "exp", None), ["exp"]),
    ("exp_string", lambda c: _with(c, "exp", str(c["exp"])), ["exp"]),
    ("exp_boolean", lambda c: _with(c, "exp", True), ["exp"]),
    ("exp_list", lambda c: _with(c, "exp", [c["exp"]]), ["exp"]),
    (
        "several",
        lambda c: _with(_without(_without(c, "exp"), "accountId"), "customerId", False),
        ["customerId", "exp", "accountId"],
    ),
]


@pytest.mark.parametrize(("mangle", "named"), [c[1:] for c in BAD_CLAIMS], ids=[c[0] for c in BAD_CLAIMS])
def test_chat_jwt_with_missing_or_mistyped_claims_is_forbidden(
    client: httpx.Client, mangle: Callable[[dict[str, Any]], dict[str, Any]], named: list[str]
) -> None:
    """A correctly signed chat JWT whose integrationId, customerId or accountId is not a string, or whose exp is
    not a number (a boolean is not one), answers 403 Forbidden (jwt_claims), naming the claims, and creates nothing;
    a float exp is a number."""
    claims = claims_of(chat_jwt(client, "auth-customer"))
    body = {"displayName": "Guest", "clientType": "web", "sessionParameters": {}}
    forged = "jwt." + tokens.jws(mangle(claims), EMULATOR_KEY)
    response = client.post(f"{SDK_BASE}/sessions", json=body, headers=sdk_headers(forged))
    entry = assert_refused(client, response, FORBIDDEN, "jwt_claims")
    assert entry["summary"] == f"jwt_claims: claims {named} are missing or of the wrong type", entry["summary"]
    assert entry["status"] == 403
    assert client.get("/_emulator/chats/avaya").json()["sessions"] == []
    fractional = "jwt." + tokens.jws(_with(claims, "exp", claims["exp"] + 0.5), EMULATOR_KEY)
    accepted = client.post(f"{SDK_BASE}/sessions", json=body, headers=sdk_headers(fractional))
    assert accepted.status_code == 201, (accepted.text, accepted.headers.get("x-emulator-diagnosis"))


def test_chat_jwt_with_a_huge_integer_exp(client: httpx.Client) -> None:
    """An exp of 400 digits is read as infinity (as JSON.parse would), never an internal error: +10**400 is not
    expired, -10**400 is 401 Unauthorized (jwt_not_expired)."""
    claims = claims_of(chat_jwt(client, "auth-customer"))
    body = {"displayName": "Guest", "clientType": "web", "sessionParameters": {}}
    forever = "jwt." + tokens.jws(_with(claims, "exp", 10**400), EMULATOR_KEY)
    accepted = client.post(f"{SDK_BASE}/sessions", json=body, headers=sdk_headers(forever))
    assert accepted.status_code == 201, (accepted.text, accepted.headers.get("x-emulator-diagnosis"))
    long_gone = "jwt." + tokens.jws(_with(claims, "exp", -(10**400)), EMULATOR_KEY)
    response = client.post(f"{SDK_BASE}/sessions", json=body, headers=sdk_headers(long_gone))
    entry = assert_refused(client, response, UNAUTHORIZED, "jwt_not_expired")
    assert entry["summary"].startswith("jwt_not_expired: the chat JWT expired inf s ago"), entry["summary"]


@pytest.mark.parametrize(
    ("build", "check"), [c[1:] for c in BAD_AUTHORIZATIONS], ids=[c[0] for c in BAD_AUTHORIZATIONS]
)
def test_invalid_chat_jwt_is_forbidden(
    client: httpx.Client, other_key: Any, build: Callable[[Material], str | None], check: str
) -> None:
    """A missing, malformed, foreign-signed or forged chat JWT answers 403 Forbidden (the SDK's FORBIDDEN),
    never 401, and creates nothing."""
    jwt = chat_jwt(client, "auth-customer")
    authorization = build(Material(jwt, claims_of(jwt), other_key))
    headers = {"appkey": APPKEY, **({"Authorization": authorization} if authorization is not None else {})}
    body = {"displayName": "Guest", "clientType": "web", "sessionParameters": {}}
    response = client.post(f"{SDK_BASE}/sessions", json=body, headers=headers)
    assert_refused(client, response, FORBIDDEN, check)
    assert client.get("/_emulator/chats/avaya").json()["sessions"] == []


@pytest.fixture
def second_integration(client: httpx.Client) -> Iterator[str]:
    """A second Chat Integration of the default account; the account is put back as it was afterwards."""
    original = client.get(f"/_emulator/tenants/avaya/{ACCOUNT}").json()
    assert original["clients"] == [{"clientId": CLIENT_ID}]
    response = client.post(f"/_emulator/tenants/avaya/{ACCOUNT}/integrations", json={"name": "Second chat"})
    assert response.status_code == 201, response.text
    try:
        yield response.json()["integrationId"]
    finally:
        restore = {
            "appkey": original["appkey"],
            "clients": [{"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}],
            "integrations": original["integrations"],
        }
        assert client.put(f"/_emulator/tenants/avaya/{ACCOUNT}", json=restore).status_code == 200


def test_jwt_of_another_integration_is_forbidden(client: httpx.Client, second_integration: str) -> None:
    """A chat JWT issued for integration B, used on integration A's endpoints, answers 403 (jwt_integration);
    on B's own endpoints it works."""
    jwt = chat_jwt(client, "two-integrations", integrationId=second_integration)
    body = {"displayName": "Guest", "clientType": "web", "sessionParameters": {}}
    refused = client.post(f"{SDK_BASE}/sessions", json=body, headers=sdk_headers(jwt))
    assert_refused(client, refused, FORBIDDEN, "jwt_integration")
    own = f"/avaya/sdk/digital/chat/v1/integrations/{second_integration}/sessions"
    assert client.post(own, json=body, headers=sdk_headers(jwt)).status_code == 201


def test_expired_chat_jwt_is_unauthorized_from_exp_on(client: httpx.Client, now: float) -> None:
    """A chat JWT works until the second before its exp and answers 401 (the SDK's UNAUTHORIZED, jwt_not_expired)
    from exp on, on any call, the event stream included: Avaya documents no grace."""
    start = int(now)
    freeze(client, start)
    jwt = chat_jwt(client, "expiring", ttl=15)
    session_id = create_session(client, jwt)["sessionId"]
    advance(client, DEFAULT_TTL - 1)
    assert get_session(client, jwt, session_id).status_code == 200
    advance(client, 1)
    entry = assert_refused(client, get_session(client, jwt, session_id), UNAUTHORIZED, "jwt_not_expired")
    assert entry["status"] == 401
    assert_refused(client, poll_response(client, jwt, session_id), UNAUTHORIZED, "jwt_not_expired")
    body = {"displayName": "Guest", "clientType": "web", "sessionParameters": {}}
    assert_refused(
        client,
        client.post(f"{SDK_BASE}/sessions", json=body, headers=sdk_headers(jwt)),
        UNAUTHORIZED,
        "jwt_not_expired",
    )


@pytest.mark.inprocess
def test_chat_jwt_over_max_token_bytes_is_forbidden(client: httpx.Client, tmp_path: Path) -> None:
    """[emulator] maxTokenBytes caps chat JWTs too (size checked before parsing, jwt_format): with a 1024-byte cap
    a chat JWT for a long customerId and customerName answers 403, while the same token passes on the default
    configuration (64 KiB) and a short one passes under the small cap."""
    config = tmp_path / "small-tokens.toml"
    config.write_text('extends = "default"\n\n[emulator]\nmaxTokenBytes = 1024\n')
    body = {"displayName": "Guest", "clientType": "web", "sessionParameters": {}}
    with emulator_client(config) as small:
        short = chat_jwt(small, "c")
        long = chat_jwt(small, "c" * 256, customerName="n" * 70)
        assert len(short) - len("jwt.") <= 1024 < len(long) - len("jwt.")
        assert small.post(f"{SDK_BASE}/sessions", json=body, headers=sdk_headers(short)).status_code == 201
        refused = small.post(f"{SDK_BASE}/sessions", json=body, headers=sdk_headers(long))
        entry = assert_refused(small, refused, FORBIDDEN, "jwt_format")
        assert f"token is {len(long) - len('jwt.')} bytes, over the 1024-byte cap" in entry["summary"]
    accepted = client.post(f"{SDK_BASE}/sessions", json=body, headers=sdk_headers(long))
    assert accepted.status_code == 201, accepted.text


@pytest.mark.parametrize(("appkey", "case"), [(None, "missing"), ("TEST-ONLY-appkey-ZZZZZZ", "wrong")])
def test_appkey_is_required_on_sdk_calls(client: httpx.Client, appkey: str | None, case: str) -> None:
    """Without the integration account's appkey (init's `appkey`), every SDK call answers the gateway's 401
    "...credentials(Appkey)", before the JWT is even looked at."""
    jwt = chat_jwt(client, "appkey-customer")
    session_id = create_session(client, jwt)["sessionId"]
    headers = {"Authorization": f"Bearer {jwt}", **({"appkey": appkey} if appkey else {})}
    entry = assert_refused(
        client, client.get(f"{SDK_BASE}/sessions/{session_id}", headers=headers), UNAUTHORIZED_APPKEY, "appkey"
    )
    assert ("no 'appkey' header" in entry["summary"]) is (case == "missing")
    garbage = {"Authorization": "Bearer jwt.garbage", **({"appkey": appkey} if appkey else {})}
    assert_refused(
        client, client.get(f"{SDK_BASE}/sessions/{session_id}/events", headers=garbage), UNAUTHORIZED_APPKEY, "appkey"
    )


def test_unknown_integration_is_not_found(client: httpx.Client) -> None:
    """An integrationId in the path that no account has answers the gateway's 404 (integration_exists)."""
    jwt = chat_jwt(client, "lost-customer")
    path = f"/avaya/sdk/digital/chat/v1/integrations/{uuid.uuid4()}/sessions"
    body = {"displayName": "Guest", "clientType": "web", "sessionParameters": {}}
    assert_refused(
        client, client.post(path, json=body, headers=sdk_headers(jwt)), RESOURCE_NOT_FOUND, "integration_exists"
    )


def test_unknown_session_is_session_not_found(client: httpx.Client) -> None:
    """An unknown sessionId answers 404 with detail exactly "Session not found" (the SDK's
    CLIENT_SESSION_INVALIDATED), on GET, DELETE, the events poll and as the sessionId of a new engagement."""
    jwt = chat_jwt(client, "forgetful")
    unknown = str(uuid.uuid4())
    headers = sdk_headers(jwt)
    assert_refused(client, get_session(client, jwt, unknown), SESSION_NOT_FOUND, "session_known")
    assert_refused(
        client, client.delete(f"{SDK_BASE}/sessions/{unknown}", headers=headers), SESSION_NOT_FOUND, "session_known"
    )
    assert_refused(client, poll_response(client, jwt, unknown), SESSION_NOT_FOUND, "session_known")
    body = {"sessionId": unknown, "engagementParameters": {}}
    assert_refused(
        client, client.post(f"{SDK_BASE}/engagements", json=body, headers=headers), SESSION_NOT_FOUND, "session_known"
    )


def test_another_customers_jwt_is_forbidden_on_sessions_and_engagements(client: httpx.Client) -> None:
    """A valid chat JWT of customer Bob cannot read, poll, delete or chat on Alice's session (session_owner) nor
    touch her engagement (engagement_owner): 403 each time, and Alice's chat is untouched."""
    alice, bob = chat_jwt(client, "alice"), chat_jwt(client, "bob")
    session_id, engagement = start_chat(client, alice)
    bob_session = create_session(client, bob)["sessionId"]
    engagement_path = f"{SDK_BASE}/engagements/{engagement['engagementId']}"

    assert_refused(client, get_session(client, bob, session_id), FORBIDDEN, "session_owner")
    assert_refused(client, poll_response(client, bob, session_id), FORBIDDEN, "session_owner")
    assert_refused(
        client, client.delete(f"{SDK_BASE}/sessions/{session_id}", headers=sdk_headers(bob)), FORBIDDEN, "session_owner"
    )
    body = {"sessionId": session_id, "engagementParameters": {}}
    assert_refused(
        client, client.post(f"{SDK_BASE}/engagements", json=body, headers=sdk_headers(bob)), FORBIDDEN, "session_owner"
    )

    assert_refused(client, client.get(engagement_path, headers=sdk_headers(bob)), FORBIDDEN, "engagement_owner")
    join = {"dialogId": dialog_of(engagement), "sessionId": bob_session}
    assert_refused(
        client,
        client.post(f"{engagement_path}:join", json=join, headers=sdk_headers(bob)),
        FORBIDDEN,
        "engagement_owner",
    )
    assert_refused(client, send_text(client, bob, engagement, bob_session, "hijack"), FORBIDDEN, "engagement_owner")
    listing = client.get(f"{engagement_path}/messages", headers=sdk_headers(bob))
    assert_refused(client, listing, FORBIDDEN, "engagement_owner")
    leave = {**join, "reason": "USER_CLOSED"}
    assert_refused(
        client,
        client.post(f"{engagement_path}:disconnect", json=leave, headers=sdk_headers(bob)),
        FORBIDDEN,
        "engagement_owner",
    )

    mine = get_session(client, alice, session_id)
    assert mine.status_code == 200
    assert [e["engagementId"] for e in mine.json()["engagements"]] == [engagement["engagementId"]]
    assert get_session(client, bob, bob_session).json()["engagements"] == []


# -- 3. several sessions per customer ---------------------------------------------------------------------------
def test_multiple_sessions_share_the_customers_engagements(client: httpx.Client) -> None:
    """Two tabs of one customer: an engagement created in tab A is listed by tab B (init's UserContext.engagements),
    B joins it (200, the engagement), gets the CUSTOMER's PARTICIPANT_ADDED, and both tabs then receive the
    customer's messages and the agent's echo, and the disconnection. Another customer's sessions never list it."""
    tab_a, tab_b = chat_jwt(client, "two-tabs"), chat_jwt(client, "two-tabs")
    session_a, engagement = start_chat(client, tab_a)
    engagement_id = engagement["engagementId"]

    opened = create_session(client, tab_b)
    session_b = opened["sessionId"]
    assert session_b != session_a
    assert [e["engagementId"] for e in opened["engagements"]] == [engagement_id]
    listed = get_session(client, tab_b, session_b).json()["engagements"]
    assert [(e["engagementId"], dialog_of(e)) for e in listed] == [(engagement_id, dialog_of(engagement))]
    assert listed[0]["dialogs"][0]["participants"] == engagement["dialogs"][0]["participants"]

    stranger = chat_jwt(client, "someone-else")
    assert create_session(client, stranger)["engagements"] == []

    join = {"dialogId": dialog_of(engagement), "sessionId": session_b}
    joined = client.post(f"{SDK_BASE}/engagements/{engagement_id}:join", json=join, headers=sdk_headers(tab_b))
    assert joined.status_code == 200, joined.text
    assert joined.json()["engagementId"] == engagement_id
    assert joined.json()["dialogs"][0]["dialogId"] == dialog_of(engagement)
    assert joined.json()["dialogs"][0]["dialogStatus"] == "ACTIVE"
    assert joined.json()["dialogs"][0]["participants"] == engagement["dialogs"][0]["participants"]
    (added,) = poll(client, tab_b, session_b)
    assert (added["eventType"], added["participant"]) == ("PARTICIPANT_ADDED", participant(engagement, "CUSTOMER"))
    assert (added["sessionId"], added["engagementId"]) == (session_b, engagement_id)

    sent = send_text(client, tab_a, engagement, session_a, "typed in tab A")
    assert sent.status_code == 201, sent.text
    in_b = events_until(client, tab_b, session_b, 2, added["eventId"])
    assert kinds(in_b) == [("MESSAGE", "CUSTOMER"), ("MESSAGE", "AGENT")]
    assert [e["sessionId"] for e in in_b] == [session_b, session_b]
    assert in_b[0]["message"]["messageId"] == sent.json()["messageId"]
    assert in_b[1]["message"]["body"] == text_body("typed in tab A")
    assert in_b[1]["message"]["parentMessageId"] == sent.json()["messageId"]
    # tab A's queue got the same messages at the same moments
    in_a = [e for e in poll(client, tab_a, session_a) if e["eventType"] == "MESSAGE"]
    assert [(e["message"]["messageId"], e["sessionId"]) for e in in_a] == [
        (e["message"]["messageId"], session_a) for e in in_b
    ]

    leave = {"dialogId": dialog_of(engagement), "sessionId": session_b, "reason": "USER_CLOSED"}
    left = client.post(f"{SDK_BASE}/engagements/{engagement_id}:disconnect", json=leave, headers=sdk_headers(tab_b))
    assert left.status_code == 204, left.text
    for jwt, session_id in ((tab_a, session_a), (tab_b, session_b)):
        assert kinds(poll(client, jwt, session_id)) == [
            ("PARTICIPANT_DISCONNECTED", "AGENT"),
            ("PARTICIPANT_DISCONNECTED", "CUSTOMER"),
        ]
        assert get_session(client, jwt, session_id).json()["engagements"] == []


# -- 4. events are consumed once ----------------------------------------------------------------------------------
def test_events_are_handed_out_once(client: httpx.Client) -> None:
    """A poll takes its session's pending events for good: the next poll, with no lastEventId (the SDK after an
    empty poll) or an old one, gets only what happened since."""
    jwt = chat_jwt(client, "once")
    session_id = create_session(client, jwt)["sessionId"]
    engagement = create_engagement(client, jwt, session_id)
    first = poll(client, jwt, session_id)
    assert kinds(first) == [("PARTICIPANT_ADDED", "CUSTOMER"), ("PARTICIPANT_ADDED", "AGENT")]

    sent = send_text(client, jwt, engagement, session_id, "ping")
    assert sent.status_code == 201
    mine = poll(client, jwt, session_id)  # no lastEventId
    assert [e["eventType"] for e in mine][:1] == ["MESSAGE"]
    assert mine[0]["message"]["messageId"] == sent.json()["messageId"]
    seen = {e["eventId"] for e in first + mine}
    rest = [] if len(mine) == 2 else poll(client, jwt, session_id, first[0]["eventId"])  # an old lastEventId
    events = mine + rest
    assert kinds(events) == [("MESSAGE", "CUSTOMER"), ("MESSAGE", "AGENT")]
    assert not {e["eventId"] for e in rest} & seen
    view = client.get("/_emulator/chats/avaya").json()["sessions"]
    assert [(s["pendingEvents"], s["deliveredEvents"]) for s in view] == [(0, 4)]


def short_poll_app(tmp_path: Path) -> httpx.Client:
    config = tmp_path / "short-poll.toml"
    config.write_text('extends = "default"\n\n[avaya]\nlongPollSeconds = 0.3\n')
    return emulator_client(config)


@pytest.mark.inprocess
def test_empty_poll_answers_an_empty_array_after_the_long_poll(tmp_path: Path) -> None:
    """With nothing pending, a poll waits longPollSeconds and answers 200 [] (the SDK then polls again); events
    already handed out are not repeated, with or without an old lastEventId."""
    with short_poll_app(tmp_path) as app:
        jwt = chat_jwt(app, "short")
        session_id = create_session(app, jwt)["sessionId"]
        create_engagement(app, jwt, session_id)
        first = poll(app, jwt, session_id)
        assert kinds(first) == [("PARTICIPANT_ADDED", "CUSTOMER"), ("PARTICIPANT_ADDED", "AGENT")]
        for last_event_id in (None, first[0]["eventId"], first[-1]["eventId"]):
            began = time.monotonic()
            response = poll_response(app, jwt, session_id, last_event_id)
            elapsed = time.monotonic() - began
            assert response.status_code == 200
            assert response.json() == []
            assert 0.25 <= elapsed < 2, elapsed
        view = app.get("/_emulator/chats/avaya").json()["sessions"]
        assert [(s["pendingEvents"], s["deliveredEvents"]) for s in view] == [(0, 2)]


def async_emulator() -> httpx.AsyncClient:
    """An async client: on the live server, or on a fresh in-process app (same default keys and accounts)."""
    if LIVE:
        return httpx.AsyncClient(base_url=os.environ[BASE_URL_ENV], timeout=30)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app()), base_url="http://emulator.local")


@pytest.mark.parametrize("ending", ["delete_session", "reset"])
def test_waiting_poll_answers_session_not_found_when_the_session_goes(client: httpx.Client, ending: str) -> None:
    """A long poll waiting on a session that gets deleted (shutdown in another tab, or an emulator reset) ends at
    once with 404 "Session not found", so the SDK stops its stream (CLIENT_SESSION_INVALIDATED)."""
    jwt = chat_jwt(client, "waiting")  # chat JWTs are stateless: any app with the default key accepts it
    headers = sdk_headers(jwt)

    async def scenario() -> tuple[httpx.Response, float, dict[str, Any]]:
        async with async_emulator() as emulator:
            created = await emulator.post(f"{SDK_BASE}/sessions", json={"clientType": "web"}, headers=headers)
            assert created.status_code == 201, created.text
            session_id = created.json()["sessionId"]
            waiting = asyncio.create_task(emulator.get(f"{SDK_BASE}/sessions/{session_id}/events", headers=headers))
            await asyncio.sleep(0.3)
            assert not waiting.done()
            began = time.monotonic()
            if ending == "reset":
                assert (await emulator.post("/_emulator/reset")).status_code == 200
            else:
                closed = await emulator.delete(
                    f"{SDK_BASE}/sessions/{session_id}", params={"reason": "USER_CLOSED"}, headers=headers
                )
                assert closed.status_code == 204
            response = await asyncio.wait_for(waiting, 10)
            elapsed = time.monotonic() - began
            journal = await emulator.get(f"/_emulator/journal/{response.headers['x-emulator-journal-id']}")
            assert journal.status_code == 200, journal.text  # recorded when the poll answered: after the reset
            return response, elapsed, journal.json()

    response, elapsed, entry = asyncio.run(scenario())
    assert elapsed < 3, elapsed
    assert response.status_code == 404
    assert response.json() == SESSION_NOT_FOUND
    assert response.headers["x-emulator-diagnosis"].startswith("session_known: ")
    assert entry["failedCheck"] == "session_known"
    assert entry["outcome"] == "rejected" and entry["status"] == 404 and entry["operation"] == "events"
    assert entry["summary"] == "session_known: the session was closed during the poll"


def test_a_newer_poll_supersedes_the_waiting_one(client: httpx.Client) -> None:
    """After a page reload the old page's keepalive poll is still open beside the new page's (seen with the real
    SDK in Chromium). The newer poll supersedes it: the old one answers [] at once, and the next event goes to
    the page that is still alive instead of being lost."""
    jwt = chat_jwt(client, "reloading")
    headers = sdk_headers(jwt)

    async def scenario() -> tuple[httpx.Response, httpx.Response, float]:
        async with async_emulator() as emulator:
            created = await emulator.post(f"{SDK_BASE}/sessions", json={"clientType": "web"}, headers=headers)
            session_id = created.json()["sessionId"]
            body = {"sessionId": session_id, "engagementParameters": {}}
            engagement = (await emulator.post(f"{SDK_BASE}/engagements", json=body, headers=headers)).json()
            events = f"{SDK_BASE}/sessions/{session_id}/events"
            assert len((await emulator.get(events, headers=headers)).json()) == 2  # the two PARTICIPANT_ADDED
            old_page = asyncio.create_task(emulator.get(events, params={"lastEventId": "x"}, headers=headers))
            await asyncio.sleep(0.3)
            new_page = asyncio.create_task(emulator.get(events, headers=headers))
            began = time.monotonic()
            orphan = await asyncio.wait_for(old_page, 5)
            superseded_after = time.monotonic() - began
            message = {
                "dialogId": engagement["dialogs"][0]["dialogId"],
                "sessionId": session_id,
                "body": text_body("sent right after the reload"),
            }
            sent = await emulator.post(
                f"{SDK_BASE}/engagements/{engagement['engagementId']}/messages", json=message, headers=headers
            )
            assert sent.status_code == 201
            entry = await emulator.get(f"/_emulator/journal/{orphan.headers['x-emulator-journal-id']}")
            assert "superseded by a newer poll" in entry.json()["summary"]
            return orphan, await asyncio.wait_for(new_page, 10), superseded_after

    orphan, alive, superseded_after = asyncio.run(scenario())
    assert orphan.status_code == 200 and orphan.json() == []
    assert superseded_after < 2
    assert [(e["eventType"], e["participant"]["participantType"]) for e in alive.json()] == [("MESSAGE", "CUSTOMER")]


# -- 5. disconnect -----------------------------------------------------------------------------------------------
def test_disconnect_terminates_the_engagement(client: httpx.Client) -> None:
    """Engagement.disconnect(): 204, PARTICIPANT_DISCONNECTED for the AGENT then the CUSTOMER (the SDK's
    ENGAGEMENT_TERMINATED), and the engagement is gone: GET, messages, join and a second disconnect answer 404
    (engagement_known, the SDK's ACS-314) and the session no longer lists it."""
    jwt = chat_jwt(client, "leaving")
    session_id, engagement = start_chat(client, jwt)
    path = f"{SDK_BASE}/engagements/{engagement['engagementId']}"
    leave = {"dialogId": dialog_of(engagement), "sessionId": session_id, "reason": "USER_CLOSED"}
    response = client.post(f"{path}:disconnect", json=leave, headers=sdk_headers(jwt))
    assert response.status_code == 204, response.text
    assert response.content == b""

    events = poll(client, jwt, session_id)
    assert [(e["eventType"], e["participant"]) for e in events] == [
        ("PARTICIPANT_DISCONNECTED", participant(engagement, "AGENT")),
        ("PARTICIPANT_DISCONNECTED", participant(engagement, "CUSTOMER")),
    ]
    assert {e["engagementId"] for e in events} == {engagement["engagementId"]}

    assert_refused(client, client.get(path, headers=sdk_headers(jwt)), ENGAGEMENT_NOT_FOUND, "engagement_known")
    assert get_session(client, jwt, session_id).json()["engagements"] == []
    assert_refused(
        client, send_text(client, jwt, engagement, session_id, "hello?"), ENGAGEMENT_NOT_FOUND, "engagement_known"
    )
    join = {"dialogId": dialog_of(engagement), "sessionId": session_id}
    assert_refused(
        client,
        client.post(f"{path}:join", json=join, headers=sdk_headers(jwt)),
        ENGAGEMENT_NOT_FOUND,
        "engagement_known",
    )
    assert_refused(
        client,
        client.post(f"{path}:disconnect", json=leave, headers=sdk_headers(jwt)),
        ENGAGEMENT_NOT_FOUND,
        "engagement_known",
    )
    chats = client.get("/_emulator/chats/avaya").json()["engagements"]
    assert [(e["engagementId"], e["status"], e["dialogs"][0]["dialogStatus"]) for e in chats] == [
        (engagement["engagementId"], "TERMINATED", "TERMINATED")
    ]


# -- 6. messages list --------------------------------------------------------------------------------------------
def test_message_pages_newest_first_with_absolute_next_links(client: httpx.Client) -> None:
    """getMessages(): pages of pageSize, newest first (orderBy=DSC) by messageIndex; links.next is an absolute URL
    of the same endpoint (the SDK fetches it as-is) while there are more, "" on the last page."""
    jwt = chat_jwt(client, "history")
    session_id, engagement = start_chat(client, jwt)
    for text in ("one", "two", "three"):
        assert send_text(client, jwt, engagement, session_id, text).status_code == 201
    events = events_until(client, jwt, session_id, 6)  # three messages, three echoes
    assert sorted(kinds(events)) == [("MESSAGE", "AGENT")] * 3 + [("MESSAGE", "CUSTOMER")] * 3
    path = f"{SDK_BASE}/engagements/{engagement['engagementId']}/messages"
    query = {"sessionId": session_id, "dialogId": dialog_of(engagement), "orderBy": "DSC"}

    everything = client.get(path, params={**query, "pageSize": 50, "pageNumber": 1}, headers=sdk_headers(jwt)).json()
    assert everything["pagination"] == {"pageNumber": 1}
    assert everything["links"] == {"next": ""}
    history = everything["messages"]
    assert [m["messageIndex"] for m in history] == [6, 5, 4, 3, 2, 1]
    assert sorted(m["body"]["elementText"]["text"] for m in history) == sorted(["one", "two", "three"] * 2)
    assert {m["messageId"] for m in history} == {e["message"]["messageId"] for e in events}

    first = client.get(path, params={**query, "pageSize": 4, "pageNumber": 1}, headers=sdk_headers(jwt))
    assert first.status_code == 200, first.text
    page = first.json()
    assert page["messages"] == history[:4]
    assert page["pagination"] == {"pageNumber": 1}
    next_url = page["links"]["next"]
    parts = urlsplit(next_url)
    assert parts.scheme in ("http", "https")
    assert next_url.startswith(str(client.base_url).rstrip("/") + path + "?")
    assert parse_qs(parts.query) == {
        "sessionId": [session_id],
        "dialogId": [dialog_of(engagement)],
        "orderBy": ["DSC"],
        "pageSize": ["4"],
        "pageNumber": ["2"],
    }

    second = client.get(next_url, headers=sdk_headers(jwt))  # as-is, like the SDK
    assert second.status_code == 200, second.text
    assert second.json() == {"messages": history[4:], "pagination": {"pageNumber": 2}, "links": {"next": ""}}


@pytest.mark.parametrize(
    "value", [None, "abc", "0", "-3", "²", "١"], ids=["absent", "abc", "0", "-3", "super2", "arabic1"]
)
def test_message_page_parameters_other_than_ascii_digits_fall_back_to_the_defaults(
    client: httpx.Client, value: str | None
) -> None:
    """A pageSize or pageNumber that is not a positive ASCII integer is ignored: pageSize 10, pageNumber 1. '²'
    passes str.isdigit() but int() refuses it: it answered 500; '١' (Arabic-Indic 1) was read as 1."""
    jwt = chat_jwt(client, "odd-pages")
    session_id, engagement = start_chat(client, jwt)
    for text in ("one", "two", "three", "four", "five", "six"):
        assert send_text(client, jwt, engagement, session_id, text).status_code == 201
    events_until(client, jwt, session_id, 12)  # six messages, six echoes
    path = f"{SDK_BASE}/engagements/{engagement['engagementId']}/messages"
    query = {"sessionId": session_id, "dialogId": dialog_of(engagement), "orderBy": "DSC"}
    odd = {} if value is None else {"pageSize": value}

    by_size = client.get(path, params={**query, **odd, "pageNumber": "1"}, headers=sdk_headers(jwt))
    assert by_size.status_code == 200, by_size.text
    page = by_size.json()
    assert [m["messageIndex"] for m in page["messages"]] == [12, 11, 10, 9, 8, 7, 6, 5, 4, 3]
    assert page["pagination"] == {"pageNumber": 1}
    assert parse_qs(urlsplit(page["links"]["next"]).query) == {
        "sessionId": [session_id],
        "dialogId": [dialog_of(engagement)],
        "orderBy": ["DSC"],
        "pageSize": ["10"],
        "pageNumber": ["2"],
    }

    odd = {} if value is None else {"pageNumber": value}
    by_number = client.get(path, params={**query, "pageSize": "5", **odd}, headers=sdk_headers(jwt))
    assert by_number.status_code == 200, by_number.text
    page = by_number.json()
    assert [m["messageIndex"] for m in page["messages"]] == [12, 11, 10, 9, 8]
    assert page["pagination"] == {"pageNumber": 1}
    assert parse_qs(urlsplit(page["links"]["next"]).query)["pageNumber"] == ["2"]


# -- 7. session GET/DELETE -----------------------------------------------------------------------------------------
def test_deleted_session_is_gone_but_its_engagements_stay(client: httpx.Client) -> None:
    """shutdown() / idle: DELETE ?reason= answers 204 and the session is gone (GET, poll, DELETE: 404 "Session
    not found"); its engagements live on for the customer's other sessions, which can join and chat."""
    jwt = chat_jwt(client, "closing")
    session_id, engagement = start_chat(client, jwt)
    other = create_session(client, jwt)["sessionId"]
    closed = client.delete(
        f"{SDK_BASE}/sessions/{session_id}", params={"reason": "USER_INACTIVE"}, headers=sdk_headers(jwt)
    )
    assert closed.status_code == 204, closed.text
    assert closed.content == b""
    assert_refused(client, get_session(client, jwt, session_id), SESSION_NOT_FOUND, "session_known")
    assert_refused(client, poll_response(client, jwt, session_id), SESSION_NOT_FOUND, "session_known")
    again = client.delete(
        f"{SDK_BASE}/sessions/{session_id}", params={"reason": "USER_CLOSED"}, headers=sdk_headers(jwt)
    )
    assert_refused(client, again, SESSION_NOT_FOUND, "session_known")
    assert_refused(
        client, send_text(client, jwt, engagement, session_id, "from a closed tab"), SESSION_NOT_FOUND, "session_known"
    )

    survivor = get_session(client, jwt, other)
    assert survivor.status_code == 200
    assert [e["engagementId"] for e in survivor.json()["engagements"]] == [engagement["engagementId"]]
    engagement_view = client.get(f"{SDK_BASE}/engagements/{engagement['engagementId']}", headers=sdk_headers(jwt))
    assert engagement_view.status_code == 200
    assert engagement_view.json()["dialogs"][0]["dialogStatus"] == "ACTIVE"
    join = {"dialogId": dialog_of(engagement), "sessionId": other}
    joined = client.post(
        f"{SDK_BASE}/engagements/{engagement['engagementId']}:join", json=join, headers=sdk_headers(jwt)
    )
    assert joined.status_code == 200, joined.text
    assert send_text(client, jwt, engagement, other, "from the other tab").status_code == 201
    assert kinds(events_until(client, jwt, other, 3)) == [
        ("PARTICIPANT_ADDED", "CUSTOMER"),
        ("MESSAGE", "CUSTOMER"),
        ("MESSAGE", "AGENT"),
    ]
    assert [s["sessionId"] for s in client.get("/_emulator/chats/avaya").json()["sessions"]] == [other]


# -- 8. validation of SDK bodies -------------------------------------------------------------------------------
TEXT_SIZE = ("body.elementText.text", "size must be between 1 and 4096", 20003)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"body": text_body("")}, TEXT_SIZE),
        ({"body": text_body("x" * 4097)}, TEXT_SIZE),
        ({"body": {"elementType": "TEXT"}}, TEXT_SIZE),
        ({"dialogId": str(uuid.uuid4())}, ("dialogId", "must be the engagement's dialog", 20006)),
        ({"dialogId": None}, ("dialogId", "must not be null", 20002)),
        ({"sessionId": None}, ("sessionId", "must not be null", 20002)),
    ],
    ids=["empty_text", "4097_characters", "no_text", "wrong_dialog", "no_dialog", "no_session"],
)
def test_invalid_message_is_a_constraint_violation(
    client: httpx.Client, overrides: dict[str, Any], expected: tuple[str, str, int]
) -> None:
    """sendMessage() accepts 1-4096 characters on the engagement's own dialog; anything else answers 400
    Constraint Violation naming the field (request_body), and nothing is stored."""
    jwt = chat_jwt(client, "validating")
    session_id, engagement = start_chat(client, jwt)
    response = send_text(client, jwt, engagement, session_id, "unused", **overrides)
    assert_refused(client, response, violation_body(*expected), "request_body")
    assert client.get("/_emulator/chats/avaya").json()["engagements"][0]["messages"] == []


@pytest.mark.parametrize("action", [":join", ":disconnect"])
@pytest.mark.parametrize("missing", ["sessionId", "dialogId"])
def test_engagement_actions_need_their_session_and_dialog(client: httpx.Client, action: str, missing: str) -> None:
    """join/disconnect bodies without sessionId or dialogId (the SDK always sends both) are 400 NotNull."""
    jwt = chat_jwt(client, "actions")
    session_id, engagement = start_chat(client, jwt)
    body = {"dialogId": dialog_of(engagement), "sessionId": session_id, "reason": "USER_CLOSED"}
    del body[missing]
    response = client.post(
        f"{SDK_BASE}/engagements/{engagement['engagementId']}{action}", json=body, headers=sdk_headers(jwt)
    )
    assert_refused(client, response, violation_body(missing, "must not be null", 20002), "request_body")


def test_longest_message_is_accepted(client: httpx.Client) -> None:
    """4096 characters, the SDK's maximum, are accepted."""
    jwt = chat_jwt(client, "verbose")
    session_id, engagement = start_chat(client, jwt)
    response = send_text(client, jwt, engagement, session_id, "y" * 4096)
    assert response.status_code == 201, response.text
    assert response.json()["body"] == text_body("y" * 4096)


def test_session_and_engagement_bodies_are_validated(client: httpx.Client) -> None:
    """init()'s displayName (<= 70) and sessionParameters / engagementParameters (MappedData: <= 20 string
    values) are checked like the SDK checks them: 400 Constraint Violation naming the field."""
    jwt = chat_jwt(client, "params")
    headers = sdk_headers(jwt)
    long_name = {"displayName": "n" * 71, "clientType": "web", "sessionParameters": {}}
    assert_refused(
        client,
        client.post(f"{SDK_BASE}/sessions", json=long_name, headers=headers),
        violation_body("displayName", "size must be between 0 and 70", 20003),
        "request_body",
    )
    too_many = {"displayName": "Guest", "clientType": "web", "sessionParameters": {f"k{i}": "v" for i in range(21)}}
    assert_refused(
        client,
        client.post(f"{SDK_BASE}/sessions", json=too_many, headers=headers),
        violation_body("sessionParameters", "must be at most 20 string values", 20003),
        "request_body",
    )
    for display_name in (42, True, ["Guest"], {"first": "Guest"}):
        not_a_string = {"displayName": display_name, "clientType": "web", "sessionParameters": {}}
        entry = assert_refused(
            client,
            client.post(f"{SDK_BASE}/sessions", json=not_a_string, headers=headers),
            violation_body("displayName", "size must be between 0 and 70", 20003),
            "request_body",
        )
        assert entry["summary"] == "request_body: displayName is not a string of <= 70", entry["summary"]
    assert client.get("/_emulator/chats/avaya").json()["sessions"] == []
    no_name = client.post(f"{SDK_BASE}/sessions", json={"displayName": None, "clientType": "web"}, headers=headers)
    assert no_name.status_code == 201, no_name.text  # null is no displayName, not a wrong one
    session_id = create_session(client, jwt, "n" * 70)["sessionId"]
    not_strings = {"sessionId": session_id, "engagementParameters": {"count": 3}}
    assert_refused(
        client,
        client.post(f"{SDK_BASE}/engagements", json=not_strings, headers=headers),
        violation_body("engagementParameters", "must be at most 20 string values", 20003),
        "request_body",
    )


@pytest.mark.parametrize(
    ("content_type", "content", "expected", "check"),
    [
        ("application/json", b"{not json", BAD_REQUEST, "body_json"),
        ("application/json", b'["a", "list"]', BAD_REQUEST, "body_json"),
        ("text/plain", b'{"sessionId": "x"}', UNSUPPORTED_MEDIA_TYPE, "content_type"),
        (None, b'{"sessionId": "x"}', UNSUPPORTED_MEDIA_TYPE, "content_type"),
    ],
    ids=["malformed_json", "json_array", "text_plain", "no_content_type"],
)
def test_sdk_posts_must_be_json_objects(
    client: httpx.Client, content_type: str | None, content: bytes, expected: dict[str, Any], check: str
) -> None:
    """The SDK always POSTs a JSON object with Content-Type: application/json: another media type answers 415,
    unparseable JSON or a non-object 400 Bad Request (the gateway's malformed-payload answer)."""
    jwt = chat_jwt(client, "malformed")
    _, engagement = start_chat(client, jwt)
    headers = sdk_headers(jwt) | ({"Content-Type": content_type} if content_type else {})
    for path in (f"{SDK_BASE}/sessions", f"{SDK_BASE}/engagements/{engagement['engagementId']}/messages"):
        assert_refused(client, client.post(path, content=content, headers=headers), expected, check)
    assert len(client.get("/_emulator/chats/avaya").json()["sessions"]) == 1


SDK_BODY_LIMIT = 64 * 1024  # [EMU] the emulator's cap on an SDK request body, in bytes


def padded(body: dict[str, Any], size: int) -> bytes:
    """``body`` as JSON, padded with trailing whitespace (still the same JSON object) to exactly ``size`` bytes."""
    text = json.dumps(body).encode()
    assert len(text) <= size
    return text + b" " * (size - len(text))


def test_sdk_body_over_64_kib_is_bad_request(client: httpx.Client) -> None:
    """An SDK POST body over 64 KiB answers 400 Bad Request (body_json) before it is parsed, on sessions and
    messages, and creates nothing; exactly 64 KiB is read (the cap is inclusive)."""
    jwt = chat_jwt(client, "oversized")
    session_id, engagement = start_chat(client, jwt)
    headers = sdk_headers(jwt) | {"Content-Type": "application/json"}
    session = {"displayName": "Guest", "clientType": "web", "sessionParameters": {}}
    message = {"dialogId": dialog_of(engagement), "sessionId": session_id, "body": text_body("big")}
    messages = f"{SDK_BASE}/engagements/{engagement['engagementId']}/messages"
    for path, body in ((f"{SDK_BASE}/sessions", session), (messages, message)):
        response = client.post(path, content=padded(body, SDK_BODY_LIMIT + 1), headers=headers)
        entry = assert_refused(client, response, BAD_REQUEST, "body_json")
        assert entry["summary"] == "body_json: request body is over the 65536-byte limit", entry["summary"]
        assert entry["status"] == 400
    view = client.get("/_emulator/chats/avaya").json()
    assert len(view["sessions"]) == 1
    assert client.get(messages, headers=sdk_headers(jwt)).json()["messages"] == []
    created = client.post(f"{SDK_BASE}/sessions", content=padded(session, SDK_BODY_LIMIT), headers=headers)
    assert created.status_code == 201, (created.text, created.headers.get("x-emulator-diagnosis"))
    sent = client.post(messages, content=padded(message, SDK_BODY_LIMIT), headers=headers)
    assert sent.status_code == 201, (sent.text, sent.headers.get("x-emulator-diagnosis"))


# -- 9. browser access -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "suffix"), [("POST", "/engagements/e-1/messages"), ("GET", "/sessions/s-1/events")])
def test_cors_preflight_allows_the_sdks_headers_from_any_origin(client: httpx.Client, method: str, suffix: str) -> None:
    """A page on another origin (even a public site calling a private-network emulator) may send the SDK's
    headers: the preflight allows Authorization, appkey, Content-Type and x-route-request, and answers
    Access-Control-Allow-Private-Network: true when asked."""
    response = client.options(
        SDK_BASE + suffix,
        headers={
            "Origin": "https://shop.brand.example",
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,appkey,content-type,x-route-request",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] in ("*", "https://shop.brand.example")
    assert method in [m.strip() for m in response.headers["access-control-allow-methods"].split(",")]
    allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "appkey", "content-type", "x-route-request"} <= allowed
    assert response.headers["access-control-allow-private-network"] == "true"


def test_cross_origin_answers_expose_the_diagnosis(client: httpx.Client) -> None:
    """Real answers to another origin carry Access-Control-Allow-Origin and expose X-Emulator-Diagnosis, so the
    page's script (and the developer) can read why a call was refused; the disconnection-check poll with
    x-route-request works like any poll."""
    jwt = chat_jwt(client, "browser")
    session_id = create_session(client, jwt)["sessionId"]
    create_engagement(client, jwt, session_id)
    origin = {"Origin": "https://shop.brand.example"}
    refused = client.get(f"{SDK_BASE}/sessions/{uuid.uuid4()}", headers=sdk_headers(jwt) | origin)
    assert_refused(client, refused, SESSION_NOT_FOUND, "session_known")
    assert refused.headers["access-control-allow-origin"] in ("*", "https://shop.brand.example")
    exposed = {h.strip().lower() for h in refused.headers["access-control-expose-headers"].split(",")}
    assert "x-emulator-diagnosis" in exposed
    check = client.get(
        f"{SDK_BASE}/sessions/{session_id}/events", headers=sdk_headers(jwt) | origin | {"x-route-request": session_id}
    )
    assert check.status_code == 200, check.text
    assert kinds(check.json()) == [("PARTICIPANT_ADDED", "CUSTOMER"), ("PARTICIPANT_ADDED", "AGENT")]
    assert check.headers["access-control-allow-origin"] in ("*", "https://shop.brand.example")


# -- 10. the runtime view --------------------------------------------------------------------------------------
def test_chats_view_shows_sessions_engagements_and_messages(client: httpx.Client) -> None:
    """GET /_emulator/chats/avaya shows each session (its customer, pending and delivered events) and each
    engagement with its status, sessions and messages, the agent's echo included."""
    jwt = chat_jwt(client, "watched")
    session_id, engagement = start_chat(client, jwt)
    sent = send_text(client, jwt, engagement, session_id, "look at me")
    assert sent.status_code == 201
    events_until(client, jwt, session_id, 2)
    idle = create_session(client, jwt)["sessionId"]

    view = client.get("/_emulator/chats/avaya").json()
    sessions = {s["sessionId"]: s for s in view["sessions"]}
    assert sessions == {
        session_id: {
            "sessionId": session_id,
            "customer": [ACCOUNT, INTEGRATION, "watched"],
            "pendingEvents": 0,
            "deliveredEvents": 4,
        },
        idle: {
            "sessionId": idle,
            "customer": [ACCOUNT, INTEGRATION, "watched"],
            "pendingEvents": 0,
            "deliveredEvents": 0,
        },
    }
    (shown,) = view["engagements"]
    assert shown["engagementId"] == engagement["engagementId"]
    assert shown["customer"] == [ACCOUNT, INTEGRATION, "watched"]
    assert shown["status"] == "ACTIVE"
    assert shown["sessions"] == [session_id]
    assert shown["dialogs"][0]["participants"] == engagement["dialogs"][0]["participants"]
    assert [(m["participantType"], m["body"]["elementText"]["text"], m["messageIndex"]) for m in shown["messages"]] == [
        ("CUSTOMER", "look at me", 1),
        ("AGENT", "look at me", 2),
    ]
    assert shown["messages"][0] == sent.json()
