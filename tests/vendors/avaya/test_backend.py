"""Avaya's backend APIs, called the way a brand's backend calls them (research/avaya.md §2, §3, §4, B/C/E/F).

    POST /api/auth/v1/{accountId}/protocol/openid-connect/token      access token (and the legacy /auth/realms/…)
    POST /api/digital/chat/v1/accounts/{accountId}/tokens            Generate JWT Token -> 201 {"jwtToken": "jwt.…"}

Every refusal asserts the vendor's exact problem body and the named failed check, both in the
X-Emulator-Diagnosis header ("<check>: …") and in the journal entry (failedCheck). Vendor texts are written out
here, not imported from the emulator. The tests run in-process and against a live server (EMULATOR_BASE_URL):
accounts they register get random 6-letter ids and are deleted afterwards.
"""

from __future__ import annotations

import base64
import json
import random
import re
import shutil
import string
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from emulator.app import create_app
from emulator.config import ConfigError
from emulator.vendors.avaya.checks import ACCESS_TOKEN, GENERATE_JWT
from tests.vendors.avaya import helpers
from tests.vendors.avaya.helpers import (
    ACCOUNT,
    APPKEY,
    CLIENT_ID,
    CLIENT_SECRET,
    INTEGRATION,
    PROBLEM_JSON,
    SDK_BASE,
    claims_of,
    sdk_headers,
)

# -- the vendor's answers, verbatim (errors.py cites S1, S2 and S9 for each) -----------------------------------
DOCS = "https://developers.avayacloud.com/onecloud-ccaas/docs/error-handling"
DOCS_V1 = "https://developers.avayacloud.com/onecloud-ccaas/v1.0/docs/error-handling"
CONSTRAINT_VIOLATION = {
    "type": f"{DOCS}#constraint-violation",
    "title": "Constraint Violation",
    "status": 400,
    "detail": "A problem that indicates a syntactically correct, yet semantically illegal request. The Server can not "
    "process this request until the client resolves the semantic errors described in the violations section.",
}
BAD_REQUEST = {
    "type": f"{DOCS_V1}#bad-request",
    "title": "Bad Request",
    "status": 400,
    "detail": "The request could not be understood by the server due to malformed syntax.",
}
# S9's example really has "status" as the string "400".
INVALID_ACCOUNT_ID = {
    "type": f"{DOCS}#bad-request",
    "title": "Bad Request",
    "status": "400",
    "detail": "Invalid AccountID",
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
UNAUTHORIZED_ACCESS_TOKEN = {
    "type": f"{DOCS_V1}#unauthorized",
    "title": "Unauthorized",
    "status": 401,
    "detail": "The client request has not been completed because it lacks valid authentication "
    "credentials(Access-Token)",
}
FORBIDDEN = {
    "type": f"{DOCS}#forbidden",
    "title": "Forbidden",
    "status": 403,
    "detail": "According to the access control policy the current user and/or accountId does not have permission to "
    "access this resource.",
}
RESOURCE_NOT_FOUND = {
    "type": f"{DOCS}#resource-not-found",
    "title": "Resource Not Found",
    "status": 404,
    "detail": "Either there is no API method associated with the URL path of the request, or the request refers to "
    "one or more resources that were not found.",
}
# S2's 415: the title really is "Conflict".
UNSUPPORTED_MEDIA_TYPE = {
    "type": f"{DOCS}#conflict",
    "title": "Conflict",
    "status": 415,
    "detail": "The media-type in Content-type of the request is not supported by the server.",
}
# Violation codes: 20002 (NotNull) and 20006 (Pattern) are documented [S1]; the others are the emulator's.
TYPE, NOT_NULL, SIZE, MIN, MAX, PATTERN = 20001, 20002, 20003, 20004, 20005, 20006
UUID_MESSAGE = r'must match "^[0-9a-fA-F]{8}\-[0-9a-fA-F]{4}\-[0-9a-fA-F]{4}\-[0-9a-fA-F]{4}\-[0-9a-fA-F]{12}$"'
ISSUER = "https://cc.avayacloud.com"
JWT_HEADER = b'{"alg":"RS256"}'
HOST = "na.api.avayacloud.com"
TOKENS_PATH = "/avaya/api/digital/chat/v1/accounts/{account}/tokens"
ACCESS_PATH = "/avaya/api/auth/v1/{account}/protocol/openid-connect/token"
STANDARD_BASE64 = re.compile(r"^[A-Za-z0-9+/]*$")


def violations(*items: tuple[str, str, int]) -> dict[str, Any]:
    """The 400 Constraint Violation body with these (field, message, code) violations, in this order."""
    return {**CONSTRAINT_VIOLATION, "violations": [{"field": f, "message": m, "code": c} for f, m, c in items]}


def b64url(segment: str) -> bytes:
    """Decode an unpadded base64url segment (JWS header and signature, JWK members)."""
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def journal_entry(client: httpx.Client, response: httpx.Response) -> dict[str, Any]:
    entry = client.get(f"/_emulator/journal/{response.headers['x-emulator-journal-id']}")
    assert entry.status_code == 200, entry.text
    return entry.json()


def assert_refused(
    client: httpx.Client, response: httpx.Response, body: dict[str, Any], check: str, says: str = ""
) -> dict[str, Any]:
    """The vendor's exact problem body, and the named failed check in the diagnosis header and the journal."""
    assert response.status_code == int(body["status"]), response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json() == body
    diagnosis = response.headers["x-emulator-diagnosis"]
    assert diagnosis.startswith(f"{check}: "), diagnosis
    assert " | remedy: " in diagnosis
    entry = journal_entry(client, response)
    assert entry["vendor"] == "avaya"
    assert entry["failedCheck"] == check
    assert entry["outcome"] == "rejected"
    assert entry["status"] == response.status_code
    assert entry["summary"].startswith(f"{check}: ")
    assert says in entry["summary"], entry["summary"]
    if entry["trace"] is not None:
        assert entry["trace"]["failedCheck"] == check
    return entry


# -- accounts registered through the control plane -------------------------------------------------------------
def random_account_id() -> str:
    return "".join(random.choices(string.ascii_letters, k=6))


@dataclass
class Tenant:
    """An account this test registered: its appkey, two API clients and one Chat Integration."""

    account_id: str
    appkey: str
    secrets: dict[str, str]
    integration: str

    @property
    def client_id(self) -> str:
        return next(iter(self.secrets))

    def form(self, client_id: str | None = None) -> dict[str, str]:
        client_id = client_id or self.client_id
        return {"grant_type": "client_credentials", "client_id": client_id, "client_secret": self.secrets[client_id]}

    def tokens(self, client: httpx.Client, client_id: str | None = None) -> dict[str, Any]:
        response = helpers.access_token_response(client, self.account_id, appkey=self.appkey, form=self.form(client_id))
        assert response.status_code == 200, response.text
        return response.json()

    def access_token(self, client: httpx.Client) -> str:
        return self.tokens(client)["access_token"]


def tenant_of(account_id: str, body: dict[str, Any]) -> Tenant:
    """The Tenant a PUT body describes."""
    integration = body["integrations"][0]
    return Tenant(
        account_id,
        body["appkey"],
        {c["clientId"]: c["clientSecret"] for c in body["clients"]},
        integration["integrationId"] if isinstance(integration, dict) else integration,
    )


class Accounts:
    """Registers accounts with random ids (so live runs do not collide) and deletes them at teardown."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.created: list[str] = []

    def unregistered_id(self) -> str:
        while True:
            account_id = random_account_id()
            if self.client.get(f"/_emulator/tenants/avaya/{account_id}").status_code == 404:
                return account_id

    def put(self, account_id: str, body: Any) -> httpx.Response:
        response = self.client.put(f"/_emulator/tenants/avaya/{account_id}", json=body)
        if response.status_code in (200, 201) and account_id not in self.created:
            self.created.append(account_id)
        return response

    def body(self, account_id: str) -> dict[str, Any]:
        suffix = uuid.uuid4().hex
        return {
            "appkey": f"TEST-ONLY-appkey-{account_id}-{suffix[:8]}",
            "clients": [
                {"clientId": "other-backend", "clientSecret": f"TEST-ONLY-secret-1-{suffix}"},
                {"clientId": "second-backend", "clientSecret": f"TEST-ONLY-secret-2-{suffix}"},
            ],
            "integrations": [str(uuid.uuid4())],
        }

    def register(self) -> Tenant:
        account_id = self.unregistered_id()
        body = self.body(account_id)
        response = self.put(account_id, body)
        assert response.status_code == 201, response.text
        return tenant_of(account_id, body)

    def cleanup(self) -> None:
        for account_id in self.created:
            self.client.delete(f"/_emulator/tenants/avaya/{account_id}")


@pytest.fixture
def accounts(client: httpx.Client) -> Iterator[Accounts]:
    registry = Accounts(client)
    yield registry
    registry.cleanup()


@pytest.fixture
def frozen(client: httpx.Client, now: float) -> Iterator[int]:
    """The emulator clock frozen at a whole second T (yielded); the real clock again afterwards."""
    at = int(now)
    assert client.post("/_emulator/clock", json={"freeze": at}).status_code == 200
    yield at
    client.post("/_emulator/clock", json={"real": True})


def advance(client: httpx.Client, seconds: float) -> None:
    assert client.post("/_emulator/clock", json={"advance": seconds}).status_code == 200


# -- the kit the refusal cases build their requests with -------------------------------------------------------
MISSING = object()  # a field left out of the body


def token_body(**changes: Any) -> dict[str, Any]:
    """A valid Generate JWT Token body for the default account, with fields changed (MISSING removes one)."""
    body: dict[str, Any] = {"integrationId": INTEGRATION, "customerId": "customer-1"}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not MISSING}


@dataclass
class Kit:
    client: httpx.Client
    accounts: Accounts

    @cached_property
    def token(self) -> str:
        """An access token of the default account."""
        return helpers.access_token(self.client)

    @cached_property
    def other(self) -> Tenant:
        """A second account, with its own appkey, clients and integration."""
        return self.accounts.register()

    def access(
        self,
        form: dict[str, str] | None = None,
        *,
        account: str = ACCOUNT,
        appkey: str | None = APPKEY,
        **kwargs: Any,
    ) -> httpx.Response:
        """POST the access-token API: form-encoded, as the official sample backend does (or raw ``kwargs``)."""
        if not kwargs:
            return helpers.access_token_response(self.client, account, appkey=appkey, form=form)
        headers = {"appkey": appkey} if appkey is not None else {}
        headers.update(kwargs.pop("headers", {}))
        return self.client.post(ACCESS_PATH.format(account=account), headers=headers, **kwargs)

    def refresh_form(
        self, refresh_token: str, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET
    ) -> dict[str, str]:
        return {
            "grant_type": "refresh_token",
            "client_id": client_id,
            "client_secret": secret,
            "refresh_token": refresh_token,
        }

    def generate(
        self,
        body: Any = None,
        *,
        bearer: str | object | None = MISSING,
        account: str = ACCOUNT,
        appkey: str | None = APPKEY,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """POST Generate JWT Token: JSON, Bearer (the default account's token unless given) and appkey."""
        sent: dict[str, str] = {}
        token = self.token if bearer is MISSING else bearer
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if appkey is not None:
            sent["appkey"] = appkey
        sent.update(headers or {})
        if "content" not in kwargs:
            kwargs["json"] = token_body() if body is None else body
        return self.client.post(TOKENS_PATH.format(account=account), headers=sent, **kwargs)


@pytest.fixture
def kit(client: httpx.Client, accounts: Accounts) -> Kit:
    return Kit(client, accounts)


@dataclass
class Refusal:
    id: str
    check: str
    send: Callable[[Kit], httpx.Response]
    body: dict[str, Any]
    says: str = ""  # a fragment the diagnosis summary must contain


# ==============================================================================================================
# 1. The whole backend flow, as the official sample backend does it
# ==============================================================================================================
def test_sample_backend_flow_issues_a_chat_jwt_the_sdk_can_read(client: httpx.Client, frozen: int) -> None:
    """server.js's two calls, verbatim: a form-encoded client_credentials grant with the appkey header, then the
    tokens call with Bearer + appkey and ttl as the STRING "30". The 201 holds only jwtToken: 'jwt.' + an RS256
    JWS whose header is exactly {"alg":"RS256"}, whose payload decodes the way the SDK decodes it (atob) and whose
    signature verifies with the key the control plane publishes."""
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    access = client.post(
        ACCESS_PATH.format(account=ACCOUNT),
        content="&".join(f"{k}={v}" for k, v in form.items()),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Connection": "keep-alive", "appkey": APPKEY},
    )
    assert access.status_code == 200, access.text
    assert access.headers["content-type"].startswith("application/json")
    assert access.headers["cache-control"] == "no-store"  # RFC 6749 §5.1
    grant = access.json()
    assert set(grant) == {"access_token", "expires_in", "refresh_token", "token_type"}
    assert grant["expires_in"] == 900
    assert grant["token_type"] == "Bearer"
    assert grant["access_token"] and grant["refresh_token"]
    assert grant["access_token"] != grant["refresh_token"]

    identifiers = {"emailAddresses": ["jane@example.com"], "phoneNumbers": ["+91 20 4101 8003"]}
    response = client.post(
        TOKENS_PATH.format(account=ACCOUNT),
        json={
            "customerId": "jane-42",
            "integrationId": INTEGRATION,
            "verifiedCustomer": True,
            "customerName": "Jane Doe",
            "customerIdentifiers": identifiers,
            "ttl": "30",
        },
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {grant['access_token']}",
            "appkey": APPKEY,
        },
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "x-emulator-diagnosis" not in response.headers
    assert list(response.json()) == ["jwtToken"]  # no expiry field
    jwt = response.json()["jwtToken"]

    prefix, header, payload, signature = jwt.split(".")
    assert prefix == "jwt"
    assert b64url(header) == JWT_HEADER
    claims = claims_of(jwt)
    assert claims["iss"] == ISSUER
    assert claims["sub"] == "userchatIntegration"
    assert claims["integrationId"] == INTEGRATION
    assert str(uuid.UUID(claims["jti"])) == claims["jti"]
    assert claims["iat"] == frozen
    assert claims["exp"] - claims["iat"] == 1800
    assert claims["accountId"] == ACCOUNT
    assert claims["customerId"] == "jane-42"
    assert claims["customerName"] == "Jane Doe"
    assert claims["verifiedCustomer"] is True
    assert claims["customerIdentifiers"] == identifiers

    keys = client.get("/_emulator/keys/avaya").json()
    public = serialization.load_pem_public_key(keys["pem"].encode())
    assert isinstance(public, rsa.RSAPublicKey)
    signing_input = f"{header}.{payload}".encode("ascii")
    raw_signature = b64url(signature)
    public.verify(raw_signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(InvalidSignature):  # the check is real: another payload does not verify
        public.verify(raw_signature, signing_input + b"x", padding.PKCS1v15(), hashes.SHA256())

    # The SDK then uses it: the first call of init() creates a session.
    session = client.post(f"{SDK_BASE}/sessions", json={"clientType": "web"}, headers=sdk_headers(jwt))
    assert session.status_code == 201, session.text


def test_published_key_formats_agree(client: httpx.Client) -> None:
    """GET /_emulator/keys/avaya: the pem, spki, jwk and jwks forms are the same RSA public key, for RS256."""
    keys = client.get("/_emulator/keys/avaya").json()
    from_pem = serialization.load_pem_public_key(keys["pem"].encode())
    from_spki = serialization.load_der_public_key(base64.b64decode(keys["spki"]))
    jwk = keys["jwk"]
    assert jwk["kty"] == "RSA"
    assert jwk["alg"] == "RS256"
    assert jwk["use"] == "sig"
    assert "d" not in jwk  # public half only
    assert keys["jwks"] == {"keys": [jwk]}
    n = int.from_bytes(b64url(jwk["n"]), "big")
    e = int.from_bytes(b64url(jwk["e"]), "big")
    assert isinstance(from_pem, rsa.RSAPublicKey)
    assert isinstance(from_spki, rsa.RSAPublicKey)
    assert from_pem.public_numbers() == from_spki.public_numbers() == rsa.RSAPublicNumbers(e, n)
    assert from_pem.key_size >= 2048
    assert "PRIVATE" not in json.dumps(keys)


@pytest.mark.parametrize(
    "example",
    [
        {
            "integrationId": "0847c56d-30fd-4b75-90be-a4ff8d08bd44",
            "customerId": "9104fa6f-cb4a-43ea-8b28-c1ab36832c76",
            "verifiedCustomer": True,
            "customerName": "Joe Soap",
            "customerIdentifiers": {"emailAddresses": ["john@example.com"], "phoneNumbers": ["+91 20 4101 8003"]},
            "ttl": 15,
        },
        {
            "integrationId": "0847c56d-30fd-4b75-90be-a4ff8d08bd44",
            "customerId": "f44266bc-9133-4aa2-bf17-80374f1195ac",
            "verifiedCustomer": False,
            "customerName": "",
        },
    ],
    ids=["verified-customer", "unverified-customer"],
)
def test_documented_request_examples_are_accepted(kit: Kit, example: dict[str, Any]) -> None:
    """S1's two request examples, verbatim (the default fixture account owns their integrationId)."""
    response = kit.generate(example)
    assert response.status_code == 201, response.text
    claims = claims_of(response.json()["jwtToken"])
    assert claims["customerId"] == example["customerId"]
    assert claims["verifiedCustomer"] is example["verifiedCustomer"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"ttl": "30"}, {"exp_minus_iat": 1800}),
        ({"ttl": " 45 "}, {"exp_minus_iat": 2700}),
        ({"ttl": 60}, {"exp_minus_iat": 3600}),
        ({"ttl": None}, {"exp_minus_iat": 900}),
        ({"verifiedCustomer": "true"}, {"verifiedCustomer": True}),
        ({"verifiedCustomer": None}, {"verifiedCustomer": False}),
        ({"customerId": "c" * 256}, {"customerId": "c" * 256}),
        ({"customerId": 12345}, {"customerId": "12345"}),
        ({"customerName": "n" * 70}, {"customerName": "n" * 70}),
        ({"integrationId": INTEGRATION.upper()}, {"integrationId": INTEGRATION}),
        ({"ttl": 30.5}, {"exp_minus_iat": 1800}),
        ({"customerName": "\U0001f600" * 35}, {"customerName": "\U0001f600" * 35}),
        (
            {
                "verifiedCustomer": True,
                "customerIdentifiers": {f"{i:02d}" + "k" * 48: ["v" * 256] * 5 for i in range(10)},
            },
            {"customerIdentifiers": {f"{i:02d}" + "k" * 48: ["v" * 256] * 5 for i in range(10)}},
        ),
    ],
    ids=[
        "ttl string",
        "ttl string with spaces",
        "ttl 60",
        "ttl null is the default",
        "verifiedCustomer string",
        "verifiedCustomer null",
        "customerId 256",
        "customerId number",
        "customerName 70",
        "integrationId upper case",
        "ttl 30.5 truncated as Jackson does",
        "customerName of 35 emoji is 70 UTF-16 units",
        "identifiers at every limit",
    ],
)
def test_tolerated_bodies(kit: Kit, changes: dict[str, Any], expected: dict[str, Any]) -> None:
    """What the API accepts at its limits and as Jackson coerces it (numeric strings, "true", numbers as ids)."""
    response = kit.generate(token_body(**changes))
    assert response.status_code == 201, response.text
    claims = claims_of(response.json()["jwtToken"])
    for name, value in expected.items():
        if name == "exp_minus_iat":
            assert claims["exp"] - claims["iat"] == value
        else:
            assert claims[name] == value


def test_media_types_with_parameters_are_accepted(kit: Kit) -> None:
    """'; charset=…' parameters do not change the media type of either call."""
    access = kit.access(
        content=f"grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
    )
    assert access.status_code == 200, access.text
    response = kit.generate(
        content=json.dumps(token_body()).encode(),
        bearer=access.json()["access_token"],
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201, response.text


# ==============================================================================================================
# 2. Legacy path, refresh_token grant, host routing
# ==============================================================================================================
def test_legacy_access_token_path(kit: Kit) -> None:
    """/auth/realms/{accountId}/protocol/openid-connect/token (before May 2024) answers like the current path."""
    response = helpers.access_token_response(kit.client, legacy=True)
    assert response.status_code == 200, response.text
    grant = response.json()
    assert set(grant) == {"access_token", "expires_in", "refresh_token", "token_type"}
    assert grant["expires_in"] == 900
    assert kit.generate(bearer=grant["access_token"]).status_code == 201


def test_legacy_path_refuses_alike(kit: Kit) -> None:
    """The legacy path runs the same checks: a wrong appkey is the gateway's 401 (Appkey)."""
    response = helpers.access_token_response(kit.client, appkey="TEST-ONLY-wrong", legacy=True)
    assert_refused(kit.client, response, UNAUTHORIZED_APPKEY, "appkey")


def test_refresh_token_grant_gives_new_tokens(kit: Kit, frozen: int) -> None:
    """grant_type=refresh_token with the client's credentials: 200 with a new access token that outlives the first
    (the first expires 900 s after its issue, the refreshed one 900 s after the refresh)."""
    first = helpers.access_token_response(kit.client).json()
    advance(kit.client, 600)
    response = kit.access(kit.refresh_form(first["refresh_token"]))
    assert response.status_code == 200, response.text
    second = response.json()
    assert set(second) == {"access_token", "expires_in", "refresh_token", "token_type"}
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    advance(kit.client, 400)  # T+1000: the first access token is 1000 s old, the second 400 s
    assert_refused(
        kit.client, kit.generate(bearer=first["access_token"]), UNAUTHORIZED_ACCESS_TOKEN, "access_token_valid"
    )
    assert kit.generate(bearer=second["access_token"]).status_code == 201
    # the refreshed refresh_token refreshes too
    assert kit.access(kit.refresh_form(second["refresh_token"])).status_code == 200


def test_vendor_host_names_route_without_the_prefix(kit: Kit) -> None:
    """Host: na.api.avayacloud.com (and the starter kit's na.cc.avayacloud.com) serve the same APIs at the real
    paths, without /avaya; their refusals carry the diagnosis too."""
    host = {"Host": HOST, "appkey": APPKEY}
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    current = kit.client.post(f"/api/auth/v1/{ACCOUNT}/protocol/openid-connect/token", data=form, headers=host)
    assert current.status_code == 200, current.text
    legacy = kit.client.post(f"/auth/realms/{ACCOUNT}/protocol/openid-connect/token", data=form, headers=host)
    assert legacy.status_code == 200, legacy.text
    bearer = {"Authorization": f"Bearer {current.json()['access_token']}"}
    for name in (HOST, "eu.api.avayacloud.com", "na.cc.avayacloud.com"):
        response = kit.client.post(
            f"/api/digital/chat/v1/accounts/{ACCOUNT}/tokens",
            json=token_body(),
            headers={**host, **bearer, "Host": name},
        )
        assert response.status_code == 201, (name, response.text)
        assert journal_entry(kit.client, response)["host"] == name
    refused = kit.client.post(
        f"/api/digital/chat/v1/accounts/{ACCOUNT}/tokens", json=token_body(), headers={**host, "appkey": "nope"}
    )
    assert_refused(kit.client, refused, UNAUTHORIZED_APPKEY, "appkey")


# ==============================================================================================================
# 3. Every refusal, triggered for real
# ==============================================================================================================
def _refresh_of_other_client(k: Kit) -> httpx.Response:
    """A refresh token issued to one client of an account, presented by another client of the same account."""
    first, second = list(k.other.secrets)
    refresh = k.other.tokens(k.client, first)["refresh_token"]
    form = k.refresh_form(refresh, second, k.other.secrets[second])
    return k.access(form, account=k.other.account_id, appkey=k.other.appkey)


def _refresh_of_other_account(k: Kit) -> httpx.Response:
    refresh = k.other.tokens(k.client)["refresh_token"]
    return k.access(k.refresh_form(refresh))


def _expired_refresh_token(k: Kit) -> httpx.Response:
    refresh = helpers.access_token_response(k.client).json()["refresh_token"]
    advance(k.client, 1801)
    return k.access(k.refresh_form(refresh))


def _access_token_as_refresh_token(k: Kit) -> httpx.Response:
    return k.access(k.refresh_form(k.token))


CLIENT_CREDENTIALS = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}

ACCESS_TOKEN_REFUSALS = [
    Refusal("accountId with a digit", "account_id_format", lambda k: k.access(account="ABCDE1"), INVALID_ACCOUNT_ID),
    Refusal("accountId of 7 letters", "account_id_format", lambda k: k.access(account="ABCDEFG"), INVALID_ACCOUNT_ID),
    Refusal("accountId of 5 letters", "account_id_format", lambda k: k.access(account="ABCDE"), INVALID_ACCOUNT_ID),
    Refusal(
        "unknown account",
        "account_known",
        lambda k: k.access(account=k.accounts.unregistered_id()),
        RESOURCE_NOT_FOUND,
        "is not registered",
    ),
    Refusal("missing appkey", "appkey", lambda k: k.access(appkey=None), UNAUTHORIZED_APPKEY, "no 'appkey' header"),
    Refusal(
        "wrong appkey", "appkey", lambda k: k.access(appkey="TEST-ONLY-wrong"), UNAUTHORIZED_APPKEY, "not this account"
    ),
    Refusal(
        "appkey of another account",
        "appkey",
        lambda k: k.access(appkey=k.other.appkey),
        UNAUTHORIZED_APPKEY,
        "not this account",
    ),
    Refusal(
        "JSON body",
        "content_type",
        lambda k: k.access(json=CLIENT_CREDENTIALS),
        UNSUPPORTED_MEDIA_TYPE,
        "'application/json'",
    ),
    Refusal(
        "text/plain body",
        "content_type",
        lambda k: k.access(content="grant_type=client_credentials", headers={"Content-Type": "text/plain"}),
        UNSUPPORTED_MEDIA_TYPE,
        "'text/plain'",
    ),
    Refusal(
        "no body, no Content-Type",
        "content_type",
        lambda k: k.access(content=b""),
        UNSUPPORTED_MEDIA_TYPE,
        "missing",
    ),
    Refusal(
        "missing grant_type",
        "grant_type",
        lambda k: k.access({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}),
        violations(("grant_type", "must not be null", NOT_NULL)),
        "grant_type is missing",
    ),
    Refusal(
        "unsupported grant_type (password)",
        "grant_type",
        lambda k: k.access({**CLIENT_CREDENTIALS, "grant_type": "password", "username": "u", "password": "p"}),
        violations(("grant_type", 'must match "client_credentials|refresh_token"', PATTERN)),
        "'password' is not supported",
    ),
    Refusal(
        "missing client_id",
        "client_fields",
        lambda k: k.access({"grant_type": "client_credentials", "client_secret": CLIENT_SECRET}),
        violations(("client_id", "must not be null", NOT_NULL)),
        "['client_id']",
    ),
    Refusal(
        "missing client_secret",
        "client_fields",
        lambda k: k.access({"grant_type": "client_credentials", "client_id": CLIENT_ID}),
        violations(("client_secret", "must not be null", NOT_NULL)),
        "['client_secret']",
    ),
    Refusal(
        "empty client_id and client_secret",
        "client_fields",
        lambda k: k.access({"grant_type": "client_credentials", "client_id": "", "client_secret": ""}),
        violations(("client_id", "must not be null", NOT_NULL), ("client_secret", "must not be null", NOT_NULL)),
    ),
    Refusal(
        "refresh grant without refresh_token",
        "client_fields",
        lambda k: k.access({**CLIENT_CREDENTIALS, "grant_type": "refresh_token"}),
        violations(("refresh_token", "must not be null", NOT_NULL)),
    ),
    Refusal(
        "unknown client",
        "client_credentials",
        lambda k: k.access({**CLIENT_CREDENTIALS, "client_id": "nobody"}),
        UNAUTHORIZED,
        "no client 'nobody'",
    ),
    Refusal(
        "wrong client_secret",
        "client_credentials",
        lambda k: k.access({**CLIENT_CREDENTIALS, "client_secret": "TEST-ONLY-wrong-secret"}),
        UNAUTHORIZED,
        "wrong client_secret",
    ),
    Refusal(
        "client of another account",
        "client_credentials",
        lambda k: k.access(k.other.form()),
        UNAUTHORIZED,
        "no client 'other-backend'",
    ),
    Refusal(
        "garbage refresh_token",
        "refresh_token",
        lambda k: k.access(k.refresh_form("garbage.refresh.token")),
        UNAUTHORIZED,
        "refresh_token",
    ),
    Refusal(
        "refresh_token of another client",
        "refresh_token",
        _refresh_of_other_client,
        UNAUTHORIZED,
        "another account or client",
    ),
    Refusal(
        "refresh_token of another account",
        "refresh_token",
        _refresh_of_other_account,
        UNAUTHORIZED,
        "another account or client",
    ),
    Refusal("expired refresh_token", "refresh_token", _expired_refresh_token, UNAUTHORIZED, "older than 1800"),
    Refusal("access token as refresh_token", "refresh_token", _access_token_as_refresh_token, UNAUTHORIZED),
    Refusal(
        "form over 64 KiB",
        "body_size",
        lambda k: k.access({**CLIENT_CREDENTIALS, "padding": "p" * 70_000}),
        BAD_REQUEST,
        "limit",
    ),
]


def _expired_access_token(k: Kit) -> httpx.Response:
    token = k.token
    advance(k.client, 901)  # expires_in is 900
    return k.generate(bearer=token)


def _chat_jwt_as_access_token(k: Kit) -> httpx.Response:
    jwt = k.generate().json()["jwtToken"]
    return k.generate(bearer=jwt)


def _refresh_token_as_access_token(k: Kit) -> httpx.Response:
    return k.generate(bearer=helpers.access_token_response(k.client).json()["refresh_token"])


GENERATE_JWT_REFUSALS = [
    Refusal("accountId with digits", "account_id_format", lambda k: k.generate(account="ABC123"), INVALID_ACCOUNT_ID),
    Refusal("accountId of 7 letters", "account_id_format", lambda k: k.generate(account="ABCDEFG"), INVALID_ACCOUNT_ID),
    Refusal("missing appkey", "appkey", lambda k: k.generate(appkey=None), UNAUTHORIZED_APPKEY, "no 'appkey' header"),
    Refusal(
        "unknown appkey",
        "appkey",
        lambda k: k.generate(appkey="TEST-ONLY-unknown"),
        UNAUTHORIZED_APPKEY,
        "matches no registered account",
    ),
    Refusal(
        "missing Authorization",
        "access_token_present",
        lambda k: k.generate(bearer=None),
        UNAUTHORIZED,
        "no 'Authorization: Bearer",
    ),
    Refusal(
        "Basic instead of Bearer",
        "access_token_present",
        lambda k: k.generate(bearer=None, headers={"Authorization": f"Basic {k.token}"}),
        UNAUTHORIZED,
    ),
    Refusal(
        "Bearer without a token",
        "access_token_present",
        lambda k: k.generate(bearer=None, headers={"Authorization": "Bearer"}),
        UNAUTHORIZED,
    ),
    Refusal(
        "garbage Bearer",
        "access_token_valid",
        lambda k: k.generate(bearer="not-an-access-token"),
        UNAUTHORIZED_ACCESS_TOKEN,
        "not one this emulator issues",
    ),
    Refusal(
        "expired access token",
        "access_token_valid",
        _expired_access_token,
        UNAUTHORIZED_ACCESS_TOKEN,
        "over 900 s old",
    ),
    Refusal(
        "chat JWT as access token",
        "access_token_valid",
        _chat_jwt_as_access_token,
        UNAUTHORIZED_ACCESS_TOKEN,
    ),
    Refusal(
        "refresh token as access token",
        "access_token_valid",
        _refresh_token_as_access_token,
        UNAUTHORIZED_ACCESS_TOKEN,
        "not issued by this emulator",
    ),
    Refusal(
        "access token of another account",
        "account_access",
        lambda k: k.generate(bearer=k.other.access_token(k.client)),
        FORBIDDEN,
        f"the path names account {ACCOUNT}",
    ),
    Refusal(
        "appkey of another account",
        "account_access",
        lambda k: k.generate(appkey=k.other.appkey),
        FORBIDDEN,
    ),
    Refusal(
        "token and appkey of another account",
        "account_access",
        lambda k: k.generate(bearer=k.other.access_token(k.client), appkey=k.other.appkey),
        FORBIDDEN,
    ),
    Refusal(
        "unregistered account in the path",
        "account_access",
        lambda k: k.generate(account=k.accounts.unregistered_id()),
        FORBIDDEN,
    ),
    Refusal(
        "text/plain body",
        "content_type",
        lambda k: k.generate(content=json.dumps(token_body()), headers={"Content-Type": "text/plain"}),
        UNSUPPORTED_MEDIA_TYPE,
        "'text/plain'",
    ),
    Refusal(
        "form body",
        "content_type",
        lambda k: k.generate(
            content=urlencode(token_body()), headers={"Content-Type": "application/x-www-form-urlencoded"}
        ),
        UNSUPPORTED_MEDIA_TYPE,
    ),
    Refusal(
        "malformed JSON",
        "body_json",
        lambda k: k.generate(content=b'{"integrationId": ', headers={"Content-Type": "application/json"}),
        BAD_REQUEST,
        "not JSON",
    ),
    Refusal(
        "empty JSON body",
        "body_json",
        lambda k: k.generate(content=b"", headers={"Content-Type": "application/json"}),
        BAD_REQUEST,
        "empty",
    ),
    Refusal("JSON array", "body_json", lambda k: k.generate([token_body()]), BAD_REQUEST, "not an object"),
    Refusal(
        "JSON body over 64 KiB",
        "body_size",
        lambda k: k.generate(token_body(padding="p" * 70_000)),
        BAD_REQUEST,
        "limit",
    ),
    Refusal(
        "several violations at once",
        "body_valid",
        lambda k: k.generate(
            {
                "customerId": "",
                "verifiedCustomer": "yes",
                "customerName": "n" * 71,
                "customerIdentifiers": {},
                "ttl": 61,
            }
        ),
        violations(
            ("integrationId", "must not be null", NOT_NULL),
            ("customerId", "size must be between 1 and 256", SIZE),
            ("verifiedCustomer", "must be a boolean", TYPE),
            ("customerName", "size must be between 0 and 70", SIZE),
            ("customerIdentifiers", "size must be between 1 and 10", SIZE),
            ("ttl", "must be less than or equal to 60", MAX),
        ),
        "6 violation(s)",
    ),
    Refusal(
        "unknown integration",
        "integration_exists",
        lambda k: k.generate(token_body(integrationId=str(uuid.uuid4()))),
        RESOURCE_NOT_FOUND,
        "is not registered",
    ),
    Refusal(
        "integration of another account",
        "integration_of_account",
        lambda k: k.generate(token_body(integrationId=k.other.integration)),
        FORBIDDEN,
        "belongs to account",
    ),
]


@pytest.mark.parametrize("case", ACCESS_TOKEN_REFUSALS, ids=[c.id for c in ACCESS_TOKEN_REFUSALS])
def test_access_token_refusal(kit: Kit, case: Refusal) -> None:
    """POST …/openid-connect/token: the vendor's exact answer and the check that chose it."""
    assert_refused(kit.client, case.send(kit), case.body, case.check, case.says)


@pytest.mark.parametrize("case", GENERATE_JWT_REFUSALS, ids=[c.id for c in GENERATE_JWT_REFUSALS])
def test_generate_jwt_refusal(kit: Kit, case: Refusal) -> None:
    """POST …/accounts/{accountId}/tokens: the vendor's exact answer and the check that chose it."""
    assert_refused(kit.client, case.send(kit), case.body, case.check, case.says)


# (changes to a valid body, expected violations). Messages are Bean Validation's; codes as in errors.py.
_LIST6 = ["a@example.com"] * 6
FIELD_RULES: list[tuple[str, dict[str, Any], list[tuple[str, str, int]]]] = [
    ("integrationId missing", {"integrationId": MISSING}, [("integrationId", "must not be null", NOT_NULL)]),
    ("integrationId null", {"integrationId": None}, [("integrationId", "must not be null", NOT_NULL)]),
    ("integrationId not a UUID", {"integrationId": "my-integration"}, [("integrationId", UUID_MESSAGE, PATTERN)]),
    (
        "integrationId without dashes",
        {"integrationId": INTEGRATION.replace("-", "")},
        [("integrationId", UUID_MESSAGE, PATTERN)],
    ),
    ("integrationId braced", {"integrationId": "{" + INTEGRATION + "}"}, [("integrationId", UUID_MESSAGE, PATTERN)]),
    ("integrationId a number", {"integrationId": 42}, [("integrationId", UUID_MESSAGE, PATTERN)]),
    ("integrationId an object", {"integrationId": {"id": INTEGRATION}}, [("integrationId", "must be a string", TYPE)]),
    ("customerId missing", {"customerId": MISSING}, [("customerId", "must not be null", NOT_NULL)]),
    ("customerId null", {"customerId": None}, [("customerId", "must not be null", NOT_NULL)]),
    ("customerId empty", {"customerId": ""}, [("customerId", "size must be between 1 and 256", SIZE)]),
    ("customerId 257", {"customerId": "c" * 257}, [("customerId", "size must be between 1 and 256", SIZE)]),
    ("customerId a list", {"customerId": ["c"]}, [("customerId", "must be a string", TYPE)]),
    ("customerId a boolean", {"customerId": True}, [("customerId", "must be a string", TYPE)]),
    ("customerName 71", {"customerName": "n" * 71}, [("customerName", "size must be between 0 and 70", SIZE)]),
    (
        "customerName of 36 emoji (72 UTF-16 units)",
        {"customerName": "\U0001f600" * 36},
        [("customerName", "size must be between 0 and 70", SIZE)],
    ),
    ("customerName an object", {"customerName": {"first": "Jane"}}, [("customerName", "must be a string", TYPE)]),
    ("verifiedCustomer yes", {"verifiedCustomer": "yes"}, [("verifiedCustomer", "must be a boolean", TYPE)]),
    ("verifiedCustomer 1", {"verifiedCustomer": 1}, [("verifiedCustomer", "must be a boolean", TYPE)]),
    (
        "customerIdentifiers empty object",
        {"verifiedCustomer": True, "customerIdentifiers": {}},
        [("customerIdentifiers", "size must be between 1 and 10", SIZE)],
    ),
    (
        "customerIdentifiers 11 keys",
        {"verifiedCustomer": True, "customerIdentifiers": {f"id{i}": ["x"] for i in range(11)}},
        [("customerIdentifiers", "size must be between 1 and 10", SIZE)],
    ),
    (
        "customerIdentifiers 6 items",
        {"verifiedCustomer": True, "customerIdentifiers": {"emailAddresses": _LIST6}},
        [("customerIdentifiers.emailAddresses", "size must be between 0 and 5", SIZE)],
    ),
    (
        "customerIdentifiers empty string item",
        {"verifiedCustomer": True, "customerIdentifiers": {"emailAddresses": ["a@example.com", ""]}},
        [("customerIdentifiers.emailAddresses[1]", "size must be between 1 and 256", SIZE)],
    ),
    (
        "customerIdentifiers 257-character item",
        {"verifiedCustomer": True, "customerIdentifiers": {"userId": ["u" * 257]}},
        [("customerIdentifiers.userId[0]", "size must be between 1 and 256", SIZE)],
    ),
    (
        "customerIdentifiers number item",
        {"verifiedCustomer": True, "customerIdentifiers": {"phoneNumbers": [4420]}},
        [("customerIdentifiers.phoneNumbers[0]", "must be a string", TYPE)],
    ),
    (
        "customerIdentifiers value not a list",
        {"verifiedCustomer": True, "customerIdentifiers": {"emailAddresses": "a@example.com"}},
        [("customerIdentifiers.emailAddresses", "must be an array of strings", TYPE)],
    ),
    (
        "customerIdentifiers key of 51",
        {"verifiedCustomer": True, "customerIdentifiers": {"k" * 51: ["x"]}},
        [("customerIdentifiers." + "k" * 51, "size must be between 1 and 50 (identifier name)", SIZE)],
    ),
    (
        "customerIdentifiers a string",
        {"verifiedCustomer": True, "customerIdentifiers": "a@example.com"},
        [("customerIdentifiers", "must be an object of string arrays", TYPE)],
    ),
    (
        "customerIdentifiers a list",
        {"verifiedCustomer": True, "customerIdentifiers": [{"emailAddresses": ["a@example.com"]}]},
        [("customerIdentifiers", "must be an object of string arrays", TYPE)],
    ),
    (
        "customerIdentifiers of an unverified customer are still validated",
        {"customerIdentifiers": {}},
        [("customerIdentifiers", "size must be between 1 and 10", SIZE)],
    ),
    ("ttl 14", {"ttl": 14}, [("ttl", "must be greater than or equal to 15", MIN)]),
    ("ttl 61", {"ttl": 61}, [("ttl", "must be less than or equal to 60", MAX)]),
    ("ttl 0", {"ttl": 0}, [("ttl", "must be greater than or equal to 15", MIN)]),
    ("ttl -30", {"ttl": -30}, [("ttl", "must be greater than or equal to 15", MIN)]),
    ("ttl string 14", {"ttl": "14"}, [("ttl", "must be greater than or equal to 15", MIN)]),
    ("ttl string 61", {"ttl": "61"}, [("ttl", "must be less than or equal to 60", MAX)]),
    ("ttl abc", {"ttl": "abc"}, [("ttl", "must be an integer (minutes)", TYPE)]),
    ("ttl empty string", {"ttl": ""}, [("ttl", "must be an integer (minutes)", TYPE)]),
    ("ttl string 30.5", {"ttl": "30.5"}, [("ttl", "must be an integer (minutes)", TYPE)]),
    ("ttl true", {"ttl": True}, [("ttl", "must be an integer (minutes)", TYPE)]),
    ("ttl a list", {"ttl": [30]}, [("ttl", "must be an integer (minutes)", TYPE)]),
]


@pytest.mark.parametrize(("changes", "expected"), [r[1:] for r in FIELD_RULES], ids=[r[0] for r in FIELD_RULES])
def test_generate_jwt_field_rule(kit: Kit, changes: dict[str, Any], expected: list[tuple[str, str, int]]) -> None:
    """Each rule of GenerateJWTToken on its own: 400 Constraint Violation naming the field, message and code."""
    response = kit.generate(token_body(**changes))
    entry = assert_refused(kit.client, response, violations(*expected), "body_valid")
    body_valid = next(c for c in entry["trace"]["checks"] if c["check"] == "body_valid")
    assert body_valid["actual"] == response.json()["violations"]


def test_every_check_has_a_failing_case() -> None:
    """The refusal tables fail every check of both pipelines (plus the body cap that runs before them)."""
    assert {c.check for c in ACCESS_TOKEN_REFUSALS} == {*ACCESS_TOKEN.names, "body_size"}
    assert {c.check for c in GENERATE_JWT_REFUSALS} == {*GENERATE_JWT.names, "body_size"}


def test_checks_run_in_the_documented_order(kit: Kit) -> None:
    """Research B/C: the accountId format first, then the appkey, then the credentials; the first failure wins
    and the later checks are reported as not run."""
    response = kit.generate(account="ABC123", appkey=None, bearer=None, content=b"{", headers={"Content-Type": "x/y"})
    entry = assert_refused(kit.client, response, INVALID_ACCOUNT_ID, "account_id_format")
    statuses = [(c["check"], c["status"]) for c in entry["trace"]["checks"]]
    assert statuses[0] == ("account_id_format", "failed")
    assert {s for _, s in statuses[1:]} == {"not_run"}
    response = kit.generate(appkey=None, bearer=None)
    assert_refused(kit.client, response, UNAUTHORIZED_APPKEY, "appkey")
    response = kit.access({"grant_type": "password"}, appkey=None)
    assert_refused(kit.client, response, UNAUTHORIZED_APPKEY, "appkey")


# ==============================================================================================================
# 4. Expiry, on the emulator clock
# ==============================================================================================================
def create_session(client: httpx.Client, jwt: str) -> httpx.Response:
    """The Chat SDK's first call after init(): POST …/sessions with the chat JWT."""
    return client.post(f"{SDK_BASE}/sessions", json={"clientType": "web"}, headers=sdk_headers(jwt))


def assert_jwt_expired(client: httpx.Client, response: httpx.Response) -> None:
    entry = assert_refused(client, response, UNAUTHORIZED, "jwt_not_expired", "expired")
    assert "clockSkew 0 s" in entry["summary"]


def test_default_chat_jwt_lives_exactly_15_minutes(kit: Kit, frozen: int) -> None:
    """Without ttl: iat = T and exp = T + 900 on the emulator clock. An SDK call at T+14:59 works, at T+15:00 (exp
    itself: no grace) and T+15:01 it is refused with 401 and failedCheck jwt_not_expired."""
    jwt = kit.generate().json()["jwtToken"]
    claims = claims_of(jwt)
    assert (claims["iat"], claims["exp"]) == (frozen, frozen + 900)
    advance(kit.client, 899)
    assert create_session(kit.client, jwt).status_code == 201
    advance(kit.client, 1)
    assert_jwt_expired(kit.client, create_session(kit.client, jwt))
    advance(kit.client, 1)
    assert_jwt_expired(kit.client, create_session(kit.client, jwt))


def test_ttl_60_moves_the_boundary_to_60_minutes(kit: Kit, frozen: int) -> None:
    """ttl 60: still valid at T+15:01 and T+59:59, refused at T+60:00."""
    jwt = kit.generate(token_body(ttl=60)).json()["jwtToken"]
    assert claims_of(jwt)["exp"] == frozen + 3600
    advance(kit.client, 901)
    assert create_session(kit.client, jwt).status_code == 201
    advance(kit.client, 3599 - 901)
    assert create_session(kit.client, jwt).status_code == 201
    advance(kit.client, 1)
    assert_jwt_expired(kit.client, create_session(kit.client, jwt))


@pytest.mark.parametrize("ttl", [15, 16, 30, "30", 45, 59, 60], ids=["15", "16", "30", "string 30", "45", "59", "60"])
def test_exp_minus_iat_is_ttl_minutes(kit: Kit, frozen: int, ttl: int | str) -> None:
    """exp - iat is exactly ttl * 60 seconds, iat the emulator's (frozen) time."""
    claims = claims_of(kit.generate(token_body(ttl=ttl)).json()["jwtToken"])
    assert claims["iat"] == frozen
    assert claims["exp"] - claims["iat"] == int(ttl) * 60


def test_jwt_times_come_from_the_emulator_clock(kit: Kit, client: httpx.Client, now: float) -> None:
    """Frozen 30 days back, the JWT's iat is that instant, not the wall clock's."""
    past = int(now) - 30 * 86400
    assert client.post("/_emulator/clock", json={"freeze": past}).status_code == 200
    try:
        claims = claims_of(kit.generate(bearer=helpers.access_token(client)).json()["jwtToken"])
    finally:
        client.post("/_emulator/clock", json={"real": True})
    assert (claims["iat"], claims["exp"]) == (past, past + 900)


def test_every_call_issues_a_fresh_token(kit: Kit, frozen: int) -> None:
    """Same body, same frozen second: two different tokens (different jti); both stay valid."""
    first, second = (kit.generate().json()["jwtToken"] for _ in range(2))
    assert first != second
    assert claims_of(first)["jti"] != claims_of(second)["jti"]
    assert claims_of(first)["exp"] == claims_of(second)["exp"]
    assert create_session(kit.client, first).status_code == 201
    assert create_session(kit.client, second).status_code == 201


def test_expired_access_token_is_refused_after_900_seconds(kit: Kit, frozen: int) -> None:
    """The access token works at T+900 (expires_in) and is refused at T+901 with the gateway's (Access-Token) 401."""
    token = kit.token
    advance(kit.client, 900)
    assert kit.generate(bearer=token).status_code == 201
    advance(kit.client, 1)
    assert_refused(kit.client, kit.generate(bearer=token), UNAUTHORIZED_ACCESS_TOKEN, "access_token_valid")


# ==============================================================================================================
# 5. What the JWT says about the customer
# ==============================================================================================================
IDENTIFIERS = {"emailAddresses": ["jane@example.com"], "phoneNumbers": ["+1 555 0100", "+1 555 0101"]}


def test_verified_customer_carries_identifiers(kit: Kit) -> None:
    """verifiedCustomer true: customerIdentifiers, customerName and the flag are in the JWT, with no warning."""
    response = kit.generate(token_body(verifiedCustomer=True, customerName="Jane Doe", customerIdentifiers=IDENTIFIERS))
    assert response.status_code == 201, response.text
    claims = claims_of(response.json()["jwtToken"])
    assert claims["customerIdentifiers"] == IDENTIFIERS
    assert claims["verifiedCustomer"] is True
    assert claims["customerName"] == "Jane Doe"
    assert journal_entry(kit.client, response)["trace"]["warnings"] == []


@pytest.mark.parametrize("verified", [False, MISSING, "false"], ids=["false", "omitted", "string false"])
def test_unverified_customer_identifiers_are_dropped_with_a_warning(kit: Kit, verified: Any) -> None:
    """'Customer identifiers should not be added for anonymous users' [S1]: an unverified customer's identifiers
    are accepted (201) but not put in the JWT, and the journal trace warns about it."""
    response = kit.generate(token_body(verifiedCustomer=verified, customerIdentifiers=IDENTIFIERS))
    assert response.status_code == 201, response.text
    claims = claims_of(response.json()["jwtToken"])
    assert "customerIdentifiers" not in claims
    assert claims["verifiedCustomer"] is False
    entry = journal_entry(kit.client, response)
    assert "customerIdentifiers" not in entry["trace"]["claims"]
    assert entry["trace"]["warnings"] == [
        "customerIdentifiers are ignored for an unverified customer (verifiedCustomer is false)"
    ]


def test_unknown_fields_are_ignored_with_a_warning(kit: Kit) -> None:
    """displayName is an SDK init() parameter, not a token field: 201, not in the JWT, a warning that says so."""
    response = kit.generate(token_body(displayName="Jane", nickname="JD"))
    assert response.status_code == 201, response.text
    claims = claims_of(response.json()["jwtToken"])
    assert "displayName" not in claims
    assert "nickname" not in claims
    warnings = journal_entry(kit.client, response)["trace"]["warnings"]
    assert warnings == [
        "unknown field(s) ['displayName', 'nickname'] ignored (displayName is an SDK init() parameter, not a token field)"
    ]


def test_verified_customer_needs_a_customer_id(kit: Kit) -> None:
    """A verified customer without customerId is refused like any other (customerId is required)."""
    response = kit.generate(
        {"integrationId": INTEGRATION, "verifiedCustomer": True, "customerIdentifiers": IDENTIFIERS}
    )
    assert_refused(kit.client, response, violations(("customerId", "must not be null", NOT_NULL)), "body_valid")


# ==============================================================================================================
# 6. Every payload segment decodes with the browser's atob
# ==============================================================================================================
# '>', '?', '~' and DEL are the ASCII bytes that base64url turns into '-' or '_' (at positions 2 mod 3); non-ASCII
# text (é, 中, emoji) does so as UTF-8 bytes. Quotes, backslashes and control characters exercise JSON escaping.
_RISKY = (
    "?>~\x7f" * 4 + "éßжñ中文日本" + "😀🎉👩‍💻🇫🇷" + "\"\\/'<&\t\n" + string.ascii_letters + string.digits + " .-_@+"
)


def _text(rng: random.Random, low: int, high: int) -> str:
    return "".join(rng.choice(_RISKY) for _ in range(rng.randint(low, high)))


def random_customer(rng: random.Random) -> dict[str, Any]:
    """A valid token body with a random name, id and identifiers drawn from atob-hostile characters."""
    name = _text(rng, 0, 60)[:70]
    identifiers = {
        _text(rng, 1, 20): [_text(rng, 1, 40) for _ in range(rng.randint(1, 5))] for _ in range(rng.randint(1, 4))
    }
    return token_body(
        customerId=_text(rng, 1, 120),
        customerName=name,
        verifiedCustomer=True,
        customerIdentifiers=identifiers,
        ttl=rng.randint(15, 60),
    )


def issue_random_tokens(kit: Kit, count: int, seed: int) -> list[tuple[dict[str, Any], str]]:
    rng = random.Random(seed)
    issued = []
    for _ in range(count):
        body = random_customer(rng)
        response = kit.generate(body)
        assert response.status_code == 201, (body, response.text)
        issued.append((body, response.json()["jwtToken"]))
    return issued


def test_payloads_are_atob_safe_for_hostile_customer_data(kit: Kit) -> None:
    """200 tokens for random customers: every payload segment is standard-base64 only (no '-' or '_'), decodes
    with b64decode(validate=True) and gives back exactly what was sent. The control shows the data is hostile:
    plain base64url of the same claims would have put '-' or '_' in most of these segments."""
    naive_unsafe = 0
    for body, jwt in issue_random_tokens(kit, 200, seed=20261121):
        segment = jwt.split(".")[2]
        assert STANDARD_BASE64.match(segment), segment
        assert len(segment) % 4 != 1
        claims = json.loads(base64.b64decode(segment + "=" * (-len(segment) % 4), validate=True))
        assert claims == claims_of(jwt)
        assert claims["customerId"] == body["customerId"]
        assert claims.get("customerName", "") == body["customerName"]
        assert claims["customerIdentifiers"] == body["customerIdentifiers"]
        assert claims["exp"] - claims["iat"] == body["ttl"] * 60
        naive = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
        naive_unsafe += bool(re.search(rb"[-_]", naive))
    assert naive_unsafe > 150, naive_unsafe


_NODE_ATOB = """
const segments = JSON.parse(require("fs").readFileSync(0, "utf8"));
const results = segments.map((s) => {
  try { return { exp: JSON.parse(atob(s)).exp }; }  // the SDK: JSON.parse(window.atob(t)).exp
  catch (e) { return { error: String(e) }; }
});
let control;
try { atob("ab-c"); control = "accepted"; } catch (e) { control = e.name; }
process.stdout.write(JSON.stringify({ results, control }));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_atob_decodes_every_payload(kit: Kit) -> None:
    """Node's real atob (the browser's algorithm) on 100 random payload segments, in one node process: none
    throws and each gives the JWT's exp; the control shows node's atob does throw on base64url."""
    issued = issue_random_tokens(kit, 100, seed=7)
    segments = [jwt.split(".")[2] for _, jwt in issued]
    node = shutil.which("node")
    assert node is not None
    done = subprocess.run(
        [node, "-e", _NODE_ATOB], input=json.dumps(segments), capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    output = json.loads(done.stdout)
    assert output["control"] == "InvalidCharacterError"
    assert output["results"] == [{"exp": claims_of(jwt)["exp"]} for _, jwt in issued]


# ==============================================================================================================
# 7. The journal
# ==============================================================================================================
def test_journal_never_holds_a_client_secret(kit: Kit) -> None:
    """The sample backend sends client_secret in the form body: neither the right secret nor a wrong one, nor a
    registered account's secrets, appear anywhere in GET /_emulator/journal; the form's client_secret is
    recorded as <redacted>."""
    other = kit.other
    wrong = "TEST-ONLY-wrong-secret-" + uuid.uuid4().hex
    grant = helpers.access_token_response(kit.client).json()
    kit.access({**CLIENT_CREDENTIALS, "client_secret": wrong})
    kit.access(kit.refresh_form(grant["refresh_token"]))
    kit.access({**CLIENT_CREDENTIALS, "grant_type": "refresh_token"})  # a violation
    kit.access(appkey="TEST-ONLY-wrong")
    kit.access(json=CLIENT_CREDENTIALS)  # 415
    helpers.access_token_response(kit.client, legacy=True)
    other.tokens(kit.client)
    kit.generate(bearer=grant["access_token"])

    journal = kit.client.get("/_emulator/journal")
    assert journal.status_code == 200
    text = journal.text
    for secret in (CLIENT_SECRET, wrong, *other.secrets.values()):
        assert secret not in text
    entries = [e for e in journal.json()["entries"] if e["operation"] == "access_token"]
    assert len(entries) == 8
    formed = [e for e in entries if "client_secret" in e["details"]]
    assert len(formed) == 7  # all but the JSON one
    assert {e["details"]["client_secret"] for e in formed} == {"<redacted>"}
    assert all("refresh_token" not in e["details"] for e in entries)


def test_journal_entry_of_a_generate_call_has_the_claims(kit: Kit) -> None:
    """The accepted entry names the tenant and operation and holds the passed trace with the JWT's claims."""
    response = kit.generate(token_body(customerName="Jane", ttl=20))
    assert response.status_code == 201
    entry = journal_entry(kit.client, response)
    assert entry["outcome"] == "accepted"
    assert entry["failedCheck"] is None
    assert entry["tenant"] == ACCOUNT
    assert entry["operation"] == "generate_jwt"
    assert entry["trace"]["ok"] is True
    assert [c["check"] for c in entry["trace"]["checks"]] == GENERATE_JWT.names
    assert {c["status"] for c in entry["trace"]["checks"]} == {"passed"}
    assert entry["trace"]["claims"] == claims_of(response.json()["jwtToken"])
    assert "ttl 20 min" in entry["summary"]


# ==============================================================================================================
# 8. The control plane for accounts
# ==============================================================================================================
def test_register_show_list_replace_delete(kit: Kit, accounts: Accounts) -> None:
    """PUT registers (201) and replaces (200); GET and the list show it without any secret; the registered
    credentials work at once; DELETE removes it (204, then 404) and its APIs refuse it."""
    account_id = accounts.unregistered_id()
    body = accounts.body(account_id)
    secret = body["clients"][0]["clientSecret"]
    created = accounts.put(account_id, body)
    assert created.status_code == 201, created.text
    view = {
        "accountId": account_id,
        "appkey": body["appkey"],
        "clients": [{"clientId": "other-backend"}, {"clientId": "second-backend"}],
        "integrations": [{"integrationId": body["integrations"][0], "name": ""}],
    }
    assert created.json() == view
    shown = kit.client.get(f"/_emulator/tenants/avaya/{account_id}")
    assert shown.json() == view
    listed = kit.client.get("/_emulator/tenants/avaya").json()
    assert listed["vendor"] == "avaya"
    assert {"accountId": account_id, "integrations": body["integrations"]} in listed["tenants"]
    for text in (created.text, shown.text, json.dumps(listed)):
        assert "clientSecret" not in text
        assert secret not in text

    first = tenant_of(account_id, body)
    jwt = kit.generate(
        token_body(integrationId=first.integration),
        bearer=first.access_token(kit.client),
        account=account_id,
        appkey=first.appkey,
    )
    assert jwt.status_code == 201, jwt.text

    new_integration = {"integrationId": str(uuid.uuid4()), "name": "New"}
    replaced_body = {**accounts.body(account_id), "integrations": [new_integration]}
    replaced = accounts.put(account_id, replaced_body)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["appkey"] == replaced_body["appkey"]
    assert replaced.json()["integrations"] == [new_integration]
    second = tenant_of(account_id, replaced_body)
    stale_appkey = helpers.access_token_response(kit.client, account_id, appkey=first.appkey, form=first.form())
    assert_refused(kit.client, stale_appkey, UNAUTHORIZED_APPKEY, "appkey")
    stale_secret = helpers.access_token_response(kit.client, account_id, appkey=second.appkey, form=first.form())
    assert_refused(kit.client, stale_secret, UNAUTHORIZED, "client_credentials")
    old_integration = kit.generate(
        token_body(integrationId=first.integration),
        bearer=second.access_token(kit.client),
        account=account_id,
        appkey=second.appkey,
    )
    assert_refused(kit.client, old_integration, RESOURCE_NOT_FOUND, "integration_exists")

    assert kit.client.delete(f"/_emulator/tenants/avaya/{account_id}").status_code == 204
    assert kit.client.get(f"/_emulator/tenants/avaya/{account_id}").status_code == 404
    assert kit.client.delete(f"/_emulator/tenants/avaya/{account_id}").status_code == 404
    assert account_id not in [t["accountId"] for t in kit.client.get("/_emulator/tenants/avaya").json()["tenants"]]
    gone = helpers.access_token_response(kit.client, account_id, appkey=second.appkey, form=second.form())
    assert_refused(kit.client, gone, RESOURCE_NOT_FOUND, "account_known")


def test_create_integration(kit: Kit) -> None:
    """POST …/integrations {"name"} -> 201 {"integrationId": <new UUID>, "name"}; the account shows it and a chat
    JWT for it works with the SDK endpoints."""
    other = kit.other
    response = kit.client.post(f"/_emulator/tenants/avaya/{other.account_id}/integrations", json={"name": "Support"})
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == {"integrationId", "name"}
    assert created["name"] == "Support"
    assert str(uuid.UUID(created["integrationId"])) == created["integrationId"]
    assert created["integrationId"] != other.integration
    integrations = kit.client.get(f"/_emulator/tenants/avaya/{other.account_id}").json()["integrations"]
    assert integrations == [{"integrationId": other.integration, "name": ""}, created]
    again = kit.client.post(f"/_emulator/tenants/avaya/{other.account_id}/integrations", json={"name": "Support"})
    assert again.json()["integrationId"] != created["integrationId"]

    jwt = kit.generate(
        token_body(integrationId=created["integrationId"]),
        bearer=other.access_token(kit.client),
        account=other.account_id,
        appkey=other.appkey,
    )
    assert jwt.status_code == 201, jwt.text
    session = kit.client.post(
        f"/avaya/sdk/digital/chat/v1/integrations/{created['integrationId']}/sessions",
        json={"clientType": "web"},
        headers=sdk_headers(jwt.json()["jwtToken"], other.appkey),
    )
    assert session.status_code == 201, session.text


def _bad_account_bodies(collide_with: Tenant) -> list[tuple[str, Any]]:
    good = {"appkey": "TEST-ONLY-fresh-appkey", "clients": [], "integrations": []}
    return [
        ("not an object", ["appkey"]),
        ("no appkey", {"clients": []}),
        ("empty appkey", {**good, "appkey": " "}),
        ("appkey a number", {**good, "appkey": 5}),
        ("unknown field", {**good, "secret": "x"}),
        ("accountId differs", {**good, "accountId": "ZZZZZZ"}),
        ("clients not a list", {**good, "clients": {"clientId": "a", "clientSecret": "b"}}),
        ("client without secret", {**good, "clients": [{"clientId": "a"}]}),
        ("client with extra field", {**good, "clients": [{"clientId": "a", "clientSecret": "b", "role": "x"}]}),
        (
            "duplicate clientId",
            {**good, "clients": [{"clientId": "a", "clientSecret": "b"}, {"clientId": "a", "clientSecret": "c"}]},
        ),
        ("integrations not a list", {**good, "integrations": INTEGRATION}),
        ("integration not a UUID", {**good, "integrations": ["chat-1"]}),
        ("integration with extra field", {**good, "integrations": [{"integrationId": INTEGRATION, "x": 1}]}),
        ("appkey of another account", {**good, "appkey": collide_with.appkey}),
        ("integration of another account", {**good, "integrations": [collide_with.integration]}),
    ]


def test_bad_account_bodies_change_nothing(kit: Kit, accounts: Accounts) -> None:
    """Each bad PUT answers 400 {"error"} and leaves the state as it was: a new id stays unregistered, an
    existing account keeps its previous view. A malformed accountId in the path is refused too."""
    existing = accounts.register()
    bad_bodies = _bad_account_bodies(kit.other)
    before = kit.client.get(f"/_emulator/tenants/avaya/{existing.account_id}").json()
    fresh_id = accounts.unregistered_id()
    listed = kit.client.get("/_emulator/tenants/avaya").json()
    for name, body in bad_bodies:
        for account_id in (fresh_id, existing.account_id):
            response = accounts.put(account_id, body)
            assert response.status_code == 400, (name, account_id, response.text)
            assert response.json()["error"], name
        assert kit.client.get(f"/_emulator/tenants/avaya/{fresh_id}").status_code == 404, name
        assert kit.client.get(f"/_emulator/tenants/avaya/{existing.account_id}").json() == before, name
    not_json = kit.client.put(
        f"/_emulator/tenants/avaya/{fresh_id}", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400
    for bad_id in ("ABC12", "ABCDEFG", "ABCDÉF"):
        response = accounts.put(bad_id, accounts.body(bad_id))
        assert response.status_code == 400, (bad_id, response.text)
    assert kit.client.get("/_emulator/tenants/avaya").json() == listed
    # the account whose appkey/integration was claimed still works
    assert kit.other.access_token(kit.client)


@pytest.mark.parametrize(
    "body",
    [{}, {"name": ""}, {"name": "   "}, {"name": 5}, {"name": "x" * 257}, {"name": "x", "id": "y"}, ["Support"]],
    ids=["empty", "empty name", "blank name", "name a number", "name 257", "extra field", "a list"],
)
def test_bad_integration_bodies_change_nothing(kit: Kit, body: Any) -> None:
    """POST …/integrations with a bad body: 400, and the account's integrations are unchanged."""
    other = kit.other
    before = kit.client.get(f"/_emulator/tenants/avaya/{other.account_id}").json()
    response = kit.client.post(f"/_emulator/tenants/avaya/{other.account_id}/integrations", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]
    assert kit.client.get(f"/_emulator/tenants/avaya/{other.account_id}").json() == before


def test_integration_for_an_unknown_account(kit: Kit) -> None:
    account_id = kit.accounts.unregistered_id()
    response = kit.client.post(f"/_emulator/tenants/avaya/{account_id}/integrations", json={"name": "Support"})
    assert response.status_code == 404
    assert kit.client.get(f"/_emulator/tenants/avaya/{account_id}").status_code == 404


# ==============================================================================================================
# Emulator bugs found while writing these tests (fixed; kept as regression tests)
# ==============================================================================================================
def test_ttl_superscript_digit_is_a_type_violation(kit: Kit) -> None:
    """ttl "²" is no integer: the same violation as "abc", not an empty Constraint Violation."""
    response = kit.generate(token_body(ttl="²"))
    assert_refused(kit.client, response, violations(("ttl", "must be an integer (minutes)", TYPE)), "body_valid")


def test_integration_id_with_a_trailing_newline_breaks_the_pattern(kit: Kit) -> None:
    """'<uuid>\\n' does not match ^…$ as Avaya's @Pattern applies it: 400 with code 20006."""
    response = kit.generate(token_body(integrationId=INTEGRATION + "\n"))
    assert_refused(kit.client, response, violations(("integrationId", UUID_MESSAGE, PATTERN)), "body_valid")


def test_client_secret_in_the_query_string_is_not_journaled(kit: Kit) -> None:
    """A backend that sends its credentials as URL parameters is refused (the form is empty) and the journal
    must still not keep the secret."""
    query = f"grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"
    response = kit.client.post(
        f"{ACCESS_PATH.format(account=ACCOUNT)}?{query}",
        content=b"",
        headers={"appkey": APPKEY, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_refused(kit.client, response, violations(("grant_type", "must not be null", NOT_NULL)), "grant_type")
    assert CLIENT_SECRET not in kit.client.get("/_emulator/journal").text


def _with_second_account(tmp_path: Path, appkey: str, integration: str) -> Path:
    config = tmp_path / "two-accounts.toml"
    config.write_text(
        'extends = "default"\n\n[[avaya.accounts]]\naccountId = "GHIJKL"\n'
        f'appkey = "{appkey}"\nintegrations = ["{integration}"]\nclients = []\n'
    )
    return config


@pytest.mark.parametrize(
    ("appkey", "integration", "message"),
    [
        (
            APPKEY,
            "5a4d8c1e-0b7f-4f3a-9a8e-2d6c1b0e9f71",
            "[[avaya.accounts]] accountId GHIJKL: appkey: already the appkey of account ABCDEF "
            "(an appkey identifies one account)",
        ),
        (
            "TEST-ONLY-appkey-GHIJKL",
            INTEGRATION.upper(),
            f"[[avaya.accounts]] accountId GHIJKL: integrations: ['{INTEGRATION}'] already belong to account ABCDEF",
        ),
    ],
    ids=["shared appkey", "shared integration"],
)
def test_configured_accounts_may_not_share_an_appkey_or_an_integration(
    tmp_path: Path, appkey: str, integration: str, message: str
) -> None:
    """The rule PUT /_emulator/tenants/avaya enforces (an appkey and an integration belong to one account) holds
    for [[avaya.accounts]] too: the configuration is refused, naming the account and what it shares."""
    with pytest.raises(ConfigError) as exc:
        create_app(_with_second_account(tmp_path, appkey, integration))
    assert str(exc.value) == message


def test_configured_accounts_with_their_own_appkey_and_integrations_load(tmp_path: Path) -> None:
    create_app(_with_second_account(tmp_path, "TEST-ONLY-appkey-GHIJKL", "5a4d8c1e-0b7f-4f3a-9a8e-2d6c1b0e9f71"))
