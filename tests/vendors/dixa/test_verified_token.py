"""Dixa's verified identity token: every check of the pipeline failed for real, keys and their rotation, jti
replay, iat and the clock, external_id, explain, and tokens minted by Node's jose exactly as Dixa's page shows.

Tokens are made by raw python-jose or by a raw-cryptography A256CBC-HS512 (tests/vendors/dixa/helpers.py), never
by the emulator. Any failure other than an invalid email is Dixa's unknown-error, with the named check beside it.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from jose import jwe as jose_jwe

from emulator.vendors.dixa.checks import PIPELINE
from tests.interop import test_node_jose as node_interop
from tests.vendors.dixa.helpers import (
    ANONYMOUS_MIN,
    CLAIMED_MIN,
    DROP,
    ENC,
    NEEDS_VERIFIED,
    UNKNOWN_ERROR,
    VERIFIED_MIN,
    advance,
    agent_view,
    assert_conversation_refused,
    assert_conversation_started,
    assert_refused,
    b64u,
    claims,
    fixture_key,
    flip,
    freeze,
    get_session,
    header_of,
    identify,
    invalid_email,
    journal_entry,
    new_key,
    new_session,
    pyjose,
    raw_jwe,
    register,
    sessions_url,
    set_identity,
    tenant,
    verified,
)

NODE_DIR = node_interop.NODE_DIR
node = node_interop.node  # the module-scoped fixture: skips without node/npm, fails under CI=true if npm ci fails

# Dixa's own example (seed 004), claims and all.
SEED_PAYLOAD = {
    "jti": "123e4567-e89b-12d3-a456-426614174000",
    "iat": 1516239022,
    "email": "example@email.com",
    "name": "John Doe",
    "external_id": "cb3f0475-40b0-46d5-af29-e68a8e2e992d",
}


@dataclass
class Kit:
    client: httpx.Client
    now: float
    rsa: Any  # an RSA key pair, for alg RSA-OAEP
    key: bytes = field(default_factory=lambda: fixture_key(ANONYMOUS_MIN))

    def claims(self, **overrides: Any) -> dict[str, Any]:
        return claims(self.now, **overrides)

    def token(self, **overrides: Any) -> str:
        return pyjose(self.claims(**overrides), self.key)

    def raw(self, plaintext: dict[str, Any] | bytes | None = None, **options: Any) -> str:
        return raw_jwe(self.claims() if plaintext is None else plaintext, self.key, **options)

    def used(self) -> str:
        """A token already accepted once (on another session)."""
        token = self.token()
        identify(self.client, ANONYMOUS_MIN, new_session(self.client, ANONYMOUS_MIN)["sessionId"], verified(token))
        return token


@dataclass
class Case:
    id: str
    check: str
    build: Callable[[Kit], Any]  # -> the token (any JSON value) for messenger ANONYMOUS_MIN
    says: str = ""  # a fragment the diagnosis must contain
    error: dict[str, Any] = field(default_factory=lambda: dict(UNKNOWN_ERROR))
    payload: Callable[[Any], Any] | None = None  # the verified payload for the token, if not {type: jwe, token}


def _rsa_oaep(k: Kit) -> str:
    from cryptography.hazmat.primitives import serialization

    pem = k.rsa.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pyjose(k.claims(), pem, alg="RSA-OAEP")


def _reheadered(k: Kit) -> str:
    """A valid token whose header was re-encoded with a kid after encryption (the AAD no longer matches)."""
    parts = k.token().split(".")
    parts[0] = b64u(json.dumps({"alg": "dir", "enc": ENC, "kid": "k1"}).encode())
    return ".".join(parts)


CASES = [
    Case("garbage", "token_format", lambda k: "this is not a token", "1 dot-separated segments, expected 5"),
    Case("empty token", "token_format", lambda k: "", "token is empty"),
    Case("token not a string", "token_format", lambda k: 42, "must be a string"),
    Case(
        "payload without type jwe",
        "token_format",
        lambda k: k.token(),
        "must be a string",
        payload=lambda token: {"token": token},
    ),
    Case(
        "a signed JWT (3 segments), not a JWE",
        "token_format",
        lambda k: ".".join(k.token().split(".")[:3]),
        "3 dot-separated segments",
    ),
    Case("6 segments", "token_format", lambda k: k.token() + ".AAAA", "6 dot-separated segments"),
    Case("header not JSON", "token_format", lambda k: "bm90anNvbg..AAAA.AAAA.AAAA", "not base64url-encoded JSON"),
    Case("70 KiB token", "token_format", lambda k: "a" * 70 * 1024),
    Case("alg RSA-OAEP", "jwe_alg", _rsa_oaep, "'RSA-OAEP'"),
    Case("alg none", "jwe_alg", lambda k: k.raw(header={"alg": "none", "enc": ENC}), "'none'"),
    Case("no alg", "jwe_alg", lambda k: k.raw(header={"enc": ENC}), "None"),
    Case(
        "alg A256KW",
        "jwe_alg",
        lambda k: pyjose(k.claims(), new_key(32), alg="A256KW"),
        "'A256KW'",
    ),
    Case(
        "enc A128CBC-HS256 with a 32-byte key",
        "jwe_enc",
        lambda k: pyjose(k.claims(), k.key[:32], enc="A128CBC-HS256"),
        "'A128CBC-HS256'",
    ),
    Case(
        "enc A256GCM with a 32-byte key",
        "jwe_enc",
        lambda k: pyjose(k.claims(), k.key[32:], enc="A256GCM"),
        "'A256GCM'",
    ),
    Case("zip DEF", "jwe_enc", lambda k: pyjose(k.claims(), k.key, zip="DEF"), "crit/zip"),
    Case(
        "crit header",
        "jwe_enc",
        lambda k: k.raw(header={"alg": "dir", "enc": ENC, "crit": ["exp"], "exp": 1}),
        "crit/zip",
    ),
    Case(
        "non-empty encrypted key",
        "encrypted_key_empty",
        lambda k: k.raw(encrypted_key=new_key(32)),
        "not empty",
    ),
    Case("a random key", "jwe_decrypt", lambda k: pyjose(k.claims(), new_key()), "another key"),
    Case(
        "the key of another messenger",
        "jwe_decrypt",
        lambda k: pyjose(k.claims(), fixture_key(CLAIMED_MIN)),
        "none of the 1 active key(s)",
    ),
    Case(
        "MAC and AES halves of the key swapped",
        "jwe_decrypt",
        lambda k: pyjose(k.claims(), k.key[32:] + k.key[:32]),
    ),
    Case("tampered ciphertext", "jwe_decrypt", lambda k: flip(k.token(), 3), "altered"),
    Case("tampered tag", "jwe_decrypt", lambda k: flip(k.token(), 4)),
    Case("tampered iv", "jwe_decrypt", lambda k: flip(k.token(), 2)),
    Case("tag truncated to 16 bytes", "jwe_decrypt", lambda k: _truncated_tag(k.token())),
    Case("header changed after encryption", "jwe_decrypt", _reheadered),
    Case("claims not JSON", "claims_json", lambda k: k.raw(b"email=jane@example.com"), "not JSON"),
    Case("claims a JSON list", "claims_json", lambda k: k.raw(b'["jane@example.com"]'), "not an object"),
    Case(
        "a nested signed JWT as payload",
        "claims_json",
        lambda k: k.raw(b"eyJhbGciOiJIUzI1NiJ9.eyJlbWFpbCI6ImpAZXhhbXBsZS5jb20ifQ.c2ln"),
        "not JSON",
    ),
    Case(
        "iat NaN (Python's json would accept it)",
        "claims_json",
        lambda k: k.raw(b'{"email":"j@example.com","name":"J","iat":NaN,"jti":"x"}'),
        "NaN",
    ),
    Case("missing email", "claims_required", lambda k: k.token(email=DROP), "['email']"),
    Case("missing name", "claims_required", lambda k: k.token(name=DROP), "['name']"),
    Case("missing iat", "claims_required", lambda k: k.token(iat=DROP), "['iat']"),
    Case("missing jti", "claims_required", lambda k: k.token(jti=DROP), "['jti']"),
    Case("empty claims", "claims_required", lambda k: k.raw(b"{}"), "['email', 'name', 'iat', 'jti']"),
    Case(
        "empty email",
        "email_valid",
        lambda k: k.token(email=""),
        "'' is not a valid address",
        error=invalid_email(""),
    ),
    Case("empty name", "claims_required", lambda k: k.token(name=""), "['name']"),
    Case("email a number", "claims_required", lambda k: k.token(email=42), "['email']"),
    Case("iat a string", "claims_required", lambda k: k.token(iat=str(int(k.now))), "['iat']"),
    Case("iat true", "claims_required", lambda k: k.token(iat=True), "['iat']"),
    Case("jti a number", "claims_required", lambda k: k.token(jti=1234), "['jti']"),
    Case("external_id a number", "claims_required", lambda k: k.token(external_id=42), "external_id"),
    Case(
        "invalid email",
        "email_valid",
        lambda k: k.token(email="invalid-email"),
        "'invalid-email' is not a valid address",
        error=invalid_email("invalid-email"),
    ),
    Case(
        "email without a domain dot",
        "email_valid",
        lambda k: k.token(email="jane@localhost"),
        error=invalid_email("jane@localhost"),
    ),
    Case("iat 10 minutes in the future", "iat", lambda k: k.token(iat=int(k.now) + 600), "in the future (skew 60 s)"),
    Case("iat in milliseconds", "iat", lambda k: k.token(iat=int(k.now * 1000)), "milliseconds"),
    Case("iat a huge integer", "iat", lambda k: k.token(iat=10**400), "milliseconds, but iat is seconds"),
    Case("iat a huge negative integer", "iat", lambda k: k.token(iat=-(10**400)), "out of range"),
    Case("replayed jti", "jti_fresh", lambda k: k.used(), "already used"),
]


def _truncated_tag(token: str) -> str:
    parts = token.split(".")
    parts[4] = parts[4][:22]  # 16 bytes
    return ".".join(parts)


@pytest.fixture
def kit(client: httpx.Client, now: float, other_key: Any) -> Kit:
    return Kit(client, now, other_key)


def _identity(case: Case, token: Any) -> dict[str, Any]:
    if case.payload is not None:
        return {"type": "verified", "payload": case.payload(token)}
    return verified(token)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_set_identity_refuses(case: Case, kit: Kit) -> None:
    """setUserIdentity with the broken token: 400 with Dixa's BackendError (unknown-error, or
    invalid-email-address for a bad email), the named check in header and journal, the level unchanged."""
    session_id = new_session(kit.client, ANONYMOUS_MIN)["sessionId"]
    token = case.build(kit)
    response = set_identity(kit.client, ANONYMOUS_MIN, session_id, _identity(case, token))
    diagnosis = assert_refused(kit.client, response, 400, case.error, case.check)
    assert case.says in diagnosis
    assert "remedy: " in diagnosis
    entry = journal_entry(kit.client, response)
    assert entry["trace"]["failedCheck"] == case.check
    assert get_session(kit.client, ANONYMOUS_MIN, session_id)["identity"] == "anonymous"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_init_refuses_alike(case: Case, kit: Kit) -> None:
    """init with the same token as its userIdentity: the session is still created (201, anonymous) with the same
    BackendError beside it, and the same named check."""
    token = case.build(kit)
    response = kit.client.post(sessions_url(ANONYMOUS_MIN), json={"userIdentity": _identity(case, token)})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body == {"sessionId": body["sessionId"], "identity": "anonymous", "user": {}, "backendError": case.error}
    assert response.headers["x-emulator-diagnosis"].startswith(f"{case.check}: ")
    assert journal_entry(kit.client, response)["failedCheck"] == case.check


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.payload is None], ids=[c.id for c in CASES if c.payload is None]
)
def test_explain_names_the_same_check(case: Case, kit: Kit) -> None:
    """POST /_emulator/explain names the same failed check and the vendor's answer."""
    report = explain(kit.client, ANONYMOUS_MIN, case.build(kit))
    assert report["ok"] is False
    assert report["failedCheck"] == case.check
    assert report["vendorResponse"] == {"error": case.error}
    assert case.says in report["summary"] + " | remedy: " + report["remedy"]
    statuses = [c["status"] for c in report["checks"]]
    assert statuses.count("failed") == 1
    assert report["checks"][statuses.index("failed")]["check"] == case.check


def test_every_check_has_a_failing_case() -> None:
    assert {c.check for c in CASES} == set(PIPELINE.names)


def explain(client: httpx.Client, messenger: str, token: Any) -> dict[str, Any]:
    response = client.post("/_emulator/explain", json={"vendor": "dixa", "tenant": messenger, "token": token})
    assert response.status_code == 200, response.text
    return response.json()


# --- the builders themselves -------------------------------------------------------------------------------------


def test_raw_builder_is_rfc_7518_a256cbc_hs512(kit: Kit) -> None:
    """The raw-cryptography builder makes what python-jose decrypts (so the broken tokens built with it differ
    from a good token only where meant), and the emulator accepts it."""
    payload = kit.claims()
    token = raw_jwe(payload, kit.key)
    assert header_of(token) == {"alg": "dir", "enc": ENC}
    assert token.split(".")[1] == ""
    assert json.loads(jose_jwe.decrypt(token, kit.key)) == payload
    session_id = new_session(kit.client, ANONYMOUS_MIN)["sessionId"]
    assert identify(kit.client, ANONYMOUS_MIN, session_id, verified(token))["identity"] == "verified"


def test_python_jose_token_is_accepted(kit: Kit) -> None:
    """Raw python-jose (alg dir, enc A256CBC-HS512, the fixture key) gives a verified, trusted visitor."""
    token = kit.token(name="Py Jose", email="py@example.com")
    assert header_of(token) == {"alg": "dir", "enc": ENC}
    session_id = new_session(kit.client, ANONYMOUS_MIN)["sessionId"]
    response = set_identity(kit.client, ANONYMOUS_MIN, session_id, verified(token))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "sessionId": session_id,
        "identity": "verified",
        "user": {"name": "Py Jose", "email": "py@example.com", "trusted": True},
        "canStartConversation": True,
    }
    entry = journal_entry(kit.client, response)
    assert (entry["outcome"], entry["failedCheck"]) == ("accepted", None)


def test_seed_example_claims_are_accepted(kit: Kit) -> None:
    """Dixa's own example payload (iat of 2018, a fixed jti) verifies: the emulator bounds iat only in the
    future, and external_id is kept."""
    session_id = new_session(kit.client, ANONYMOUS_MIN)["sessionId"]
    view = identify(kit.client, ANONYMOUS_MIN, session_id, verified(pyjose(SEED_PAYLOAD, kit.key)))
    assert view["user"] == {
        "name": "John Doe",
        "email": "example@email.com",
        "trusted": True,
        "external_id": "cb3f0475-40b0-46d5-af29-e68a8e2e992d",
    }


def test_missing_email_is_unknown_error_not_invalid_email(kit: Kit) -> None:
    """A token without email is unknown-error (claims_required), not invalid-email-address, and does not block
    conversations the way an invalid email does."""
    session_id = new_session(kit.client, ANONYMOUS_MIN)["sessionId"]
    response = set_identity(kit.client, ANONYMOUS_MIN, session_id, verified(kit.token(email=DROP)))
    assert_refused(kit.client, response, 400, UNKNOWN_ERROR, "claims_required")
    assert_conversation_started(kit.client, ANONYMOUS_MIN, session_id)


# --- keys ------------------------------------------------------------------------------------------------------


def _key_id_of(client: httpx.Client, response: httpx.Response) -> str:
    """The id of the key that decrypted an accepted token, as the journal's trace names it."""
    return journal_entry(client, response)["trace"]["keyId"]


def test_key_rotation(client: httpx.Client, now: float) -> None:
    """Two active keys: tokens of either verify. A replacing PUT without the old key: its tokens then fail with
    jwe_decrypt, the new key's tokens still verify, GET shows only the remaining key id, and the visitors verified
    with the removed key keep their sessions and identity."""
    old, new = new_key(), new_key()
    messenger, answer = register(client, [old, new], minIdentificationLevel="verified")
    first = new_session(client, messenger)["sessionId"]
    second = new_session(client, messenger)["sessionId"]
    response_old = set_identity(client, messenger, first, verified(pyjose(claims(now), old)))
    response_new = set_identity(client, messenger, second, verified(raw_jwe(claims(now), new)))
    assert (response_old.status_code, response_new.status_code) == (200, 200)
    old_id, new_id = _key_id_of(client, response_old), _key_id_of(client, response_new)
    assert sorted(answer["keyIds"]) == sorted([old_id, new_id])

    response = client.put(
        f"/_emulator/tenants/dixa/{messenger}", json={"minIdentificationLevel": "verified", "keys": [b64u(new)]}
    )
    assert response.status_code == 200
    assert tenant(client, messenger).json()["keyIds"] == [new_id]

    for session_id in (first, second):
        assert get_session(client, messenger, session_id)["identity"] == "verified"
        assert_conversation_started(client, messenger, session_id)
    third = new_session(client, messenger)["sessionId"]
    diagnosis = assert_refused(
        client,
        set_identity(client, messenger, third, verified(pyjose(claims(now), old))),
        400,
        UNKNOWN_ERROR,
        "jwe_decrypt",
    )
    assert "removed key" in diagnosis
    assert_conversation_refused(client, messenger, third, {**NEEDS_VERIFIED, "identity": "anonymous"}, "minimum_level")
    identify(client, messenger, third, verified(pyjose(claims(now), new)))
    assert_conversation_started(client, messenger, third)


def test_a_key_of_the_messenger_after_another_key(client: httpx.Client, now: float) -> None:
    """With several keys, a token of the last key still verifies (each active key is tried)."""
    keys = [new_key() for _ in range(4)]
    messenger, _ = register(client, keys)
    session_id = new_session(client, messenger)["sessionId"]
    identify(client, messenger, session_id, verified(pyjose(claims(now), keys[-1])))


# --- jti replay ------------------------------------------------------------------------------------------------


def test_replayed_jti_is_refused_then_accepted_after_the_window(client: httpx.Client, now: float) -> None:
    """A jti is refused again within the replay window (24 h by default, emulator clock), also inside a fresh
    token with other claims, and accepted once the window has passed."""
    freeze(client, now)
    key = fixture_key(VERIFIED_MIN)
    jti = str(uuid.uuid4())
    token = pyjose(claims(now, jti=jti), key)
    identify(client, VERIFIED_MIN, new_session(client, VERIFIED_MIN)["sessionId"], verified(token))

    session_id = new_session(client, VERIFIED_MIN)["sessionId"]
    diagnosis = assert_refused(
        client, set_identity(client, VERIFIED_MIN, session_id, verified(token)), 400, UNKNOWN_ERROR, "jti_fresh"
    )
    assert "replay window 86400 s" in diagnosis
    other = pyjose(claims(now, jti=jti, name="Someone Else"), key)
    advance(client, 86399)
    assert_refused(
        client, set_identity(client, VERIFIED_MIN, session_id, verified(other)), 400, UNKNOWN_ERROR, "jti_fresh"
    )
    advance(client, 2)
    assert identify(client, VERIFIED_MIN, session_id, verified(token))["identity"] == "verified"
    assert_refused(  # accepted again: the window starts over
        client,
        set_identity(client, VERIFIED_MIN, new_session(client, VERIFIED_MIN)["sessionId"], verified(token)),
        400,
        UNKNOWN_ERROR,
        "jti_fresh",
    )


def test_replay_window_is_configurable(client: httpx.Client, now: float) -> None:
    """replayWindow = 60: the jti is refused 59 s later and accepted 61 s later."""
    freeze(client, now)
    key = new_key()
    messenger, _ = register(client, [key], replayWindow=60)
    token = pyjose(claims(now), key)
    identify(client, messenger, new_session(client, messenger)["sessionId"], verified(token))
    session_id = new_session(client, messenger)["sessionId"]
    advance(client, 59)
    assert_refused(
        client, set_identity(client, messenger, session_id, verified(token)), 400, UNKNOWN_ERROR, "jti_fresh"
    )
    advance(client, 2)
    identify(client, messenger, session_id, verified(token))


@pytest.mark.parametrize(
    ("broken", "check"),
    [({"email": "bad-email"}, "email_valid"), ({"iat": 10**10}, "iat"), ({"name": DROP}, "claims_required")],
    ids=["invalid email", "iat in the future", "missing name"],
)
def test_a_failed_attempt_does_not_record_the_jti(
    client: httpx.Client, now: float, broken: dict[str, Any], check: str
) -> None:
    """A token refused by a check before jti_fresh leaves its jti unused: a good token with the same jti then
    verifies."""
    key = fixture_key(ANONYMOUS_MIN)
    jti = str(uuid.uuid4())
    session_id = new_session(client, ANONYMOUS_MIN)["sessionId"]
    response = set_identity(client, ANONYMOUS_MIN, session_id, verified(pyjose(claims(now, jti=jti, **broken), key)))
    assert response.status_code == 400
    assert journal_entry(client, response)["failedCheck"] == check
    identify(client, ANONYMOUS_MIN, session_id, verified(pyjose(claims(now, jti=jti), key)))


def test_replay_store_is_per_messenger(client: httpx.Client, now: float) -> None:
    """Two messengers sharing a key: a token used on one still verifies once on the other."""
    key = new_key()
    first, _ = register(client, [key])
    second, _ = register(client, [key])
    token = pyjose(claims(now), key)
    for messenger in (first, second):
        identify(client, messenger, new_session(client, messenger)["sessionId"], verified(token))
        session_id = new_session(client, messenger)["sessionId"]
        assert_refused(
            client, set_identity(client, messenger, session_id, verified(token)), 400, UNKNOWN_ERROR, "jti_fresh"
        )


def test_replay_store_survives_a_replacing_put(client: httpx.Client, now: float) -> None:
    """A new PUT of the messenger keeps its replay store: a used jti stays refused."""
    key = new_key()
    messenger, _ = register(client, [key])
    token = pyjose(claims(now), key)
    identify(client, messenger, new_session(client, messenger)["sessionId"], verified(token))
    response = client.put(
        f"/_emulator/tenants/dixa/{messenger}", json={"keys": [b64u(key)], "minIdentificationLevel": "claimed"}
    )
    assert response.status_code == 200
    session_id = new_session(client, messenger)["sessionId"]
    assert_refused(
        client, set_identity(client, messenger, session_id, verified(token)), 400, UNKNOWN_ERROR, "jti_fresh"
    )


def test_reset_clears_the_replay_store(client: httpx.Client, now: float) -> None:
    """POST /_emulator/reset forgets the used jtis (runtime state)."""
    token = pyjose(claims(now), fixture_key(ANONYMOUS_MIN))
    identify(client, ANONYMOUS_MIN, new_session(client, ANONYMOUS_MIN)["sessionId"], verified(token))
    assert client.post("/_emulator/reset").status_code == 200
    identify(client, ANONYMOUS_MIN, new_session(client, ANONYMOUS_MIN)["sessionId"], verified(token))


# --- iat and the clock -----------------------------------------------------------------------------------------


def test_iat_skew_follows_the_emulator_clock(client: httpx.Client) -> None:
    """With the clock frozen at T, iat = T + 60 (the default skew) verifies and T + 61 does not; one second
    later the same T + 61 token verifies."""
    at = 1_900_000_000
    freeze(client, at)
    key = fixture_key(ANONYMOUS_MIN)
    session_id = new_session(client, ANONYMOUS_MIN)["sessionId"]
    identify(client, ANONYMOUS_MIN, session_id, verified(pyjose(claims(at, iat=at + 60), key)))
    early = pyjose(claims(at, iat=at + 61), key)
    diagnosis = assert_refused(
        client, set_identity(client, ANONYMOUS_MIN, session_id, verified(early)), 400, UNKNOWN_ERROR, "iat"
    )
    assert "61 s in the future (skew 60 s)" in diagnosis
    advance(client, 1)
    identify(client, ANONYMOUS_MIN, session_id, verified(early))


def test_clock_skew_is_configurable(client: httpx.Client) -> None:
    """clockSkew = 0: an iat one second ahead is refused; iat = now verifies; a fractional iat too."""
    at = 1_900_000_000
    freeze(client, at)
    key = new_key()
    messenger, _ = register(client, [key], clockSkew=0)
    session_id = new_session(client, messenger)["sessionId"]
    assert_refused(
        client,
        set_identity(client, messenger, session_id, verified(pyjose(claims(at, iat=at + 1), key))),
        400,
        UNKNOWN_ERROR,
        "iat",
    )
    identify(client, messenger, session_id, verified(pyjose(claims(at, iat=at), key)))
    identify(client, messenger, session_id, verified(pyjose(claims(at, iat=at - 0.5), key)))


def test_iat_in_milliseconds_is_named(client: httpx.Client, now: float) -> None:
    """iat = Date.now() (milliseconds, a common JavaScript slip) is refused with a diagnosis saying so."""
    token = pyjose(claims(now, iat=int(now * 1000)), fixture_key(ANONYMOUS_MIN))
    session_id = new_session(client, ANONYMOUS_MIN)["sessionId"]
    diagnosis = assert_refused(
        client, set_identity(client, ANONYMOUS_MIN, session_id, verified(token)), 400, UNKNOWN_ERROR, "iat"
    )
    assert "milliseconds, but iat is seconds" in diagnosis


# --- external_id and the agent view ----------------------------------------------------------------------------


def test_external_id_is_persisted_and_shown_to_the_agent(client: httpx.Client, now: float) -> None:
    """external_id "will be persisted on the dixa user": the session's user and GET /_emulator/sessions/dixa show
    it, with name, email and trusted; a token without it shows none."""
    key = fixture_key(VERIFIED_MIN)
    with_id = new_session(client, VERIFIED_MIN)["sessionId"]
    without = new_session(client, VERIFIED_MIN)["sessionId"]
    token = pyjose(claims(now, name="Ext Ernal", email="ext@example.com", external_id="crm-42"), key)
    identify(client, VERIFIED_MIN, with_id, verified(token))
    identify(client, VERIFIED_MIN, without, verified(pyjose(claims(now), key)))
    seen = {s["sessionId"]: s for s in agent_view(client, VERIFIED_MIN)}
    assert set(seen) == {with_id, without}
    assert seen[with_id]["user"] == {
        "name": "Ext Ernal",
        "email": "ext@example.com",
        "trusted": True,
        "external_id": "crm-42",
    }
    assert seen[with_id]["identity"] == "verified"
    assert seen[with_id]["messengerToken"] == VERIFIED_MIN
    assert seen[with_id]["invalidEmail"] is None
    assert "external_id" not in seen[without]["user"]
    assert get_session(client, VERIFIED_MIN, with_id)["user"]["external_id"] == "crm-42"
    everyone = client.get("/_emulator/sessions/dixa").json()["sessions"]
    assert {with_id, without} <= {s["sessionId"] for s in everyone}
    assert agent_view(client, ANONYMOUS_MIN) == []


def test_external_id_survives_a_new_token_for_the_same_user(client: httpx.Client, now: float) -> None:
    """external_id is persisted on the Dixa user: a later token for the same email without it keeps it, a token
    for another email does not inherit it, and a token with a new external_id replaces it."""
    key = fixture_key(VERIFIED_MIN)
    session_id = new_session(client, VERIFIED_MIN)["sessionId"]
    identify(
        client, VERIFIED_MIN, session_id, verified(pyjose(claims(now, email="p@example.com", external_id="c-1"), key))
    )
    identify(client, VERIFIED_MIN, session_id, verified(pyjose(claims(now, email="p@example.com"), key)))
    assert get_session(client, VERIFIED_MIN, session_id)["user"]["external_id"] == "c-1"
    identify(
        client, VERIFIED_MIN, session_id, verified(pyjose(claims(now, email="p@example.com", external_id="c-2"), key))
    )
    assert get_session(client, VERIFIED_MIN, session_id)["user"]["external_id"] == "c-2"
    identify(client, VERIFIED_MIN, session_id, verified(pyjose(claims(now, email="other@example.com"), key)))
    assert "external_id" not in get_session(client, VERIFIED_MIN, session_id)["user"]


# --- explain ---------------------------------------------------------------------------------------------------


def test_explain_has_no_side_effects(client: httpx.Client, now: float) -> None:
    """explain runs every check and decodes the token without recording its jti, creating a session or writing
    the journal: the same token then still verifies, and only then does explain report it replayed."""
    token = pyjose(claims(now, external_id="x-1"), fixture_key(ANONYMOUS_MIN))
    for _ in range(2):
        report = explain(client, ANONYMOUS_MIN, token)
        assert (report["ok"], report["failedCheck"]) == (True, None)
        assert report["vendorResponse"] == {"identity": "verified"}
        assert [c["check"] for c in report["checks"]] == PIPELINE.names
        assert {c["status"] for c in report["checks"]} == {"passed"}
        assert report["decoded"]["header"] == {"alg": "dir", "enc": ENC}
        assert report["decoded"]["claims"]["external_id"] == "x-1"
        assert report["decoded"]["keyId"] == tenant(client, ANONYMOUS_MIN).json()["keyIds"][0]
    assert client.get("/_emulator/journal", params={"vendor": "dixa"}).json()["entries"] == []
    assert agent_view(client, ANONYMOUS_MIN) == []
    session_id = new_session(client, ANONYMOUS_MIN)["sessionId"]
    identify(client, ANONYMOUS_MIN, session_id, verified(token))
    report = explain(client, ANONYMOUS_MIN, token)
    assert (report["ok"], report["failedCheck"]) == (False, "jti_fresh")
    assert report["vendorResponse"] == {"error": UNKNOWN_ERROR}


def test_explain_invalid_email_and_unknown_messenger(client: httpx.Client, now: float) -> None:
    """explain gives invalid-email-address with the email for a bad email claim, and messenger_known for an
    unregistered messenger."""
    token = pyjose(claims(now, email="nope"), fixture_key(ANONYMOUS_MIN))
    report = explain(client, ANONYMOUS_MIN, token)
    assert report["failedCheck"] == "email_valid"
    assert report["vendorResponse"] == {"error": invalid_email("nope")}
    report = explain(client, "f" * 32, token)
    assert (report["ok"], report["failedCheck"]) == (False, "messenger_known")


# --- Node's jose, exactly as Dixa's page --------------------------------------------------------------------------


def node_mint(node: str, key: str, payload: dict[str, Any]) -> str:
    result = subprocess.run(
        [node, str(NODE_DIR / "mint-dixa.mjs")],
        input=json.dumps({"key": key, "payload": payload}),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_node_jose_seed_example_verifies(client: httpx.Client, node: str) -> None:
    """The seed's TypeScript, run with jose 6 (base64url.decode(key), EncryptJWT, alg dir, A256CBC-HS512), on the
    seed's own payload: python-jose decrypts it and the emulator verifies it, external_id kept."""
    key = fixture_key(ANONYMOUS_MIN)
    token = node_mint(node, b64u(key), SEED_PAYLOAD)
    assert header_of(token) == {"alg": "dir", "enc": ENC}
    assert token.split(".")[1] == ""
    assert json.loads(jose_jwe.decrypt(token, key)) == SEED_PAYLOAD
    session_id = new_session(client, ANONYMOUS_MIN)["sessionId"]
    view = identify(client, ANONYMOUS_MIN, session_id, verified(token))
    assert view["user"]["external_id"] == SEED_PAYLOAD["external_id"]
    assert view["user"]["trusted"] is True


def test_node_jose_token_opens_the_verified_messenger(client: httpx.Client, node: str, now: float) -> None:
    """A Node token for the verified-minimum messenger, given at init, lets the visitor start a conversation."""
    token = node_mint(node, b64u(fixture_key(VERIFIED_MIN)), claims(now))
    session = new_session(client, VERIFIED_MIN, verified(token))
    assert session["identity"] == "verified"
    assert_conversation_started(client, VERIFIED_MIN, session["sessionId"])


def test_node_jose_token_with_a_key_not_of_the_messenger(client: httpx.Client, node: str, now: float) -> None:
    """A Node token encrypted with another messenger's key fails jwe_decrypt with unknown-error."""
    token = node_mint(node, b64u(fixture_key(CLAIMED_MIN)), claims(now))
    session_id = new_session(client, VERIFIED_MIN)["sessionId"]
    assert_refused(
        client, set_identity(client, VERIFIED_MIN, session_id, verified(token)), 400, UNKNOWN_ERROR, "jwe_decrypt"
    )
    assert_conversation_refused(
        client, VERIFIED_MIN, session_id, {**NEEDS_VERIFIED, "identity": "anonymous"}, "minimum_level"
    )
