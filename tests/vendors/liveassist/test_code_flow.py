"""Live Assist's Web Code Flow: the emulator exchanges the page's authorization code at the brand's token endpoint.

The brand is either mocked with respx (the emulator's outbound call is intercepted in this process, so those tests
are ``inprocess``) or served for real over loopback: examples/brand_token_endpoint.py, a server that sleeps, or a
port where nothing listens (those run against a live emulator too). Every refusal asserts the exact answer, 401
{"error": "authentication_failed", "outcome": "offline-survey"}, and the named failed check in the
X-Emulator-Diagnosis header and the journal (research/liveassist.md §1.3-1.6, §6.4).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import httpx
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests import tokens
from tests.conftest import LIVE
from tests.vendors.liveassist.code_helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    DEFAULT_REDIRECT_URI,
    EXAMPLE_CLIENT_ID,
    EXAMPLE_CLIENT_SECRET,
    EXAMPLE_ISSUER,
    EXAMPLE_PUBLIC_PEM,
    ISSUER,
    SUB,
    TOKEN_ENDPOINT,
    VISITOR,
    CodeKit,
    assert_authenticated,
    assert_refused,
    chat_request_path,
    example_login,
    form_of,
    free_port,
    journal_entry,
    load_example_brand,
    s256,
    serve_app,
    spki_b64,
)

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 §4.1
AFTER_EXCHANGE = [
    "token_format",
    "jwe_alg",
    "jwe_enc",
    "jwe_kid",
    "jwe_decrypt",
    "jws_alg",
    "signing_key",
    "jws_signature",
    "claims_json",
    "issuer",
    "iat",
    "exp",
    "nbf",
    "sub",
]


# -- fixtures ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def brand_signing_key() -> Any:
    return tokens.new_rsa_key()


@pytest.fixture
def kit(client: httpx.Client, brand_signing_key: Any, other_key: Any, now: float) -> Iterator[CodeKit]:
    kit = CodeKit(client, brand_signing_key, other_key, now)
    yield kit
    kit.cleanup()


@pytest.fixture
def brand_mock() -> Iterator[respx.Route]:
    """POST https://brand.test/token, mocked: respx intercepts the emulator's outbound call (in this process)."""
    assert not LIVE, "respx cannot intercept a live server's calls: mark the test inprocess"
    with respx.mock(assert_all_called=False) as mock:
        yield mock.post(TOKEN_ENDPOINT)


@pytest.fixture(scope="module")
def example() -> ModuleType:
    return load_example_brand()


@pytest.fixture(scope="module")
def example_brand(example: ModuleType) -> Iterator[str]:
    """examples/brand_token_endpoint.py over loopback (signs only)."""
    with serve_app(example.create_app()) as url:
        yield url


@pytest.fixture(scope="module")
def example_brand_encrypting(example: ModuleType, client: httpx.Client) -> Iterator[str]:
    """The same brand, encrypting its id_tokens to the emulator's Live Assist key (GET /_emulator/keys/liveassist)."""
    pem = client.get("/_emulator/keys/liveassist").json()["pem"]
    with serve_app(example.create_app(encrypt_to=serialization.load_pem_public_key(pem.encode()))) as url:
        yield url


def _example_connector(kit: CodeKit, base_url: str, **fields: Any) -> str:
    """A connector for the example brand, configured as its docstring says (the demo key as PEM text)."""
    example = {
        "issuer": EXAMPLE_ISSUER,
        "jwtPublicKey": EXAMPLE_PUBLIC_PEM.read_text(),
        "tokenEndpoint": f"{base_url}/token",
        "clientId": EXAMPLE_CLIENT_ID,
        "clientSecret": EXAMPLE_CLIENT_SECRET,
    }
    return kit.register(kit.connector(**{**example, **fields}))


def _check(entry: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in entry["trace"]["checks"] if c["check"] == name)


# -- 1. the full code flow ---------------------------------------------------------------------------------------
@pytest.mark.inprocess
def test_code_flow_calls_the_brand_exactly_as_documented(kit: CodeKit, brand_mock: respx.Route) -> None:
    """The exchange is one POST, form-encoded, grant_type/code/redirect_uri only, HTTP Basic client_id:client_secret,
    Accept: application/json; its id_token authenticates the visitor: 200 {participantId, conversationId}."""
    account = kit.register()
    brand_mock.respond(
        200,
        json={"access_token": "NotApplicabale", "token_type": "Bearer", "id_token": kit.id_token(), "expires_in": 3600},
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )
    response = kit.authenticate(account, "b5bb9d8014a0f9b1d61e21e796d78dcc")
    body = assert_authenticated(kit.client, response)
    assert UUID.fullmatch(body["participantId"]) and UUID.fullmatch(body["conversationId"])

    assert brand_mock.call_count == 1
    sent = brand_mock.calls.last.request
    assert sent.method == "POST"
    assert str(sent.url) == TOKEN_ENDPOINT
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert sent.headers["accept"] == "application/json"
    expected_basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert sent.headers["authorization"] == f"Basic {expected_basic}"
    assert form_of(sent) == {
        "grant_type": ["authorization_code"],
        "code": ["b5bb9d8014a0f9b1d61e21e796d78dcc"],
        "redirect_uri": [DEFAULT_REDIRECT_URI],
    }

    entry = journal_entry(kit.client, response)
    assert entry["operation"] == "visitor_authentication"
    assert entry["tenant"] == account
    assert entry["trace"]["exchange"]["kind"] == "ok"
    assert entry["trace"]["exchange"]["status"] == 200
    assert _check(entry, "code_exchange")["status"] == "passed"
    assert CLIENT_SECRET not in response.text + str(entry)


@pytest.mark.inprocess
def test_agent_view_shows_the_verified_attributes_and_what_was_dropped(kit: CodeKit, brand_mock: respx.Route) -> None:
    """Standard claims and lp_sdes reach the agent as secure attributes (P1 mapping, P12 supported fields); the
    fields an authenticated flow does not support (storeZipCode, an mrktInfo SDE) are listed with the reason."""
    account = kit.register()
    claims = {
        "given_name": "Jane",
        "family_name": "Doe",
        "email": "jane.doe@brand.example",
        "phone_number": "+1-10-344-3765333",
        "preferred_username": "JaneD",
        "lp_sdes": [
            {
                "type": "ctmrinfo",
                "info": {
                    "cstatus": "cancelled",
                    "ctype": "vip",
                    "balance": -400.99,
                    "accountName": "bank corp",
                    "lastPaymentDate": {"day": 15, "month": 10, "year": 2014},
                    "storeZipCode": "20505",
                },
            },
            {"type": "mrktInfo", "info": {"channel": "1"}},
        ],
    }
    brand_mock.respond(200, json={"access_token": "NotApplicabale", "id_token": kit.id_token(**claims)})
    body = assert_authenticated(kit.client, kit.authenticate(account, "code-agent-view"))

    view = kit.client.get(f"/_emulator/agent/liveassist/{body['conversationId']}")
    assert view.status_code == 200, view.text
    agent = view.json()
    assert agent["conversationId"] == body["conversationId"]
    assert agent["accountId"] == account
    assert agent["flow"] == "code"
    assert agent["authenticated"] is True
    assert agent["authenticationStatus"] == "authenticated"
    assert agent["secureIcon"] is True
    assert agent["issuer"] == ISSUER
    assert agent["sub"] == SUB
    assert body["participantId"] in agent["participants"]
    personal = agent["secureAttributes"]["personalInfo"]
    assert personal["firstname"] == "Jane"
    assert personal["lastname"] == "Doe"
    assert personal["contacts"][0]["email"] == "jane.doe@brand.example"
    assert personal["contacts"][0]["phone"] == "+1-10-344-3765333"
    customer = agent["secureAttributes"]["customerInfo"]
    assert customer["customerId"] == SUB
    assert customer["userName"] == "JaneD"
    assert customer["cstatus"] == "cancelled"
    assert customer["ctype"] == "vip"
    assert customer["balance"] == -400.99
    assert customer["accountName"] == "bank corp"
    assert customer["lastPaymentDate"] == {"day": 15, "month": 10, "year": 2014}
    assert "storeZipCode" not in customer
    dropped = {d["field"]: d["why"] for d in agent["dropped"]}
    assert set(dropped) == {"lp_sdes[0].info.storeZipCode", "lp_sdes[1]"}
    assert "not supported in an authenticated flow" in dropped["lp_sdes[0].info.storeZipCode"]
    assert "'mrktInfo' is not supported in an authenticated flow" in dropped["lp_sdes[1]"]


def test_agent_view_of_an_unknown_conversation_is_404(client: httpx.Client) -> None:
    """No authenticated conversation, no agent view."""
    assert client.get(f"/_emulator/agent/liveassist/{uuid.uuid4()}").status_code == 404


@pytest.mark.inprocess
def test_code_flow_accepts_an_id_token_encrypted_to_the_emulator(kit: CodeKit, brand_mock: respx.Route) -> None:
    """A brand may encrypt the id_token (JWE RSA-OAEP-256 / A256GCM, kid of GET /_emulator/keys/liveassist)."""
    keys = kit.client.get("/_emulator/keys/liveassist").json()
    public = serialization.load_pem_public_key(keys["pem"].encode())
    header = {"alg": "RSA-OAEP-256", "enc": "A256GCM", "cty": "JWT", "kid": keys["kid"]}
    brand_mock.respond(200, json={"id_token": tokens.jwe(kit.id_token(), public, header=header)})
    response = kit.authenticate(kit.register(), "code-encrypted")
    assert_authenticated(kit.client, response)
    assert journal_entry(kit.client, response)["trace"]["decoded"]["jweHeader"]["alg"] == "RSA-OAEP-256"


# -- 2. client authentication in the body; redirect_uri ----------------------------------------------------------
@pytest.mark.inprocess
def test_client_auth_body_sends_the_credentials_in_the_form(kit: CodeKit, brand_mock: respx.Route) -> None:
    """clientAuth "body" (the P4/P5 example): no Authorization header, client_id and client_secret in the form;
    the journal shows the form with the secret redacted."""
    account = kit.register(clientAuth="body")
    brand_mock.respond(200, json={"id_token": kit.id_token()})
    response = kit.authenticate(account, "code-body-auth")
    assert_authenticated(kit.client, response)

    sent = brand_mock.calls.last.request
    assert "authorization" not in sent.headers
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert form_of(sent) == {
        "grant_type": ["authorization_code"],
        "code": ["code-body-auth"],
        "redirect_uri": [DEFAULT_REDIRECT_URI],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
    }
    entry = journal_entry(kit.client, response)
    assert entry["trace"]["exchange"]["sent"]["clientAuth"] == "body"
    assert entry["trace"]["exchange"]["sent"]["form"]["client_secret"] == "<redacted>"
    assert CLIENT_SECRET not in str(entry)


@pytest.mark.inprocess
def test_a_description_equal_to_the_meaning_is_not_repeated(kit: CodeKit, brand_mock: respx.Route) -> None:
    """A brand that answers invalid_code with Live Assist's own wording as error_description (as the example brand
    endpoint does): the diagnosis states the meaning once."""
    account = kit.register()
    meaning = "The code provided is not valid."
    brand_mock.mock(return_value=_json(400, {"error": "invalid_code", "error_description": meaning}))
    response = kit.authenticate(account, "code-said-twice")
    assert_refused(kit.client, response, "code_exchange")
    diagnosis = response.headers["x-emulator-diagnosis"]
    assert f"error 'invalid_code': {meaning}" in diagnosis
    assert diagnosis.count(meaning) == 1


@pytest.mark.inprocess
@pytest.mark.parametrize(
    ("connector_uri", "request_uri", "expected"),
    [
        (None, None, "https://liveperson.net"),
        ("https://brand.example/oauth/cb", None, "https://brand.example/oauth/cb"),
        ("https://brand.example/oauth/cb", "https://www.liveassist.com", "https://www.liveassist.com"),
        (None, "https://brand.example/chat?x=1&y=2", "https://brand.example/chat?x=1&y=2"),
    ],
    ids=["default", "connector's", "request's wins", "request's, with a query"],
)
def test_redirect_uri_sent_to_the_brand(
    kit: CodeKit, brand_mock: respx.Route, connector_uri: str | None, request_uri: str | None, expected: str
) -> None:
    """redirect_uri is the request's redirectUri, else the connector's, else https://liveperson.net (P1, P3)."""
    account = kit.register(redirectUri=connector_uri)  # None: the field is left out
    brand_mock.respond(200, json={"id_token": kit.id_token()})
    assert_authenticated(kit.client, kit.authenticate(account, "code-redirect", redirectUri=request_uri))
    assert form_of(brand_mock.calls.last.request)["redirect_uri"] == [expected]


# -- 3. PKCE -----------------------------------------------------------------------------------------------------
def _pkce_brand(challenge: str, id_token: str) -> Any:
    """A brand that issued the code for ``challenge``: it checks S256(code_verifier) as RFC 7636 says."""

    def token(request: httpx.Request) -> httpx.Response:
        verifier = form_of(request).get("code_verifier")
        if verifier is None or s256(verifier[0]) != challenge:
            return httpx.Response(400, json={"error": "invalid_grant", "error_description": "PKCE verification failed"})
        return httpx.Response(200, json={"id_token": id_token})

    return token


@pytest.mark.inprocess
def test_pkce_sends_the_verifier_of_the_challenge_the_page_got(kit: CodeKit, brand_mock: respx.Route) -> None:
    """With "pkce": true the exchange carries a code_verifier (RFC 7636 charset and length) whose S256 is the
    challenge GET /_emulator/pkce/liveassist/<accountId>?sessionId=<LETagSessionId> gave the page; the journal
    never shows the verifier."""
    account = kit.register(pkce=True)
    pkce = kit.client.get(f"/_emulator/pkce/liveassist/{account}", params={"sessionId": VISITOR["LETagSessionId"]})
    assert pkce.status_code == 200, pkce.text
    assert pkce.json()["codeChallengeMethod"] == "S256"
    challenge = pkce.json()["codeChallenge"]
    brand_mock.mock(side_effect=_pkce_brand(challenge, kit.id_token()))

    response = kit.authenticate(account, "code-pkce")
    assert_authenticated(kit.client, response)
    form = form_of(brand_mock.calls.last.request)
    (verifier,) = form["code_verifier"]
    assert VERIFIER.fullmatch(verifier)
    assert s256(verifier) == challenge
    assert set(form) == {"grant_type", "code", "redirect_uri", "code_verifier"}
    entry = journal_entry(kit.client, response)
    assert entry["trace"]["exchange"]["sent"]["form"]["code_verifier"] == "<redacted>"
    assert verifier not in str(entry)


def test_pkce_challenge_is_stable_per_session_and_needs_one(kit: CodeKit) -> None:
    """The challenge depends on the account and the visitor's session, is the same when asked again, and cannot be
    asked for without a sessionId."""
    account, other_account = kit.register(pkce=True), kit.register(pkce=True)

    def challenge(acc: str, session: str) -> str:
        response = kit.client.get(f"/_emulator/pkce/liveassist/{acc}", params={"sessionId": session})
        assert response.status_code == 200, response.text
        assert response.json()["accountId"] == acc
        assert response.json()["sessionId"] == session
        return str(response.json()["codeChallenge"])

    first = challenge(account, "session-A")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", first)
    assert challenge(account, "session-A") == first
    assert challenge(account, "session-B") != first
    assert challenge(other_account, "session-A") != first
    assert kit.client.get(f"/_emulator/pkce/liveassist/{account}").status_code == 400


@pytest.mark.inprocess
def test_pkce_without_a_session_id_warns_and_sends_no_verifier(kit: CodeKit, brand_mock: respx.Route) -> None:
    """No LETagSessionId: no code_verifier can be derived; the request still goes out (without one), the trace
    warns, and the brand refusing it is a code_exchange failure."""
    account = kit.register(pkce=True)
    brand_mock.mock(side_effect=_pkce_brand("any-challenge", kit.id_token()))
    response = kit.authenticate(account, "code-pkce-no-session", LETagSessionId=None)
    entry = assert_refused(kit.client, response, "code_exchange")
    assert "code_verifier" not in form_of(brand_mock.calls.last.request)
    assert "(oauth_error)" in entry["summary"]
    assert "'invalid_grant'" in entry["summary"]
    assert any("no LETagSessionId" in w and "no code_verifier" in w for w in entry["trace"]["warnings"])


@pytest.mark.inprocess
def test_pkce_off_sends_no_verifier(kit: CodeKit, brand_mock: respx.Route) -> None:
    """Without "pkce": true no code_verifier is sent, LETagSessionId or not, and nothing warns."""
    account = kit.register()
    brand_mock.respond(200, json={"id_token": kit.id_token()})
    response = kit.authenticate(account, "code-no-pkce")
    assert_authenticated(kit.client, response)
    assert "code_verifier" not in form_of(brand_mock.calls.last.request)
    assert journal_entry(kit.client, response)["trace"]["warnings"] == []


def test_pkce_against_the_example_brand(kit: CodeKit, example_brand: str) -> None:
    """End to end over loopback: the page gets the challenge, the brand's login binds the code to it, the emulator
    proves the verifier; a code bound to another session's challenge is refused by the brand (invalid_grant)."""
    account = _example_connector(kit, example_brand, pkce=True)

    def challenge(session: str) -> str:
        url = f"/_emulator/pkce/liveassist/{account}"
        return str(kit.client.get(url, params={"sessionId": session}).json()["codeChallenge"])

    code = example_login(example_brand, sub="pkce-visitor", code_challenge=challenge(VISITOR["LETagSessionId"]))
    assert_authenticated(kit.client, kit.authenticate(account, code))

    code = example_login(example_brand, sub="pkce-visitor", code_challenge=challenge("another-session"))
    entry = assert_refused(kit.client, kit.authenticate(account, code), "code_exchange")
    assert "(oauth_error)" in entry["summary"]
    assert "'invalid_grant'" in entry["summary"]
    assert "PKCE code_verifier does not match" in entry["summary"]


# -- 4. every way the exchange fails -----------------------------------------------------------------------------
@dataclass
class Failure:
    id: str
    reply: Any  # an httpx.Response, or the exception respx raises
    kind: str | None  # the kind the diagnosis names; None: see test_non_200_answers_are_classified_by_status
    says: tuple[str, ...]
    status: int | None = None
    remedy: str = ""


def _json(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _oauth(status: int, error: str, meaning: str, description: str | None = None) -> Failure:
    body = {"error": error} if description is None else {"error": error, "error_description": description}
    says = (f"HTTP {status}, error '{error}': ", meaning) + ((f"({description})",) if description else ())
    return Failure(f"{status} {error}", _json(status, body), "oauth_error", says, status, "Check the code")


FAILURES = [
    Failure(
        "500 text/plain",
        httpx.Response(500, text="Internal Server Error"),
        None,
        ("HTTP 500", "'Internal Server Error'"),
        500,
    ),
    Failure(
        "503 JSON without an error",
        _json(503, {"message": "maintenance"}),
        "http_status",
        ("HTTP 503 (Live Assist expects 200 with an id_token)",),
        503,
    ),
    Failure(
        "200 HTML",
        httpx.Response(200, html="<html><body>Please sign in</body></html>"),
        "not_json",
        ("HTTP 200 with a body that is not JSON: '<html><body>Please sign in",),
        200,
    ),
    Failure(
        "200 JSON without id_token",
        _json(200, {"access_token": "NotApplicabale", "token_type": "Bearer"}),
        "no_id_token",
        ("HTTP 200 but no id_token in the answer (got ['access_token', 'token_type'])",),
        200,
    ),
    Failure("200 empty id_token", _json(200, {"id_token": ""}), "no_id_token", ("no id_token",), 200),
    Failure("200 numeric id_token", _json(200, {"id_token": 42}), "no_id_token", ("no id_token",), 200),
    Failure("200 JSON array", _json(200, ["id_token"]), "no_id_token", ("(got list)",), 200),
    Failure(
        "200 over 256 KiB",
        _json(200, {"id_token": "a" * 300_000}),
        "too_large",
        ("the answer is over 262144 bytes",),
        200,
    ),
    _oauth(400, "invalid_code", "The code provided is not valid."),
    _oauth(400, "json_parse_error", "There was a problem with the format of the JSON document provided."),
    _oauth(
        400,
        "unauthorized_client",
        "The token was valid, but this subscriber is not authorized to use the messaging feature.",
    ),
    _oauth(400, "invalid_grant", "already used", "authorization code already redeemed"),
    _oauth(401, "invalid_client", "Client authentication failed", "Invalid client credentials"),
    _oauth(400, "invalid_request", "missing a parameter"),
    _oauth(400, "unsupported_grant_type", "does not accept grant_type=authorization_code"),
    _oauth(400, "server_error", "an error value Live Assist does not document"),
    Failure(
        "connect timeout",
        httpx.ConnectTimeout,
        "timeout",
        ("no answer within the connector's timeout (10 s)",),
        remedy="Answer within the connector's timeout",
    ),
    Failure(
        "read timeout",
        httpx.ReadTimeout,
        "timeout",
        ("no answer within the connector's timeout (10 s)",),
        remedy="Answer within the connector's timeout",
    ),
    Failure(
        "connection refused",
        httpx.ConnectError("[Errno 111] Connection refused"),
        "connection_refused",
        ("could not connect to https://brand.test/token", "Connection refused"),
        remedy="Start the brand token endpoint",
    ),
    Failure(
        "connection dropped mid-answer",
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        "transport",
        ("RemoteProtocolError",),
    ),
]


def _assert_exchange_failed(entry: dict[str, Any], kind: str | None, says: tuple[str, ...]) -> dict[str, Any]:
    """The code_exchange failure names its kind and says what happened; no id_token check ran."""
    exchange = _check(entry, "code_exchange")
    assert exchange["status"] == "failed"
    if kind is not None:
        assert f"failed ({kind}): " in entry["summary"], entry["summary"]
        assert exchange["actual"]["kind"] == kind
        assert entry["trace"]["exchange"]["kind"] == kind
    for fragment in says:
        assert fragment in entry["summary"], (fragment, entry["summary"])
    assert all(_check(entry, name)["status"] == "not_run" for name in AFTER_EXCHANGE)
    return exchange


@pytest.mark.inprocess
@pytest.mark.parametrize("case", FAILURES, ids=[f.id for f in FAILURES])
def test_every_exchange_failure_is_named(kit: CodeKit, brand_mock: respx.Route, case: Failure) -> None:
    """Each way the brand fails gives the same refusal, failedCheck code_exchange, a summary naming the kind and
    saying what happened (status, error value and its documented meaning), and the exchange is tried once only."""
    account = kit.register()
    if isinstance(case.reply, httpx.Response):
        brand_mock.mock(return_value=case.reply)
    else:
        brand_mock.mock(side_effect=case.reply)
    response = kit.authenticate(account, f"code-{case.id}")
    entry = assert_refused(kit.client, response, "code_exchange")
    exchange = _assert_exchange_failed(entry, case.kind, case.says)
    assert response.headers["x-emulator-diagnosis"].startswith(
        f"code_exchange: the code exchange with {TOKEN_ENDPOINT}"
    )
    assert exchange["actual"]["status"] == case.status
    assert entry["trace"]["exchange"]["status"] == case.status
    assert case.remedy in response.headers["x-emulator-diagnosis"].split(" | remedy: ", 1)[1]
    if case.kind == "oauth_error":
        assert exchange["actual"]["body"]["error"] == case.reply.json()["error"]
    assert brand_mock.call_count == 1, "the emulator never retries an exchange on its own"
    assert CLIENT_SECRET not in str(entry)


@pytest.mark.inprocess
@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(500, text="Internal Server Error"),
        httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="token"'}),
        httpx.Response(302, headers={"Location": "https://brand.test/login"}),
    ],
    ids=["500 text", "401 empty", "302 to a login page"],
)
def test_non_200_answers_are_classified_by_status(kit: CodeKit, brand_mock: respx.Route, reply: httpx.Response) -> None:
    """A non-200 answer is an http_status failure, whatever its body (the issue: non-200, non-JSON, ... each with
    its own diagnosis); only a 200 whose body is not JSON is not_json."""
    brand_mock.mock(return_value=reply)
    entry = assert_refused(kit.client, kit.authenticate(kit.register(), "code-non-200"), "code_exchange")
    _assert_exchange_failed(entry, "http_status", (f"HTTP {reply.status_code}",))


@pytest.fixture
def slow_brand() -> Iterator[str]:
    """A token endpoint that answers only after the test is over (or 5 s): any short timeout expires first."""
    release = threading.Event()

    async def token(request: Request) -> JSONResponse:
        deadline = time.monotonic() + 5
        while not release.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return JSONResponse({"error": "too_late"}, status_code=400)

    with serve_app(Starlette(routes=[Route("/token", token, methods=["POST"])])) as url:
        try:
            yield url
        finally:
            release.set()


def test_real_timeout_against_a_slow_brand(kit: CodeKit, slow_brand: str) -> None:
    """A brand slower than the connector's timeout (0.3 s): refused after about that long, kind timeout."""
    account = kit.register(tokenEndpoint=f"{slow_brand}/token", timeout=0.3)
    started = time.monotonic()
    response = kit.authenticate(account, "code-slow")
    elapsed = time.monotonic() - started
    entry = assert_refused(kit.client, response, "code_exchange")
    _assert_exchange_failed(entry, "timeout", ("no answer within the connector's timeout (0.3 s)",))
    assert 0.25 <= elapsed < 3, elapsed
    assert "Answer within the connector's timeout" in response.headers["x-emulator-diagnosis"]


def test_real_connection_refused(kit: CodeKit) -> None:
    """Nothing listens at the token endpoint: kind connection_refused, the URL named."""
    endpoint = f"http://127.0.0.1:{free_port()}/token"
    response = kit.authenticate(kit.register(tokenEndpoint=endpoint, timeout=2), "code-refused")
    entry = assert_refused(kit.client, response, "code_exchange")
    _assert_exchange_failed(entry, "connection_refused", (f"could not connect to {endpoint}",))
    assert "Start the brand token endpoint, or fix tokenEndpoint" in response.headers["x-emulator-diagnosis"]


@pytest.mark.inprocess
def test_no_sso_key_never_calls_the_brand(kit: CodeKit, brand_mock: respx.Route) -> None:
    """The page's JS method gave no code (callback('', error)): sso_key_present fails before any exchange."""
    account = kit.register()
    for code in (None, "", "   "):
        entry = assert_refused(kit.client, kit.authenticate(account, code), "sso_key_present")
        assert "authorization code" in entry["summary"]
    assert brand_mock.call_count == 0


# -- the id_token checks still run after a successful exchange -----------------------------------------------------
@dataclass
class TokenCase:
    id: str
    check: str
    id_token: Any  # CodeKit -> str
    says: str


TOKEN_CASES = [
    TokenCase("not a JWT", "token_format", lambda k: "NotApplicabale", "not a compact JWS or JWE"),
    TokenCase(
        "signed HS256",
        "jws_alg",
        lambda k: tokens.jws(k.claims(), b"shared-secret", "HS256"),
        "Live Assist only supports RS256",
    ),
    TokenCase("signed by another key", "jws_signature", lambda k: k.id_token(key=k.other), "verifies with none"),
    TokenCase(
        "encrypted to another key",
        "jwe_decrypt",
        lambda k: tokens.jwe(k.id_token(), k.other.public_key()),
        "encrypted with another public key",
    ),
    TokenCase(
        "issuer with a trailing slash",
        "issuer",
        lambda k: k.id_token(iss=ISSUER + "/"),
        "case and trailing slash included",
    ),
    TokenCase("expired", "exp", lambda k: k.id_token(iat=int(k.now) - 7200, exp=int(k.now) - 3600), "expired"),
    TokenCase("no sub", "sub", lambda k: k.id_token(sub=None), "'sub'"),
]


@pytest.mark.inprocess
@pytest.mark.parametrize("case", TOKEN_CASES, ids=[c.id for c in TOKEN_CASES])
def test_id_token_checks_after_a_successful_exchange(kit: CodeKit, brand_mock: respx.Route, case: TokenCase) -> None:
    """The exchange passed; the id_token it brought fails its own check, named as in the implicit flow."""
    brand_mock.respond(200, json={"access_token": "NotApplicabale", "id_token": case.id_token(kit)})
    entry = assert_refused(kit.client, kit.authenticate(kit.register(), "code-bad-token"), case.check)
    assert _check(entry, "code_exchange")["status"] == "passed"
    assert entry["trace"]["exchange"]["kind"] == "ok"
    assert case.says in entry["summary"], entry["summary"]


# -- 5. the same code twice ---------------------------------------------------------------------------------------
@pytest.mark.inprocess
def test_same_code_twice_is_exchanged_twice_and_the_second_says_so(kit: CodeKit, brand_mock: respx.Route) -> None:
    """The emulator exchanges a code it has seen again (it does not refuse or cache it); the brand refusing reuse
    fails the second, whose summary and warnings say the code was seen before, when, and how long ago."""
    t0 = int(kit.now)
    assert kit.client.post("/_emulator/clock", json={"freeze": t0}).status_code == 200
    account = kit.register()
    brand_mock.mock(
        side_effect=[
            _json(200, {"id_token": kit.id_token()}),
            _json(400, {"error": "invalid_grant", "error_description": "code already used"}),
        ]
    )
    first = kit.authenticate(account, "code-used-twice")
    assert_authenticated(kit.client, first)
    assert journal_entry(kit.client, first)["trace"]["warnings"] == []

    assert kit.client.post("/_emulator/clock", json={"advance": 42}).status_code == 200
    second = kit.authenticate(account, "code-used-twice")
    entry = assert_refused(kit.client, second, "code_exchange")
    assert brand_mock.call_count == 2
    assert [form_of(c.request)["code"] for c in brand_mock.calls] == [["code-used-twice"]] * 2
    _assert_exchange_failed(entry, "oauth_error", ("'invalid_grant'", "(this code was already exchanged 42 s ago)"))
    assert "already exchanged 42 s ago" in second.headers["x-emulator-diagnosis"]
    assert any(f"already exchanged at {t0} (42 s ago)" in w for w in entry["trace"]["warnings"]), entry["trace"]


@pytest.mark.inprocess
def test_same_code_twice_accepted_by_a_lax_brand_still_warns(kit: CodeKit, brand_mock: respx.Route) -> None:
    """A brand that accepts a code twice gets both visitors in, but the second's trace warns that a brand token
    endpoint must refuse a reused code."""
    account = kit.register()
    brand_mock.respond(200, json={"id_token": kit.id_token()})
    assert_authenticated(kit.client, kit.authenticate(account, "code-lax"))
    second = kit.authenticate(account, "code-lax")
    assert_authenticated(kit.client, second)
    assert brand_mock.call_count == 2
    warnings = journal_entry(kit.client, second)["trace"]["warnings"]
    assert any("already exchanged" in w and "must refuse a code used twice" in w for w in warnings), warnings


@pytest.mark.inprocess
def test_a_failed_exchange_is_not_retried_but_the_next_request_exchanges_again(
    kit: CodeKit, brand_mock: respx.Route
) -> None:
    """A timeout is not retried by the emulator; the page sending the same code again makes one more exchange,
    which may then succeed (the diagnosis still notes the code was seen)."""
    account = kit.register()
    brand_mock.mock(side_effect=[httpx.ReadTimeout("slow"), _json(200, {"id_token": kit.id_token()})])
    assert_refused(kit.client, kit.authenticate(account, "code-retry"), "code_exchange")
    assert brand_mock.call_count == 1
    second = kit.authenticate(account, "code-retry")
    assert_authenticated(kit.client, second)
    assert brand_mock.call_count == 2
    assert any("already exchanged" in w for w in journal_entry(kit.client, second)["trace"]["warnings"])


@pytest.mark.inprocess
def test_codes_are_remembered_per_account(kit: CodeKit, brand_mock: respx.Route) -> None:
    """The same code string at two accounts (two brands) is not a reuse."""
    brand_mock.respond(200, json={"id_token": kit.id_token()})
    for account in (kit.register(), kit.register()):
        response = kit.authenticate(account, "code-shared")
        assert_authenticated(kit.client, response)
        assert journal_entry(kit.client, response)["trace"]["warnings"] == []


def test_same_code_twice_against_the_example_brand(kit: CodeKit, example_brand: str) -> None:
    """Over loopback: the example brand's codes are single-use, so the second exchange is refused (invalid_code) and
    the diagnosis says the code was already exchanged."""
    account = _example_connector(kit, example_brand)
    code = example_login(example_brand, sub="twice")
    assert_authenticated(kit.client, kit.authenticate(account, code))
    entry = assert_refused(kit.client, kit.authenticate(account, code), "code_exchange")
    _assert_exchange_failed(entry, "oauth_error", ("'invalid_code'", "this code was already exchanged"))


# -- 6. a real brand token endpoint over loopback -----------------------------------------------------------------
def test_example_brand_endpoint_over_loopback(kit: CodeKit, example_brand: str) -> None:
    """examples/brand_token_endpoint.py, configured as documented: login gives a code, the emulator exchanges it
    over real HTTP (Basic auth), verifies the signed id_token and shows the visitor to the agent."""
    account = _example_connector(kit, example_brand)
    code = example_login(example_brand, sub="loopback-visitor", given_name="Jane", email="jane@brand.example")
    response = kit.authenticate(account, code)
    body = assert_authenticated(kit.client, response)
    entry = journal_entry(kit.client, response)
    assert entry["trace"]["decoded"]["jweHeader"] is None
    assert entry["trace"]["decoded"]["claims"]["iss"] == EXAMPLE_ISSUER
    agent = kit.client.get(f"/_emulator/agent/liveassist/{body['conversationId']}").json()
    assert agent["sub"] == "loopback-visitor"
    assert agent["secureAttributes"]["personalInfo"]["firstname"] == "Jane"
    assert agent["secureAttributes"]["personalInfo"]["contacts"][0]["email"] == "jane@brand.example"


def test_example_brand_endpoint_encrypting_to_the_emulator(kit: CodeKit, example_brand_encrypting: str) -> None:
    """The example brand with encrypt_to = the emulator's Live Assist key: a nested JWE id_token, decrypted and
    verified."""
    account = _example_connector(kit, example_brand_encrypting)
    response = kit.authenticate(account, example_login(example_brand_encrypting, sub="encrypted-visitor"))
    assert_authenticated(kit.client, response)
    decoded = journal_entry(kit.client, response)["trace"]["decoded"]
    assert decoded["jweHeader"]["alg"] == "RSA-OAEP-256"
    assert decoded["jweHeader"]["enc"] == "A256GCM"
    assert decoded["claims"]["sub"] == "encrypted-visitor"


def test_example_brand_refuses_wrong_client_credentials(kit: CodeKit, example_brand: str) -> None:
    """A wrong clientSecret, in the body this time: the real brand answers 401 invalid_client."""
    account = _example_connector(kit, example_brand, clientSecret="TEST-ONLY-wrong-secret", clientAuth="body")
    entry = assert_refused(
        kit.client, kit.authenticate(account, example_login(example_brand, sub="x")), "code_exchange"
    )
    _assert_exchange_failed(entry, "oauth_error", ("HTTP 401, error 'invalid_client'", "(Invalid client credentials)"))


# -- 7. the chat request ------------------------------------------------------------------------------------------
def _authenticated(kit: CodeKit, brand_url: str, sub: str = "chatting-visitor") -> tuple[str, dict[str, str]]:
    account = _example_connector(kit, brand_url)
    body = assert_authenticated(kit.client, kit.authenticate(account, example_login(brand_url, sub=sub)))
    return account, body


def _chat_request(**pair: Any) -> dict[str, Any]:
    """The Server Chat API's chat request body (P10), with the authentication's participant and conversation."""
    request = {
        "skill": "sales",
        "LETagVisitorId": VISITOR["LETagVisitorId"],
        "LETagSessionId": VISITOR["LETagSessionId"],
        "LETagContextId": VISITOR["LETagContextId"],
        "engagementId": VISITOR["engagementId"],
        "campaignId": 567609210,
        "language": "en-US",
        **pair,
    }
    return {"request": {k: v for k, v in request.items() if v is not None}}


def test_chat_request_after_authentication(kit: CodeKit, example_brand: str) -> None:
    """With the participantId and conversationId of a successful authentication the chat starts: 201 and the chat
    session's URI in Location, which answers as an authenticated chat."""
    account, pair = _authenticated(kit, example_brand)
    response = kit.client.post(chat_request_path(account), json=_chat_request(**pair))
    assert response.status_code == 201, response.text
    location = httpx.URL(response.headers["location"])
    assert re.fullmatch(rf"/liveassist/api/account/{account}/chat/[0-9a-f-]{{36}}", location.path), location
    assert location.params["v"] == "1"
    assert location.params["NC"] == "true"
    chat = kit.client.get(location.raw_path.decode())
    assert chat.status_code == 200, chat.text
    assert chat.json()["conversationId"] == pair["conversationId"]
    assert chat.json()["authenticated"] is True
    agent = kit.client.get(f"/_emulator/agent/liveassist/{pair['conversationId']}").json()
    assert location.path.rsplit("/", 1)[1] in agent["chats"]


@pytest.mark.parametrize(
    "mangle",
    [
        "no pair",
        "unknown participant",
        "participant of another conversation",
        "another account",
        "pair outside request",
    ],
)
def test_chat_request_without_an_authenticated_participant(kit: CodeKit, example_brand: str, mangle: str) -> None:
    """No chat without the exact participant/conversation pair of a successful authentication at this account:
    401 authentication_failed, failedCheck authenticated_participant."""
    account, pair = _authenticated(kit, example_brand)
    target, body = account, _chat_request(**pair)
    if mangle == "no pair":
        body = _chat_request()
    elif mangle == "unknown participant":
        body = _chat_request(participantId=str(uuid.uuid4()), conversationId=pair["conversationId"])
    elif mangle == "participant of another conversation":
        _, other = _authenticated(kit, example_brand, sub="another-visitor")
        body = _chat_request(participantId=other["participantId"], conversationId=pair["conversationId"])
    elif mangle == "another account":
        target = _example_connector(kit, example_brand)
    else:
        body = {"request": {"skill": "sales"}, **pair}
    response = kit.client.post(chat_request_path(target), json=body)
    entry = assert_refused(kit.client, response, "authenticated_participant", traced=False)
    assert entry["operation"] == "chat_request"


def test_chat_request_without_any_authentication(kit: CodeKit) -> None:
    """A chat request at an account nobody authenticated at is refused the same way."""
    account = kit.register()
    response = kit.client.post(chat_request_path(account), json=_chat_request(participantId="p", conversationId="c"))
    assert_refused(kit.client, response, "authenticated_participant", traced=False)


# -- 8. the connector control plane --------------------------------------------------------------------------------
def test_connector_view_hides_the_secret(kit: CodeKit) -> None:
    """PUT creates (201) and replaces (200); GET shows every setting but the secret (clientSecretSet instead)."""
    account = kit.register(clientAuth="body", pkce=True, timeout=2.5, redirectUri="https://brand.example/cb")
    view = kit.client.get(f"/_emulator/tenants/liveassist/{account}")
    assert view.status_code == 200
    assert CLIENT_SECRET not in view.text
    assert "clientSecret" not in view.json()
    assert view.json() | {"jwtPublicKeyInfo": None} == {
        "accountId": account,
        "flow": "code",
        "issuer": ISSUER,
        "jwtPublicKey": spki_b64(kit.brand),
        "jwtPublicKeyInfo": None,
        "jwksUrl": None,
        "tokenEndpoint": TOKEN_ENDPOINT,
        "clientId": CLIENT_ID,
        "clientSecretSet": True,
        "clientAuth": "body",
        "redirectUri": "https://brand.example/cb",
        "pkce": True,
        "timeout": 2.5,
        "strictKid": False,
        "clockSkew": 30.0,
    }
    replaced = kit.client.put(f"/_emulator/tenants/liveassist/{account}", json=kit.connector())
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["clientAuth"] == "basic"
    assert kit.client.get(f"/_emulator/tenants/liveassist/{account}").json() == replaced.json()
    listed = kit.client.get("/_emulator/tenants/liveassist").json()["tenants"]
    assert {"accountId": account, "flow": "code", "issuer": ISSUER} in listed


def test_connector_key_as_pem_or_single_line_spki(kit: CodeKit) -> None:
    """The brand key may be given as PEM or as the console's single-line base64 SPKI: the same key either way."""
    pem = kit.register(jwtPublicKey=tokens.public_pem(kit.brand))
    spki = kit.register()
    views = [kit.client.get(f"/_emulator/tenants/liveassist/{a}").json() for a in (pem, spki)]
    assert views[0]["jwtPublicKey"] == views[1]["jwtPublicKey"] == spki_b64(kit.brand)


BAD_CONNECTORS: list[tuple[str, dict[str, Any], str]] = [
    ("flow missing", {"flow": None}, "flow"),
    ("flow unknown", {"flow": "hybrid"}, "flow"),
    ("tokenEndpoint missing", {"tokenEndpoint": None}, "tokenEndpoint"),
    ("tokenEndpoint not a URL", {"tokenEndpoint": "brand.test/token"}, "tokenEndpoint"),
    ("tokenEndpoint not http(s)", {"tokenEndpoint": "ftp://brand.test/token"}, "tokenEndpoint"),
    ("both jwtPublicKey and jwksUrl", {"jwksUrl": "https://brand.test/jwks.json"}, "exactly one"),
    ("neither jwtPublicKey nor jwksUrl", {"jwtPublicKey": None}, "exactly one"),
    ("clientAuth digest", {"clientAuth": "digest"}, "clientAuth"),
    ("timeout 0", {"timeout": 0}, "timeout"),
    ("timeout 61", {"timeout": 61}, "timeout"),
    ("timeout a string", {"timeout": "10"}, "timeout"),
    ("clientId missing", {"clientId": None}, "clientId"),
    ("clientSecret missing", {"clientSecret": None}, "clientSecret"),
    ("clientSecret empty", {"clientSecret": ""}, "clientSecret"),
    ("pkce not a boolean", {"pkce": "yes"}, "pkce"),
    ("redirectUri not a URL", {"redirectUri": "liveperson.net"}, "redirectUri"),
    ("issuer missing", {"issuer": None}, "issuer"),
    ("unknown field", {"client_secret": "x"}, "unknown field(s) ['client_secret']"),
    ("accountId differs", {"accountId": "12345678"}, "accountId"),
    ("jwtPublicKey not a key", {"jwtPublicKey": "not a key"}, "jwtPublicKey"),
]


@pytest.mark.parametrize(
    ("change", "says"), [(c, s) for _, c, s in BAD_CONNECTORS], ids=[i for i, _, _ in BAD_CONNECTORS]
)
def test_bad_connector_is_refused_and_changes_nothing(kit: CodeKit, change: dict[str, Any], says: str) -> None:
    """A bad connector body is a 400 naming the field; the connector already there is left as it was, and none is
    created where there was none."""
    account = kit.register()
    path = f"/_emulator/tenants/liveassist/{account}"
    before = kit.client.get(path).json()
    body = {**kit.connector(clientAuth="body", timeout=3), **change}
    body = {k: v for k, v in body.items() if v is not None}
    response = kit.client.put(path, json=body)
    assert response.status_code == 400, response.text
    assert says in response.json()["error"], response.json()
    assert kit.client.get(path).json() == before
    fresh = f"/_emulator/tenants/liveassist/{account}0"
    assert kit.client.put(fresh, json=body).status_code == 400
    assert kit.client.get(fresh).status_code == 404


@pytest.mark.parametrize(
    ("key", "says"),
    [
        (lambda k: k.brand.private_bytes(*_PKCS8).decode(), "private key"),
        (lambda k: tokens.public_pem(_small_key()), "at least 2048 bits"),
    ],
    ids=["the brand's private key", "RSA 1024"],
)
def test_unusable_brand_key_is_refused(kit: CodeKit, key: Any, says: str) -> None:
    """The console takes only the brand's RSA public key (RS256), 2048 bits or more."""
    account = kit.register()
    path = f"/_emulator/tenants/liveassist/{account}"
    before = kit.client.get(path).json()
    response = kit.client.put(path, json=kit.connector(jwtPublicKey=key(kit)))
    assert response.status_code == 400, response.text
    assert says in response.json()["error"]
    assert kit.client.get(path).json() == before


_PKCS8 = (serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _small_key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


def test_connector_body_not_an_object(kit: CodeKit) -> None:
    """The connector is a JSON object."""
    response = kit.client.put(f"/_emulator/tenants/liveassist/{kit.register()}", json=[kit.connector()])
    assert response.status_code == 400
    assert "JSON object" in response.json()["error"]


def test_deleted_connector_refuses_authentication(kit: CodeKit) -> None:
    """DELETE removes the connector (204, then 404); authenticating there fails connector_known, before any
    exchange; deleting again is a 404."""
    account = kit.register()
    path = f"/_emulator/tenants/liveassist/{account}"
    assert kit.client.delete(path).status_code == 204
    assert kit.client.get(path).status_code == 404
    entry = assert_refused(kit.client, kit.authenticate(account, "code-after-delete"), "connector_known")
    assert f"account {account} has no authentication connector" in entry["summary"]
    assert _check(entry, "code_exchange")["status"] == "not_run"
    assert kit.client.delete(path).status_code == 404


@pytest.mark.inprocess
def test_the_diagnosis_shows_the_code_only_as_a_digest(kit: CodeKit, brand_mock: respx.Route) -> None:
    """The exchange's trace says what was sent to the brand, but the code (a one-time credential) only as a
    digest and the client secret not at all; the code itself is the entry's token, which journalTokens governs."""
    account = kit.register()
    brand_mock.respond(200, json={"id_token": kit.id_token()})
    response = kit.authenticate(account, "a-one-time-code-1234")
    assert_authenticated(kit.client, response)
    entry = journal_entry(kit.client, response)
    sent = entry["trace"]["exchange"]["sent"]["form"]
    assert sent["code"].startswith("sha256:") and "a-one-time-code-1234" not in json.dumps(entry["trace"])
    assert entry["token"] == "a-one-time-code-1234"
