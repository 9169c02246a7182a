"""Live Assist after authentication: chats, the Authentication Expiration Flow, resuming, the agent view, reset.

The emulator clock is frozen and moved (POST /_emulator/clock) so expiry happens on demand. id_tokens are RS256
JWS built with raw ``cryptography`` (tests/tokens.py), signed with the demo brand key of the fixture connector.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from emulator.app import create_app
from emulator.testing import BASE_URL_ENV
from tests import tokens
from tests.conftest import FIXTURE_KEYS, LIVE, random_project_id
from tests.tokens import jws

# Vendor values, written out here (not imported from the emulator).
ACCOUNT = "12345678"  # default fixtures: implicit flow, demo brand key, default clockSkew 30
ISSUER = "https://brand.example"
FAILED = {"error": "authentication_failed", "outcome": "offline-survey"}
EXPIRED = {"error": "token_expired", "outcome": "reauthenticate"}
API = {"v": "1", "NC": "true"}
CHAT_NOT_FOUND = {"error": "chat_not_found"}
BODY_LIMIT = 128 * 1024  # [EMU] the emulator's cap on a Live Assist request body, in bytes


@pytest.fixture(scope="session")
def brand() -> Any:
    return tokens.load_private(FIXTURE_KEYS / "liveassist-brand-demo.private.pem")


@pytest.fixture
def at(client: httpx.Client, now: float) -> int:
    """The emulator clock, frozen at a whole second."""
    frozen = int(now)
    assert client.post("/_emulator/clock", json={"freeze": frozen}).json()["now"] == frozen
    return frozen


def advance(client: httpx.Client, seconds: float) -> float:
    response = client.post("/_emulator/clock", json={"advance": seconds})
    assert response.status_code == 200
    return float(response.json()["now"])


def id_token(brand: Any, sub: str, iat: int, exp: int, **claims: Any) -> str:
    return jws({"iss": ISSUER, "iat": iat, "exp": exp, "sub": sub, **claims}, brand, header={"alg": "RS256"})


def authenticate(client: httpx.Client, sso_key: str, account: str = ACCOUNT, **more: Any) -> httpx.Response:
    body = {"ssoKey": sso_key, "engagementId": 567609310, "LETagSessionId": "90o5l5twRUGu1rN7bzwNMA", **more}
    return client.post(f"/liveassist/api/account/{account}/conversation.json", params=API, json=body)


def accepted(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 200, (response.text, response.headers.get("x-emulator-diagnosis"))
    return response.json()


def chat_request(client: httpx.Client, auth: dict[str, Any], account: str = ACCOUNT) -> httpx.Response:
    """The Server Chat API chat request, with the participantId/conversationId of the authentication."""
    body = {"request": {"skill": "sales", "LETagSessionId": "90o5l5twRUGu1rN7bzwNMA", "language": "en-US", **auth}}
    return client.post(f"/liveassist/api/account/{account}/chat/request", params=API, json=body)


def start_chat(client: httpx.Client, auth: dict[str, Any], account: str = ACCOUNT) -> str:
    """A new chat; its URI (the Location header)."""
    response = chat_request(client, auth, account)
    assert response.status_code == 201, response.text
    location = response.headers["location"]
    chat_id = response.json()["chatId"]
    assert httpx.URL(location).path == f"/liveassist/api/account/{account}/chat/{chat_id}"
    assert httpx.URL(location).params == httpx.QueryParams(API)
    return location


def get_chat(client: httpx.Client, location: str) -> httpx.Response:
    url = httpx.URL(location)
    return client.get(url.path, params=url.params)


def journal(client: httpx.Client, response: httpx.Response) -> dict[str, Any]:
    return client.get(f"/_emulator/journal/{response.headers['x-emulator-journal-id']}").json()


def assert_refused(
    client: httpx.Client, response: httpx.Response, check: str, body: dict[str, str] = FAILED
) -> dict[str, Any]:
    """Live Assist's answer, and the named check in the X-Emulator-Diagnosis header and the journal entry."""
    assert response.status_code == 401, response.text
    assert response.json() == body
    assert response.headers["x-emulator-diagnosis"].startswith(f"{check}: "), response.headers["x-emulator-diagnosis"]
    entry = journal(client, response)
    assert entry["failedCheck"] == check and entry["outcome"] == "rejected"
    return entry


def agent(client: httpx.Client, conversation_id: str) -> dict[str, Any]:
    response = client.get(f"/_emulator/agent/liveassist/{conversation_id}")
    assert response.status_code == 200, response.text
    return response.json()


# -- 1. clock-driven expiry and refresh ----------------------------------------------------------------------------
def test_chats_work_until_exp_then_ask_for_a_refreshed_token(client: httpx.Client, brand: Any, at: int) -> None:
    """The conversation carries the token's exp: chats work before it; at exp both chat endpoints answer
    401 token_expired / reauthenticate (failedCheck authentication_expired) and the agent sees it expired."""
    auth = accepted(authenticate(client, id_token(brand, "alice", at, at + 60)))
    location = start_chat(client, auth)
    chat = get_chat(client, location)
    assert chat.status_code == 200, chat.text
    assert chat.json() == {
        "chatId": httpx.URL(location).path.rsplit("/", 1)[1],
        "conversationId": auth["conversationId"],
        "state": "chatting",
        "authenticated": True,
    }
    view = agent(client, auth["conversationId"])
    assert view["authenticated"] is True and view["authenticationStatus"] == "authenticated"
    assert view["expiresAt"] == at + 60 and view["acceptedUntil"] == at + 90 and view["secureIcon"] is True

    advance(client, 59)  # one second before exp: still authenticated
    assert get_chat(client, location).status_code == 200
    start_chat(client, auth)

    advance(client, 30)  # exp + 29 s: still within the connector's clockSkew (30 s), as in the id_token checks
    assert get_chat(client, location).status_code == 200
    advance(client, 1)  # exp + clockSkew: expired
    entry = assert_refused(client, chat_request(client, auth), "authentication_expired", EXPIRED)
    assert "must provide a refreshed token" in entry["summary"]
    assert_refused(client, get_chat(client, location), "authentication_expired", EXPIRED)
    view = agent(client, auth["conversationId"])
    assert view["authenticationStatus"] == "expired"
    assert view["authenticated"] is False and view["secureIcon"] is False
    assert view["sub"] == "alice" and len(view["chats"]) == 2


def test_reauthentication_resumes_the_same_conversation(client: httpx.Client, brand: Any, at: int) -> None:
    """After expiry, a fresh id_token for the same sub with the conversationId resumes the same conversation
    (a new participantId); chats work again and the agent view is authenticated again, its history saying so."""
    first = accepted(authenticate(client, id_token(brand, "alice", at, at + 60, given_name="Alice")))
    location = start_chat(client, first)
    advance(client, 120)
    assert_refused(client, get_chat(client, location), "authentication_expired", EXPIRED)

    fresh = id_token(brand, "alice", at + 120, at + 300, given_name="Alicia")
    response = authenticate(client, fresh, conversationId=first["conversationId"])
    second = accepted(response)
    assert second["conversationId"] == first["conversationId"]
    assert second["participantId"] != first["participantId"]
    entry = journal(client, response)
    assert entry["outcome"] == "accepted" and "resumed" in entry["summary"]
    assert entry["trace"]["warnings"] == []

    start_chat(client, second)
    assert get_chat(client, location).status_code == 200  # the conversation's earlier chat is usable again
    view = agent(client, first["conversationId"])
    assert view["authenticated"] is True and view["authenticationStatus"] == "authenticated"
    assert view["expiresAt"] == at + 300
    assert view["participants"] == [first["participantId"], second["participantId"]]
    assert [h["event"] for h in view["history"]] == ["authenticated", "resumed"]
    assert [h["at"] for h in view["history"]] == [at, at + 120]
    assert view["secureAttributes"]["personalInfo"]["firstname"] == "Alicia"  # the fresh token's claims

    advance(client, 180 + 30)  # the fresh token's exp plus the clock skew: expired again
    assert_refused(client, chat_request(client, second), "authentication_expired", EXPIRED)


def test_reauthentication_for_another_sub_starts_a_new_conversation(client: httpx.Client, brand: Any, at: int) -> None:
    """A token for another sub never resumes someone else's conversation: a new one, and the warning says why."""
    alice = accepted(authenticate(client, id_token(brand, "alice", at, at + 60)))
    advance(client, 91)  # past exp + clockSkew
    response = authenticate(client, id_token(brand, "bob", at + 91, at + 300), conversationId=alice["conversationId"])
    bob = accepted(response)
    assert bob["conversationId"] != alice["conversationId"]
    entry = journal(client, response)
    assert "started" in entry["summary"]
    warnings = entry["trace"]["warnings"]
    assert len(warnings) == 1
    assert f"conversation {alice['conversationId']} belongs to sub 'alice'; this token is for 'bob'" in warnings[0]
    assert "a new conversation was started" in warnings[0]
    assert agent(client, bob["conversationId"])["sub"] == "bob"
    start_chat(client, bob)
    old = agent(client, alice["conversationId"])
    assert old["authenticationStatus"] == "expired" and old["participants"] == [alice["participantId"]]
    assert_refused(client, chat_request(client, alice), "authentication_expired", EXPIRED)


def test_reauthentication_with_an_unknown_conversation(client: httpx.Client, brand: Any, at: int) -> None:
    """An unknown conversationId starts a new conversation, with a warning."""
    unknown = "ff0ff4f4-29ec-4eff-82d0-4f047cdc01a0"
    response = authenticate(client, id_token(brand, "alice", at, at + 60), conversationId=unknown)
    auth = accepted(response)
    assert auth["conversationId"] != unknown
    warnings = journal(client, response)["trace"]["warnings"]
    assert warnings == [f"conversation {unknown!r} is unknown: a new conversation was started"]
    assert [h["event"] for h in agent(client, auth["conversationId"])["history"]] == ["authenticated"]


def test_resume_is_per_account(client: httpx.Client, brand: Any, at: int) -> None:
    """The same sub at another account (another connector) does not resume this account's conversation."""
    other = random_project_id()
    connector = {"flow": "implicit", "issuer": ISSUER, "jwtPublicKey": tokens.public_pem(brand)}
    assert client.put(f"/_emulator/tenants/liveassist/{other}", json=connector).status_code == 201
    first = accepted(authenticate(client, id_token(brand, "alice", at, at + 60)))
    response = authenticate(
        client, id_token(brand, "alice", at, at + 60), other, conversationId=first["conversationId"]
    )
    second = accepted(response)
    assert second["conversationId"] != first["conversationId"]
    assert journal(client, response)["trace"]["warnings"], "a new conversation instead of the one asked for: say why"
    assert agent(client, second["conversationId"])["accountId"] == other


def test_resume_warning_names_the_account(client: httpx.Client, brand: Any, at: int) -> None:
    """When a conversation is not resumed because it is another account's, the warning says so."""
    other = random_project_id()
    connector = {"flow": "implicit", "issuer": ISSUER, "jwtPublicKey": tokens.public_pem(brand)}
    assert client.put(f"/_emulator/tenants/liveassist/{other}", json=connector).status_code == 201
    first = accepted(authenticate(client, id_token(brand, "alice", at, at + 60)))
    response = authenticate(
        client, id_token(brand, "alice", at, at + 60), other, conversationId=first["conversationId"]
    )
    (warning,) = journal(client, response)["trace"]["warnings"]
    assert "account" in warning and ACCOUNT in warning, warning


def test_token_accepted_within_skew_stays_usable_within_skew(client: httpx.Client, brand: Any, at: int) -> None:
    """The conversation expires at exp + clockSkew, the same leeway the id_token checks allow: a token that expired
    10 s ago authenticates and its chats work for the remaining 20 s of skew, then ask for a refreshed token."""
    token = id_token(brand, "alice", at - 100, at - 10)
    auth = accepted(authenticate(client, token))
    chat_request(client, auth).raise_for_status()
    view = agent(client, auth["conversationId"])
    assert view["authenticationStatus"] == "authenticated" and view["expiresAt"] == at - 10
    advance(client, 20)
    assert_refused(client, chat_request(client, auth), "authentication_expired", EXPIRED)


# -- 2. chat requests that are not authenticated -------------------------------------------------------------------
def test_chat_request_without_authentication(client: httpx.Client) -> None:
    """An authenticated engagement's chat request without a successful authentication goes to the offline survey."""
    response = client.post(f"/liveassist/api/account/{ACCOUNT}/chat/request", params=API, json={"request": {}})
    entry = assert_refused(client, response, "authenticated_participant")
    assert "Visitor Authentication Request must succeed first" in entry["summary"]
    unknown = {"participantId": "6f22cb2d-7e87-41dd-bc1f-d9b740f1f09f", "conversationId": "ff0ff4f4-29ec-4eff"}
    assert_refused(client, chat_request(client, unknown), "authenticated_participant")


def test_chat_request_with_mismatched_participant(client: httpx.Client, brand: Any, at: int) -> None:
    """A participantId only opens chats in its own conversation, and only at its own account."""
    alice = accepted(authenticate(client, id_token(brand, "alice", at, at + 60)))
    bob = accepted(authenticate(client, id_token(brand, "bob", at, at + 60)))
    mixed = {"participantId": alice["participantId"], "conversationId": bob["conversationId"]}
    assert_refused(client, chat_request(client, mixed), "authenticated_participant")
    assert_refused(client, chat_request(client, {"participantId": alice["participantId"]}), "authenticated_participant")
    other = random_project_id()
    connector = {"flow": "implicit", "issuer": ISSUER, "jwtPublicKey": tokens.public_pem(brand)}
    assert client.put(f"/_emulator/tenants/liveassist/{other}", json=connector).status_code == 201
    assert_refused(client, chat_request(client, alice, other), "authenticated_participant")
    start_chat(client, alice)  # the right pair still works


def test_chat_request_body_must_be_json(client: httpx.Client) -> None:
    """A chat request that is not a JSON object is refused like an unauthenticated one, naming the body."""
    path = f"/liveassist/api/account/{ACCOUNT}/chat/request"
    for response in (
        client.post(path, params=API, content=b"request=1", headers={"Content-Type": "text/plain"}),
        client.post(path, params=API, content=b"{", headers={"Content-Type": "application/json"}),
        client.post(path, params=API, json=[1]),
    ):
        assert_refused(client, response, "request_body")


def _padded(body: dict[str, Any], size: int) -> bytes:
    """``body`` as JSON, padded with trailing whitespace (still the same JSON object) to exactly ``size`` bytes."""
    text = json.dumps(body).encode()
    assert len(text) <= size
    return text + b" " * (size - len(text))


def post_chunked(path: str, data: bytes, content_type: str = "application/json") -> tuple[httpx.Response, Any]:
    """POST ``data`` chunked (Transfer-Encoding: chunked, no Content-Length), so the cap must hold while the body is
    read, not only on a declared length; the answer and its journal entry. On the live server, or on a fresh
    in-process app (the same default fixtures) since the in-process client's transport only sends bytes."""

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 16 * 1024):
            yield data[start : start + 16 * 1024]

    async def scenario() -> tuple[httpx.Response, Any]:
        if LIVE:
            emulator = httpx.AsyncClient(base_url=os.environ[BASE_URL_ENV], timeout=30)
        else:
            transport = httpx.ASGITransport(app=create_app())
            emulator = httpx.AsyncClient(transport=transport, base_url="http://emulator.local")
        async with emulator:
            response = await emulator.post(path, params=API, content=chunks(), headers={"Content-Type": content_type})
            assert "content-length" not in response.request.headers
            assert response.request.headers["transfer-encoding"] == "chunked"
            entry = await emulator.get(f"/_emulator/journal/{response.headers['x-emulator-journal-id']}")
            return response, entry.json()

    return asyncio.run(scenario())


# Bodies that are not a JSON object sent as application/json: (id, Content-Type or None, body, what the summary says)
BAD_BODIES: list[tuple[str, str | None, Any, str]] = [
    ("not JSON", "application/json", b"{", "the body is not JSON"),
    ("empty", "application/json", b"", "the body is empty"),
    ("not UTF-8", "application/json", b'{"ssoKey": "\xff"}', "the body is not UTF-8"),
    ("NaN", "application/json", b'{"ssoKey": NaN}', "the body is not JSON"),
    ("a JSON array", "application/json", b'[{"ssoKey": "x"}]', "the body is not a JSON object"),
    ("a JSON string", "application/json", b'"ssoKey"', "the body is not a JSON object"),
    ("null", "application/json", b"null", "the body is not a JSON object"),
    ("text/plain", "text/plain", b'{"ssoKey": "x"}', "Content-Type is not application/json"),
    ("form", "application/x-www-form-urlencoded", b"ssoKey=x", "Content-Type is not application/json"),
    ("no Content-Type", None, b'{"ssoKey": "x"}', "Content-Type is not application/json"),
    ("application/jsonp", "application/jsonp", b'{"ssoKey": "x"}', "Content-Type is not application/json"),
    ("over 128 KiB", "application/json", _padded({"ssoKey": "x"}, BODY_LIMIT + 1), "over the 131072-byte limit"),
]
ROUTES = ["conversation.json", "chat/request"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("content_type", "content", "says"), [b[1:] for b in BAD_BODIES], ids=[b[0] for b in BAD_BODIES]
)
def test_request_body_must_be_a_json_object(
    client: httpx.Client, route: str, content_type: str | None, content: bytes, says: str
) -> None:
    """Both POST endpoints take a JSON object of at most 128 KiB sent as application/json: anything else goes to
    the offline survey (401 authentication_failed), naming request_body, before any authentication runs."""
    headers = {"Content-Type": content_type} if content_type is not None else {}
    response = client.post(f"/liveassist/api/account/{ACCOUNT}/{route}", params=API, content=content, headers=headers)
    entry = assert_refused(client, response, "request_body")
    assert entry["status"] == 401
    assert entry["operation"] == ("visitor_authentication" if route == "conversation.json" else "chat_request")
    assert says in entry["summary"], entry["summary"]
    assert entry["trace"] is None  # refused before the authentication pipeline


@pytest.mark.parametrize("route", ROUTES)
def test_request_body_over_128_kib_chunked(route: str) -> None:
    """Sent chunked (no Content-Length to refuse on), a body one byte over 128 KiB is refused all the same."""
    data = _padded({"ssoKey": "x", "request": {}}, BODY_LIMIT + 1)
    response, entry = post_chunked(f"/liveassist/api/account/{ACCOUNT}/{route}", data)
    assert response.status_code == 401, response.text
    assert response.json() == FAILED
    assert response.headers["x-emulator-diagnosis"].startswith("request_body: ")
    assert entry["failedCheck"] == "request_body" and entry["outcome"] == "rejected" and entry["status"] == 401
    assert "over the 131072-byte limit" in entry["summary"], entry["summary"]


def test_request_body_of_exactly_128_kib_is_read(client: httpx.Client, brand: Any, at: int) -> None:
    """The cap is inclusive: a 128 KiB body (a JSON object padded with whitespace) authenticates and starts a chat;
    one byte more is refused (test_request_body_must_be_a_json_object); chunked, 128 KiB authenticates too."""
    body = {"ssoKey": id_token(brand, "alice", at, at + 60), "LETagSessionId": "90o5l5twRUGu1rN7bzwNMA"}
    auth = accepted(
        client.post(
            f"/liveassist/api/account/{ACCOUNT}/conversation.json",
            params=API,
            content=_padded(body, BODY_LIMIT),
            headers={"Content-Type": "application/json"},
        )
    )
    response = client.post(
        f"/liveassist/api/account/{ACCOUNT}/chat/request",
        params=API,
        content=_padded({"request": {"skill": "sales", **auth}}, BODY_LIMIT),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201, (response.text, response.headers.get("x-emulator-diagnosis"))
    response, entry = post_chunked(f"/liveassist/api/account/{ACCOUNT}/conversation.json", _padded(body, BODY_LIMIT))
    assert response.status_code == 200, (response.text, response.headers.get("x-emulator-diagnosis"))
    assert entry["outcome"] == "accepted" and entry["failedCheck"] is None


def assert_chat_not_found(client: httpx.Client, response: httpx.Response) -> dict[str, Any]:
    """404 chat_not_found, exactly; the failed check (chat_known) only in the diagnosis header and the journal."""
    assert response.status_code == 404, response.text
    assert response.json() == CHAT_NOT_FOUND
    assert response.headers["x-emulator-diagnosis"].startswith("chat_known: "), response.headers["x-emulator-diagnosis"]
    assert " | remedy: " in response.headers["x-emulator-diagnosis"]
    entry = journal(client, response)
    assert entry["failedCheck"] == "chat_known" and entry["outcome"] == "rejected"
    assert entry["status"] == 404 and entry["operation"] == "chat"
    assert entry["summary"].startswith("chat_known: ")
    return entry


def test_unknown_chat_is_404(client: httpx.Client, brand: Any, at: int) -> None:
    """An unknown chat, or a chat asked for at another account, is not found."""
    response = client.get(f"/liveassist/api/account/{ACCOUNT}/chat/7b4a6b5c-unknown", params=API)
    assert response.status_code == 404 and response.json() == {"error": "chat_not_found"}
    entry = assert_chat_not_found(client, response)
    assert "no chat/request at this account answered it" in entry["summary"]
    location = start_chat(client, accepted(authenticate(client, id_token(brand, "alice", at, at + 60))))
    chat_id = httpx.URL(location).path.rsplit("/", 1)[1]
    response = client.get(f"/liveassist/api/account/87654321/chat/{chat_id}", params=API)
    assert response.status_code == 404 and response.json() == {"error": "chat_not_found"}
    entry = assert_chat_not_found(client, response)
    assert f"chat {chat_id} is not one of account 87654321's: it was started at account {ACCOUNT}" in entry["summary"]
    assert entry["tenant"] == "87654321"


def test_agent_view_of_an_unknown_conversation_is_404(client: httpx.Client) -> None:
    """The agent view knows only conversations that authenticated."""
    assert client.get("/_emulator/agent/liveassist/ff0ff4f4-29ec-4eff-82d0-4f047cdc01a0").status_code == 404


# -- 3. reset ------------------------------------------------------------------------------------------------------
def test_reset_forgets_conversations_but_keeps_connectors(client: httpx.Client, brand: Any, at: int) -> None:
    """POST /_emulator/reset forgets conversations, participants and chats; registered connectors stay."""
    other = random_project_id()
    connector = {"flow": "implicit", "issuer": ISSUER, "jwtPublicKey": tokens.public_pem(brand), "clockSkew": 5}
    assert client.put(f"/_emulator/tenants/liveassist/{other}", json=connector).status_code == 201
    here = accepted(authenticate(client, id_token(brand, "alice", at, at + 60)))
    there = accepted(authenticate(client, id_token(brand, "alice", at, at + 60), other))
    location = start_chat(client, here)

    assert client.post("/_emulator/reset").status_code == 200
    for auth in (here, there):
        assert client.get(f"/_emulator/agent/liveassist/{auth['conversationId']}").status_code == 404
    assert_refused(client, chat_request(client, here), "authenticated_participant")
    assert get_chat(client, location).status_code == 404
    assert_chat_not_found(client, get_chat(client, location))

    view = client.get(f"/_emulator/tenants/liveassist/{other}")
    assert view.status_code == 200 and view.json()["clockSkew"] == 5
    assert client.get(f"/_emulator/tenants/liveassist/{ACCOUNT}").status_code == 200
    now = int(client.get("/_emulator/clock").json()["now"])  # reset put the clock back to real time
    accepted(authenticate(client, id_token(brand, "alice", now, now + 60), other))
    resumed = accepted(
        authenticate(client, id_token(brand, "alice", now, now + 60), conversationId=here["conversationId"])
    )
    assert resumed["conversationId"] != here["conversationId"]  # forgotten: a new conversation
