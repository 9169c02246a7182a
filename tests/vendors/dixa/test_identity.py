"""Dixa Messenger: the control plane (messengers, keys) and the identity rules of the visitor API.

Rules under test (seed 004, research/tiledesk_dixa.md part B): identities only move upward (anonymous < claimed <
verified) through a successful set; a failed attempt never demotes; a demotion is refused; purge returns to
anonymous; a conversation needs the messenger's minimum level; an invalid email blocks conversations until a
valid identity is set. Every refusal asserts the exact answer and the named failed check (X-Emulator-Diagnosis
header and journal).
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from tests.vendors.dixa.helpers import (
    ANONYMOUS,
    ANONYMOUS_MIN,
    BAD_IDENTITY,
    CLAIMED_MIN,
    NEEDS_CLAIM,
    NEEDS_VERIFIED,
    UNKNOWN_ERROR,
    UNKNOWN_MESSENGER,
    UNKNOWN_SESSION,
    VERIFIED_MIN,
    agent_view,
    assert_conversation_refused,
    assert_conversation_started,
    assert_refused,
    b64u,
    b64u_decode,
    claim,
    claims,
    demotion_refused,
    fixture_key,
    get_session,
    identify,
    invalid_email,
    journal_entry,
    new_key,
    new_session,
    purge,
    pyjose,
    random_messenger,
    raw_jwe,
    register,
    sessions_url,
    set_identity,
    start_conversation,
    tenant,
    verified,
)


def verified_token(messenger: str, now: float, **overrides: Any) -> str:
    return pyjose(claims(now, **overrides), fixture_key(messenger))


def visitor_at(client: httpx.Client, messenger: str, level: str, now: float) -> str:
    """A session of ``messenger`` brought to ``level`` (anonymous | claim | verified); its id."""
    session_id = new_session(client, messenger)["sessionId"]
    if level == "claim":
        identify(client, messenger, session_id, claim())
    elif level == "verified":
        identify(client, messenger, session_id, verified(verified_token(messenger, now)))
    assert get_session(client, messenger, session_id)["identity"] == level
    return session_id


def key_texts(key: bytes) -> list[str]:
    """The ways a key could leak: base64url (padded or not), standard base64, hex."""
    return [b64u(key), base64.urlsafe_b64encode(key).decode(), base64.b64encode(key).decode(), key.hex()]


# --- control plane: messengers and keys -----------------------------------------------------------------------


def test_fixture_messengers_are_listed_with_their_levels(client: httpx.Client) -> None:
    """The three default messengers are registered with anonymous, claimed and verified minimum levels, one key
    each, and the default replay window and skew."""
    listed = {m["messengerToken"]: m for m in client.get("/_emulator/tenants/dixa").json()["tenants"]}
    for messenger, level in ((ANONYMOUS_MIN, "anonymous"), (CLAIMED_MIN, "claimed"), (VERIFIED_MIN, "verified")):
        view = tenant(client, messenger).json()
        assert view == listed[messenger]
        assert view["minIdentificationLevel"] == level
        assert len(view["keyIds"]) == 1
        assert (view["replayWindow"], view["clockSkew"]) == (86400, 60)


def test_put_shows_level_and_key_ids_never_the_keys(client: httpx.Client, now: float) -> None:
    """A messenger with two keys: PUT, GET, the list, the keys endpoint, the journal and the agent view name the
    keys by id only; no form of either key appears anywhere, even after both were used."""
    keys = [new_key(), new_key()]
    messenger, answer = register(client, keys, minIdentificationLevel="claimed", replayWindow=600, clockSkew=5)
    assert set(answer) == {"messengerToken", "minIdentificationLevel", "keyIds", "replayWindow", "clockSkew"}
    assert answer["messengerToken"] == messenger
    assert answer["minIdentificationLevel"] == "claimed"
    assert (answer["replayWindow"], answer["clockSkew"]) == (600, 5)
    assert len(answer["keyIds"]) == len(set(answer["keyIds"])) == 2
    assert tenant(client, messenger).json() == answer
    for key in keys:  # both keys work, so the journal holds two accepted verifications
        session_id = new_session(client, messenger)["sessionId"]
        identify(client, messenger, session_id, verified(pyjose(claims(now), key)))
    seen = [
        client.put(f"/_emulator/tenants/dixa/{messenger}", json={"keys": [b64u(k) for k in keys]}).text,
        tenant(client, messenger).text,
        client.get("/_emulator/tenants/dixa").text,
        client.get("/_emulator/keys/dixa").text,
        client.get("/_emulator/journal").text,
        client.get("/_emulator/sessions/dixa").text,
    ]
    assert client.get("/_emulator/keys/dixa").json()["keys"] == []
    for text in seen:
        for key in keys:
            for form in key_texts(key):
                assert form not in text


def test_second_put_replaces_settings_with_200(client: httpx.Client) -> None:
    """PUT on an existing messenger answers 200 (not 201) and the new settings replace the old ones."""
    key = new_key()
    messenger, first = register(client, [key])
    response = client.put(
        f"/_emulator/tenants/dixa/{messenger}",
        json={"minIdentificationLevel": "verified", "keys": [b64u(key)], "replayWindow": 3600},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {**first, "minIdentificationLevel": "verified", "replayWindow": 3600}
    assert tenant(client, messenger).json() == response.json()


def test_generated_key_is_returned_once_and_verifies(client: httpx.Client, now: float) -> None:
    """Without keys a 64-byte key is generated and returned once as generatedKey; a token encrypted with it
    verifies; GET and the list never show it again."""
    messenger, answer = register(client, minIdentificationLevel="verified")
    generated = b64u_decode(answer["generatedKey"])
    assert len(generated) == 64
    assert len(answer["keyIds"]) == 1
    view = tenant(client, messenger).json()
    assert "generatedKey" not in view
    assert view == {k: v for k, v in answer.items() if k != "generatedKey"}
    listing = client.get("/_emulator/tenants/dixa").text
    for form in key_texts(generated):
        assert form not in tenant(client, messenger).text
        assert form not in listing
    session_id = new_session(client, messenger)["sessionId"]
    assert_conversation_refused(
        client, messenger, session_id, {**NEEDS_VERIFIED, "identity": "anonymous"}, "minimum_level"
    )
    identify(client, messenger, session_id, verified(raw_jwe(claims(now), generated)))
    assert_conversation_started(client, messenger, session_id)


def test_keys_null_generates_a_key_like_omitting_them(client: httpx.Client, now: float) -> None:
    """``"keys": null`` is read as no keys given: a key is generated and returned once, and it verifies."""
    messenger = random_messenger()
    response = client.put(f"/_emulator/tenants/dixa/{messenger}", json={"keys": None})
    assert response.status_code == 201, response.text
    generated = b64u_decode(response.json()["generatedKey"])
    assert len(generated) == 64
    session_id = new_session(client, messenger)["sessionId"]
    assert identify(client, messenger, session_id, verified(raw_jwe(claims(now), generated)))["identity"] == "verified"


@pytest.mark.parametrize("size", [63, 65, 32, 128])
def test_key_not_64_bytes_is_refused(client: httpx.Client, now: float, size: int) -> None:
    """A key of 63 or 65 bytes (or 32, or 128) is refused with a clear 400 naming both lengths; a new messenger is
    not created and an existing one keeps its settings and its working key."""
    bad = {"keys": [b64u(new_key(size))]}
    fresh = random_messenger()
    response = client.put(f"/_emulator/tenants/dixa/{fresh}", json=bad)
    assert response.status_code == 400
    message = response.json()["error"]
    assert f"keys[0]: the key is {size} bytes" in message
    assert "exactly 64 bytes" in message
    assert tenant(client, fresh).status_code == 404

    key = new_key()
    messenger, before = register(client, [key])
    response = client.put(f"/_emulator/tenants/dixa/{messenger}", json={"keys": [b64u(key), b64u(new_key(size))]})
    assert response.status_code == 400
    assert f"keys[1]: the key is {size} bytes" in response.json()["error"]
    assert tenant(client, messenger).json() == before
    session_id = new_session(client, messenger)["sessionId"]
    identify(client, messenger, session_id, verified(pyjose(claims(now), key)))


BAD_BODIES: list[tuple[str, Any, str]] = [
    ("the widget's literal 'claim' as a level", {"minIdentificationLevel": "claim"}, "minIdentificationLevel"),
    ("level in capitals", {"minIdentificationLevel": "VERIFIED"}, "minIdentificationLevel"),
    ("empty key list", {"keys": []}, "keys"),
    ("keys not a list", {"keys": "__KEY__"}, "keys"),
    ("a key that is a number", {"keys": [12345]}, "keys[0]"),
    ("a key not base64url", {"keys": ["not a key!"]}, "keys[0]"),
    ("a key in standard base64 (+ and /)", {"keys": ["+/" * 43]}, "keys[0]"),
    ("unknown field", {"keys": ["__KEY__"], "minimumLevel": "claimed"}, "minimumLevel"),
    ("messengerToken differing from the path", {"keys": ["__KEY__"], "messengerToken": "other"}, "messengerToken"),
    ("negative replayWindow", {"keys": ["__KEY__"], "replayWindow": -1}, "replayWindow"),
    ("replayWindow as a string", {"keys": ["__KEY__"], "replayWindow": "60"}, "replayWindow"),
    ("clockSkew true", {"keys": ["__KEY__"], "clockSkew": True}, "clockSkew"),
    ("clockSkew over an hour", {"keys": ["__KEY__"], "clockSkew": 3601}, "clockSkew"),
    ("body a list", ["__KEY__"], "JSON object"),
    ("body a string", "__KEY__", "JSON object"),
]


def _fill(body: Any, key: str) -> Any:
    if body == "__KEY__":
        return key
    if isinstance(body, list):
        return [_fill(item, key) for item in body]
    if isinstance(body, dict):
        return {k: _fill(v, key) for k, v in body.items()}
    return body


@pytest.mark.parametrize(("body", "says"), [(b, s) for _, b, s in BAD_BODIES], ids=[i for i, _, _ in BAD_BODIES])
def test_bad_messenger_body_is_refused_and_state_unchanged(
    client: httpx.Client, now: float, body: Any, says: str
) -> None:
    """A bad PUT body is a 400 naming the field; the existing messenger keeps its level, keys and sessions."""
    key = new_key()
    messenger, before = register(client, [key], minIdentificationLevel="claimed")
    session_id = new_session(client, messenger, claim())["sessionId"]
    response = client.put(f"/_emulator/tenants/dixa/{messenger}", json=_fill(body, b64u(key)))
    assert response.status_code == 400, response.text
    assert says in response.json()["error"]
    assert tenant(client, messenger).json() == before
    assert get_session(client, messenger, session_id)["identity"] == "claim"
    identify(client, messenger, session_id, verified(pyjose(claims(now), key)))


def test_put_body_not_json_is_refused(client: httpx.Client) -> None:
    """A PUT body that is not JSON is a 400 and creates nothing."""
    messenger = random_messenger()
    response = client.put(
        f"/_emulator/tenants/dixa/{messenger}", content=b"{keys:", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert tenant(client, messenger).status_code == 404


@pytest.mark.parametrize("messenger", ["has.a.dot", "x" * 129, "space%20d"])
def test_bad_messenger_token_is_refused(client: httpx.Client, messenger: str) -> None:
    """A messengerToken outside 1-128 letters, digits, '-' and '_' is refused and nothing is registered."""
    response = client.put(f"/_emulator/tenants/dixa/{messenger}", json={"keys": [b64u(new_key())]})
    assert response.status_code == 400
    assert "messengerToken" in response.json()["error"]
    assert tenant(client, messenger).status_code == 404


def test_deleted_messenger_is_unknown_to_the_visitor_api(client: httpx.Client) -> None:
    """DELETE removes the messenger: the visitor API then answers 404 invalid-payload (messenger_known) for new
    and existing sessions, and the control plane 404 for GET and a second DELETE."""
    messenger, _ = register(client, [new_key()])
    session_id = new_session(client, messenger)["sessionId"]
    assert client.delete(f"/_emulator/tenants/dixa/{messenger}").status_code == 204
    assert_refused(client, client.post(sessions_url(messenger), json={}), 404, UNKNOWN_MESSENGER, "messenger_known")
    assert_refused(
        client, client.get(f"{sessions_url(messenger)}/{session_id}"), 404, UNKNOWN_MESSENGER, "messenger_known"
    )
    assert_refused(
        client, set_identity(client, messenger, session_id, claim()), 404, UNKNOWN_MESSENGER, "messenger_known"
    )
    assert_refused(client, start_conversation(client, messenger, session_id), 404, UNKNOWN_MESSENGER, "messenger_known")
    assert tenant(client, messenger).status_code == 404
    assert client.delete(f"/_emulator/tenants/dixa/{messenger}").status_code == 404
    assert messenger not in {m["messengerToken"] for m in client.get("/_emulator/tenants/dixa").json()["tenants"]}


def test_deleting_a_messenger_forgets_its_visitors_and_used_tokens(client: httpx.Client, now: float) -> None:
    """DELETE then PUT of the same token is a new messenger: its earlier sessions are gone (404 for the old
    session id, none in the agent view) and a jti used before is fresh again; other messengers keep theirs."""
    key = new_key()
    messenger, _ = register(client, [key])
    token = raw_jwe(claims(now, jti="reused-after-delete"), key)
    session_id = new_session(client, messenger)["sessionId"]
    identify(client, messenger, session_id, verified(token))
    bystander = new_session(client, ANONYMOUS_MIN)["sessionId"]
    assert client.delete(f"/_emulator/tenants/dixa/{messenger}").status_code == 204
    register_again = client.put(f"/_emulator/tenants/dixa/{messenger}", json={"keys": [b64u(key)]})
    assert register_again.status_code == 201
    assert client.get(f"{sessions_url(messenger)}/{session_id}").status_code == 404
    assert agent_view(client, messenger) == []
    fresh = new_session(client, messenger)["sessionId"]
    assert identify(client, messenger, fresh, verified(token))["identity"] == "verified"
    assert get_session(client, ANONYMOUS_MIN, bystander)["identity"] == "anonymous"


def test_replacing_put_keeps_sessions_and_applies_the_new_level(client: httpx.Client, now: float) -> None:
    """A new PUT replaces the settings but keeps the messenger's visitors: an anonymous and a claimed visitor
    survive it, and the raised minimum level applies to them at once."""
    key = new_key()
    messenger, _ = register(client, [key])
    anonymous = new_session(client, messenger)["sessionId"]
    claimed = new_session(client, messenger, claim())["sessionId"]
    assert get_session(client, messenger, anonymous)["canStartConversation"] is True
    response = client.put(
        f"/_emulator/tenants/dixa/{messenger}", json={"keys": [b64u(key)], "minIdentificationLevel": "claimed"}
    )
    assert response.status_code == 200
    assert get_session(client, messenger, anonymous) == {
        "sessionId": anonymous,
        "identity": "anonymous",
        "user": {},
        "canStartConversation": False,
    }
    assert get_session(client, messenger, claimed)["identity"] == "claim"
    assert_conversation_refused(client, messenger, anonymous, {**NEEDS_CLAIM, "identity": "anonymous"}, "minimum_level")
    assert_conversation_started(client, messenger, claimed)


# --- visitor API: sessions -------------------------------------------------------------------------------------


def test_unknown_messenger_is_404(client: httpx.Client) -> None:
    """An unregistered messengerToken: init would reject with 'Invalid payload' (404, messenger_known)."""
    messenger = random_messenger()
    diagnosis = assert_refused(
        client, client.post(sessions_url(messenger), json={}), 404, UNKNOWN_MESSENGER, "messenger_known"
    )
    assert messenger in diagnosis
    assert_refused(client, client.get(f"{sessions_url(messenger)}/x"), 404, UNKNOWN_MESSENGER, "messenger_known")


def test_unknown_session_is_404(client: httpx.Client) -> None:
    """An unknown session id, or a session of another messenger, is 404 session-not-found (session_known)."""
    assert_refused(client, client.get(f"{sessions_url(ANONYMOUS_MIN)}/nope"), 404, UNKNOWN_SESSION, "session_known")
    other = new_session(client, CLAIMED_MIN)["sessionId"]
    assert_refused(client, client.get(f"{sessions_url(ANONYMOUS_MIN)}/{other}"), 404, UNKNOWN_SESSION, "session_known")
    assert_refused(client, set_identity(client, ANONYMOUS_MIN, other, claim()), 404, UNKNOWN_SESSION, "session_known")
    assert_refused(client, purge(client, ANONYMOUS_MIN, other), 404, UNKNOWN_SESSION, "session_known")
    assert_refused(client, start_conversation(client, ANONYMOUS_MIN, other), 404, UNKNOWN_SESSION, "session_known")


def test_reset_forgets_sessions(client: httpx.Client) -> None:
    """POST /_emulator/reset drops the visitors' sessions (runtime state) but keeps the messengers."""
    session_id = new_session(client, ANONYMOUS_MIN)["sessionId"]
    assert client.post("/_emulator/reset").status_code == 200
    assert_refused(
        client, client.get(f"{sessions_url(ANONYMOUS_MIN)}/{session_id}"), 404, UNKNOWN_SESSION, "session_known"
    )
    assert tenant(client, ANONYMOUS_MIN).status_code == 200


def test_new_session_is_anonymous(client: httpx.Client) -> None:
    """A session without userIdentity (no body, or an empty object) is anonymous, with no user data."""
    for response in (client.post(sessions_url(ANONYMOUS_MIN)), client.post(sessions_url(ANONYMOUS_MIN), json={})):
        assert response.status_code == 201
        body = response.json()
        assert body == {"sessionId": body["sessionId"], "identity": "anonymous", "user": {}}
        assert get_session(client, ANONYMOUS_MIN, body["sessionId"]) == {**body, "canStartConversation": True}


@pytest.mark.parametrize("level", ["claim", "claimed", "verified"])
def test_initial_identity(client: httpx.Client, now: float, level: str) -> None:
    """init with a userIdentity: a claim (the API's 'claim', or the seed's 'claimed') or a verified JWE sets the
    level at once; the user holds what the agent sees."""
    if level == "verified":
        identity = verified(verified_token(ANONYMOUS_MIN, now, name="Vera Verified", email="vera@example.com"))
        user = {"name": "Vera Verified", "email": "vera@example.com", "trusted": True}
    else:
        identity = claim(kind=level)
        user = {"name": "Claire Claim", "email": "claire@example.com"}
    body = new_session(client, ANONYMOUS_MIN, identity)
    expected = "verified" if level == "verified" else "claim"
    assert body == {"sessionId": body["sessionId"], "identity": expected, "user": user}
    assert get_session(client, ANONYMOUS_MIN, body["sessionId"])["identity"] == expected


def _refused_at_init(client: httpx.Client, identity: Any, error: dict[str, Any], check: str) -> str:
    response = client.post(sessions_url(ANONYMOUS_MIN), json={"userIdentity": identity})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body == {"sessionId": body["sessionId"], "identity": "anonymous", "user": {}, "backendError": error}
    assert response.headers["x-emulator-diagnosis"].startswith(f"{check}: ")
    entry = journal_entry(client, response)
    assert (entry["failedCheck"], entry["outcome"]) == (check, "rejected")
    return body["sessionId"]


def test_refused_initial_identity_still_creates_an_anonymous_session(client: httpx.Client, now: float) -> None:
    """A refused initial identity: still 201, anonymous, with the BackendError beside it (the widget's
    on-backend-error); the session is usable. An invalid initial email also blocks conversations."""
    foreign = pyjose(claims(now), new_key())
    session_id = _refused_at_init(client, verified(foreign), UNKNOWN_ERROR, "jwe_decrypt")
    assert_conversation_started(client, ANONYMOUS_MIN, session_id)

    session_id = _refused_at_init(client, claim(email="invalid-email"), invalid_email("invalid-email"), "email_valid")
    assert_conversation_refused(client, ANONYMOUS_MIN, session_id, invalid_email("invalid-email"), "valid_identity")

    _refused_at_init(client, {"type": "sso"}, BAD_IDENTITY, "identity_shape")


_OVER_128_KIB = b"{" + b" " * (128 * 1024) + b"}"


@pytest.mark.parametrize(
    ("send", "message"),
    [
        ({"content": b"not json"}, "the body is not JSON: Expecting value: line 1 column 1 (char 0)"),
        ({"json": ["userIdentity"]}, "the body must be a JSON object"),
        ({"json": "anonymous"}, "the body must be a JSON object"),
        ({"content": _OVER_128_KIB}, "request body is over the 131072-byte limit"),
    ],
    ids=["not JSON", "a JSON list", "a JSON string", "over 128 KiB"],
)
def test_bad_visitor_bodies(client: httpx.Client, send: dict[str, Any], message: str) -> None:
    """A visitor API body that is not a JSON object (or is over 128 KiB) is 400 invalid-payload (request_body),
    for a new session and for an identity; the existing session is unchanged."""
    session_id = new_session(client, ANONYMOUS_MIN, claim())["sessionId"]
    headers = {"content-type": "application/json"}
    for response in (
        client.post(sessions_url(ANONYMOUS_MIN), headers=headers, **send),
        client.put(f"{sessions_url(ANONYMOUS_MIN)}/{session_id}/identity", headers=headers, **send),
    ):
        assert_refused(client, response, 400, {"type": "invalid-payload", "message": message}, "request_body")
    assert get_session(client, ANONYMOUS_MIN, session_id)["identity"] == "claim"


@pytest.mark.parametrize(
    "identity",
    [{}, {"type": "sso"}, {"type": "Claim", "name": "A", "email": "a@example.com"}, {"name": "A"}, {"type": None}],
    ids=["empty", "unknown type", "capitalised type", "no type", "type null"],
)
def test_unknown_identity_shape_is_refused(client: httpx.Client, identity: Any) -> None:
    """A UserIdentity whose type is not anonymous, claim(ed) or verified is 400 invalid-payload (identity_shape)."""
    session_id = new_session(client, ANONYMOUS_MIN)["sessionId"]
    assert_refused(
        client, set_identity(client, ANONYMOUS_MIN, session_id, identity), 400, BAD_IDENTITY, "identity_shape"
    )
    assert get_session(client, ANONYMOUS_MIN, session_id)["identity"] == "anonymous"


def test_identity_may_be_wrapped_in_user_identity(client: httpx.Client) -> None:
    """PUT .../identity takes the UserIdentity itself or {"userIdentity": ...}."""
    session_id = new_session(client, ANONYMOUS_MIN)["sessionId"]
    view = identify(client, ANONYMOUS_MIN, session_id, {"userIdentity": claim(name="Wrapped")})
    assert (view["identity"], view["user"]["name"]) == ("claim", "Wrapped")


# --- the identity rules ----------------------------------------------------------------------------------------


def test_promotion_anonymous_claim_verified(client: httpx.Client, now: float) -> None:
    """Each successful set moves the visitor up and answers 200 with the new level; the agent view follows."""
    session_id = new_session(client, ANONYMOUS_MIN)["sessionId"]
    view = identify(client, ANONYMOUS_MIN, session_id, claim())
    assert view == {
        "sessionId": session_id,
        "identity": "claim",
        "user": {"name": "Claire Claim", "email": "claire@example.com"},
        "canStartConversation": True,
    }
    token = verified_token(ANONYMOUS_MIN, now, name="Vera", email="vera@example.com")
    view = identify(client, ANONYMOUS_MIN, session_id, verified(token))
    assert view["identity"] == "verified"
    assert view["user"] == {"name": "Vera", "email": "vera@example.com", "trusted": True}
    (seen,) = agent_view(client, ANONYMOUS_MIN)
    assert seen["identity"] == "verified"
    assert [h["identity"] for h in seen["history"]] == ["anonymous", "claim", "verified"]


def test_setting_anonymous_on_an_anonymous_visitor_is_a_no_op(client: httpx.Client) -> None:
    """{type:'anonymous'} on an anonymous visitor is accepted and changes nothing."""
    session_id = new_session(client, ANONYMOUS_MIN)["sessionId"]
    assert identify(client, ANONYMOUS_MIN, session_id, ANONYMOUS)["identity"] == "anonymous"


DEMOTIONS = [
    ("verified", claim(), "claim"),
    ("verified", claim(kind="claimed"), "claim"),
    ("verified", ANONYMOUS, "anonymous"),
    ("claim", ANONYMOUS, "anonymous"),
]


@pytest.mark.parametrize(
    ("level", "identity", "attempted"),
    DEMOTIONS,
    ids=["verified to claim", "verified to claimed", "verified to anonymous", "claim to anonymous"],
)
def test_demotion_is_refused(
    client: httpx.Client, now: float, level: str, identity: dict[str, Any], attempted: str
) -> None:
    """ "You can only promote the user identity to a higher level, but not demote it": 409 demotion-refused
    (promotion_only), the level and the user unchanged, and conversations still allowed."""
    session_id = visitor_at(client, ANONYMOUS_MIN, level, now)
    before = get_session(client, ANONYMOUS_MIN, session_id)
    diagnosis = assert_refused(
        client,
        set_identity(client, ANONYMOUS_MIN, session_id, identity),
        409,
        demotion_refused(level, attempted),
        "promotion_only",
    )
    assert "purge" in diagnosis.lower()
    assert get_session(client, ANONYMOUS_MIN, session_id) == before
    assert_conversation_started(client, ANONYMOUS_MIN, session_id)


def test_demotion_with_an_invalid_email_is_still_a_demotion(client: httpx.Client, now: float) -> None:
    """A claim with an invalid email on a verified visitor is refused as a demotion and does not block."""
    session_id = visitor_at(client, ANONYMOUS_MIN, "verified", now)
    assert_refused(
        client,
        set_identity(client, ANONYMOUS_MIN, session_id, claim(email="bad")),
        409,
        demotion_refused("verified", "claim"),
        "promotion_only",
    )
    assert get_session(client, ANONYMOUS_MIN, session_id)["canStartConversation"] is True


def test_failed_verified_upgrade_keeps_the_claim(client: httpx.Client, now: float) -> None:
    """A claimed visitor whose verified token fails (a key not of the messenger) stays claimed, with the same
    name and email: a failed attempt never demotes."""
    session_id = visitor_at(client, CLAIMED_MIN, "claim", now)
    before = get_session(client, CLAIMED_MIN, session_id)
    token = pyjose(claims(now), fixture_key(ANONYMOUS_MIN))  # another messenger's key
    assert_refused(
        client, set_identity(client, CLAIMED_MIN, session_id, verified(token)), 400, UNKNOWN_ERROR, "jwe_decrypt"
    )
    assert get_session(client, CLAIMED_MIN, session_id) == before
    assert_conversation_started(client, CLAIMED_MIN, session_id)


def test_claim_to_claim_with_new_data_is_allowed_with_a_warning(client: httpx.Client) -> None:
    """Same level, new name or email: accepted, the user updated, and the journal warns that conversations are
    wiped (the mobile SDKs' rule); the same data again gives no warning."""
    session_id = new_session(client, ANONYMOUS_MIN, claim())["sessionId"]
    assert_conversation_started(client, ANONYMOUS_MIN, session_id)
    assert_conversation_started(client, ANONYMOUS_MIN, session_id)
    response = set_identity(client, ANONYMOUS_MIN, session_id, claim(name="Claire Renamed", email="new@example.com"))
    assert response.status_code == 200
    assert response.json()["user"] == {"name": "Claire Renamed", "email": "new@example.com"}
    warnings = journal_entry(client, response)["trace"]["warnings"]
    assert len(warnings) == 1
    assert "2 earlier conversation(s) wiped" in warnings[0]
    mine = [s for s in agent_view(client, ANONYMOUS_MIN) if s["sessionId"] == session_id]
    assert mine[0]["conversations"] == []
    kept = assert_conversation_started(client, ANONYMOUS_MIN, session_id)
    again = set_identity(client, ANONYMOUS_MIN, session_id, claim(name="Claire Renamed", email="new@example.com"))
    assert again.status_code == 200
    assert not (journal_entry(client, again)["trace"] or {}).get("warnings")
    mine = [s for s in agent_view(client, ANONYMOUS_MIN) if s["sessionId"] == session_id]
    assert mine[0]["conversations"] == [kept]


def test_verified_to_verified_with_a_new_token_is_allowed(client: httpx.Client, now: float) -> None:
    """A verified visitor may be verified again with a new token (new jti): the user is the new token's."""
    session_id = visitor_at(client, VERIFIED_MIN, "verified", now)
    token = verified_token(VERIFIED_MIN, now, name="Second Token", email="second@example.com", external_id="e-2")
    view = identify(client, VERIFIED_MIN, session_id, verified(token))
    assert view["identity"] == "verified"
    assert view["user"] == {
        "name": "Second Token",
        "email": "second@example.com",
        "trusted": True,
        "external_id": "e-2",
    }


@pytest.mark.parametrize(
    "identity",
    [
        {"type": "claim", "email": "nameless@example.com"},
        {"type": "claim", "name": "", "email": "nameless@example.com"},
        {"type": "claim", "name": "   ", "email": "nameless@example.com"},
        {"type": "claim", "name": 7, "email": "nameless@example.com"},
    ],
    ids=["no name", "empty name", "blank name", "numeric name"],
)
def test_claim_without_a_name_is_unknown_error(client: httpx.Client, identity: dict[str, Any]) -> None:
    """A claim needs a name: unknown-error (claim_name), the visitor stays anonymous and is not blocked."""
    session_id = new_session(client, ANONYMOUS_MIN)["sessionId"]
    assert_refused(client, set_identity(client, ANONYMOUS_MIN, session_id, identity), 400, UNKNOWN_ERROR, "claim_name")
    assert get_session(client, ANONYMOUS_MIN, session_id)["identity"] == "anonymous"
    assert_conversation_started(client, ANONYMOUS_MIN, session_id)


@pytest.mark.parametrize(
    ("email", "shown"),
    [
        ("invalid-email", "invalid-email"),
        ("john@localhost", "john@localhost"),
        ("two@@example.com", "two@@example.com"),
        ("spa ce@example.com", "spa ce@example.com"),
        ("", ""),
        (42, ""),
        (None, ""),
    ],
    ids=["no at sign", "no dot in domain", "two at signs", "space", "empty", "number", "null"],
)
def test_invalid_claimed_email_blocks_until_a_valid_identity(client: httpx.Client, email: Any, shown: str) -> None:
    """The docs' own example: a claim with an invalid email is invalid-email-address with the email, the level
    is unchanged, and conversations are refused (403, the same BackendError) until a valid identity is set."""
    session_id = new_session(client, ANONYMOUS_MIN)["sessionId"]
    error = invalid_email(shown)
    assert_refused(
        client,
        set_identity(client, ANONYMOUS_MIN, session_id, {"type": "claim", "name": "John Doe", "email": email}),
        400,
        error,
        "email_valid",
    )
    view = get_session(client, ANONYMOUS_MIN, session_id)
    assert (view["identity"], view["canStartConversation"]) == ("anonymous", False)
    assert_conversation_refused(client, ANONYMOUS_MIN, session_id, error, "valid_identity")
    identify(client, ANONYMOUS_MIN, session_id, claim())
    assert_conversation_started(client, ANONYMOUS_MIN, session_id)


def test_invalid_email_in_a_verified_token_blocks_until_a_valid_identity(client: httpx.Client, now: float) -> None:
    """An invalid email inside a verified token is invalid-email-address with that email (not unknown-error);
    the claimed visitor stays claimed but may not start a conversation until a valid verified identity is set."""
    session_id = visitor_at(client, ANONYMOUS_MIN, "claim", now)
    before = get_session(client, ANONYMOUS_MIN, session_id)
    token = verified_token(ANONYMOUS_MIN, now, email="not-an-email")
    assert_refused(
        client,
        set_identity(client, ANONYMOUS_MIN, session_id, verified(token)),
        400,
        invalid_email("not-an-email"),
        "email_valid",
    )
    assert get_session(client, ANONYMOUS_MIN, session_id) == {**before, "canStartConversation": False}
    assert_conversation_refused(client, ANONYMOUS_MIN, session_id, invalid_email("not-an-email"), "valid_identity")
    (seen,) = agent_view(client, ANONYMOUS_MIN)
    assert seen["invalidEmail"] == "not-an-email"
    identify(client, ANONYMOUS_MIN, session_id, verified(verified_token(ANONYMOUS_MIN, now)))
    assert_conversation_started(client, ANONYMOUS_MIN, session_id)
    assert agent_view(client, ANONYMOUS_MIN)[0]["invalidEmail"] is None


def test_invalid_email_on_a_claimed_visitor_keeps_the_claim_but_blocks(client: httpx.Client) -> None:
    """A claimed visitor re-claiming with an invalid email keeps the old claim (never demoted) and is blocked;
    the old valid claim set again unblocks."""
    session_id = new_session(client, ANONYMOUS_MIN, claim())["sessionId"]
    before = get_session(client, ANONYMOUS_MIN, session_id)
    assert_refused(
        client,
        set_identity(client, ANONYMOUS_MIN, session_id, claim(email="oops")),
        400,
        invalid_email("oops"),
        "email_valid",
    )
    assert get_session(client, ANONYMOUS_MIN, session_id) == {**before, "canStartConversation": False}
    assert_conversation_refused(client, ANONYMOUS_MIN, session_id, invalid_email("oops"), "valid_identity")
    identify(client, ANONYMOUS_MIN, session_id, claim())
    assert_conversation_started(client, ANONYMOUS_MIN, session_id)


def test_invalid_email_blocks_before_the_minimum_level(client: httpx.Client) -> None:
    """On the claimed-minimum messenger an anonymous visitor with a refused email is told about the email, not
    shown the claim form."""
    session_id = new_session(client, CLAIMED_MIN)["sessionId"]
    set_identity(client, CLAIMED_MIN, session_id, claim(email="bad"))
    assert_conversation_refused(client, CLAIMED_MIN, session_id, invalid_email("bad"), "valid_identity")


def test_purge_unblocks_and_returns_to_anonymous(client: httpx.Client, now: float) -> None:
    """purgeUserIdentity: back to anonymous, user data dropped, the invalid-email block lifted (what the emulator
    does: the purge is a fresh start), and the visitor may be promoted again."""
    session_id = visitor_at(client, ANONYMOUS_MIN, "claim", now)
    set_identity(client, ANONYMOUS_MIN, session_id, claim(email="oops"))
    assert get_session(client, ANONYMOUS_MIN, session_id)["canStartConversation"] is False
    response = purge(client, ANONYMOUS_MIN, session_id)
    assert response.status_code == 200
    assert response.json() == {
        "sessionId": session_id,
        "identity": "anonymous",
        "user": {},
        "canStartConversation": True,
    }
    assert_conversation_started(client, ANONYMOUS_MIN, session_id)
    assert identify(client, ANONYMOUS_MIN, session_id, claim())["identity"] == "claim"


@pytest.mark.parametrize("messenger", [CLAIMED_MIN, VERIFIED_MIN])
def test_purge_from_verified_drops_the_right_to_talk(client: httpx.Client, now: float, messenger: str) -> None:
    """After a purge a verified visitor is anonymous: below the claimed or verified minimum it can no longer start
    a conversation, and it can be verified again with a new token."""
    session_id = visitor_at(client, messenger, "verified", now)
    assert_conversation_started(client, messenger, session_id)
    assert purge(client, messenger, session_id).json()["identity"] == "anonymous"
    needed = NEEDS_CLAIM if messenger == CLAIMED_MIN else NEEDS_VERIFIED
    assert_conversation_refused(client, messenger, session_id, {**needed, "identity": "anonymous"}, "minimum_level")
    identify(client, messenger, session_id, verified(verified_token(messenger, now)))
    assert_conversation_started(client, messenger, session_id)
    assert [h["event"] for h in agent_view(client, messenger)[0]["history"]] == [
        "session",
        "identity",
        "purged",
        "identity",
    ]


GATING = [
    (ANONYMOUS_MIN, "anonymous", None),
    (ANONYMOUS_MIN, "claim", None),
    (ANONYMOUS_MIN, "verified", None),
    (CLAIMED_MIN, "anonymous", NEEDS_CLAIM),
    (CLAIMED_MIN, "claim", None),
    (CLAIMED_MIN, "verified", None),
    (VERIFIED_MIN, "anonymous", NEEDS_VERIFIED),
    (VERIFIED_MIN, "claim", NEEDS_VERIFIED),
    (VERIFIED_MIN, "verified", None),
]
_MIN = {ANONYMOUS_MIN: "min anonymous", CLAIMED_MIN: "min claimed", VERIFIED_MIN: "min verified"}


@pytest.mark.parametrize(
    ("messenger", "level", "refusal"), GATING, ids=[f"{_MIN[m]}, visitor {lv}" for m, lv, _ in GATING]
)
def test_minimum_level_gates_conversations(
    client: httpx.Client, now: float, messenger: str, level: str, refusal: dict[str, Any] | None
) -> None:
    """The table of the seed: a visitor may start a conversation only at or above the messenger's minimum level;
    below 'claimed' the answer names the claim form (IdentityClaimModal). canStartConversation agrees."""
    session_id = visitor_at(client, messenger, level, now)
    assert get_session(client, messenger, session_id)["canStartConversation"] is (refusal is None)
    if refusal is None:
        first = assert_conversation_started(client, messenger, session_id)
        second = assert_conversation_started(client, messenger, session_id)
        assert first != second
        assert agent_view(client, messenger)[0]["conversations"] == [first, second]
    else:
        assert_conversation_refused(client, messenger, session_id, {**refusal, "identity": level}, "minimum_level")
        assert agent_view(client, messenger)[0]["conversations"] == []
