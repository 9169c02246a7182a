"""Successful visitor authentication: the session token, visitor profiles, vuids, lifetimes and the clock."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tests import tokens
from tests.conftest import PROJECT, random_project_id
from tests.tokens import USER_ID, VISITOR_DATA, b64u_decode, iadvize_token
from tests.vendors.iadvize.helpers import (
    SDK_ANONYMOUS,
    access_token,
    assert_rejected,
    graphql,
    sdk_secured,
    try_jwe,
)


def verified_claims(session_token: str, iadvize_public: Any) -> dict[str, Any]:
    """Verify the session JWS with the emulator's public key (raw cryptography) and return its claims."""
    header_b64, payload_b64, signature_b64 = session_token.split(".")
    header = json.loads(b64u_decode(header_b64))
    assert header["alg"] == "RS256"
    iadvize_public.verify(
        b64u_decode(signature_b64),
        f"{header_b64}.{payload_b64}".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    return json.loads(b64u_decode(payload_b64))


def mint(brand_key: Any, iadvize_public: Any, now: float, user: str = "alice", **claims: Any) -> str:
    return iadvize_token(brand_key, iadvize_public, {USER_ID: user, "exp": int(now) + 50, **claims})


def freeze(client: httpx.Client, at: float) -> None:
    assert client.post("/_emulator/clock", json={"freeze": at}).json() == {"now": at, "mode": "frozen"}


def test_session_token_claims(client: httpx.Client, brand_key: Any, iadvize_public: Any) -> None:
    freeze(client, 1_800_000_000)
    token = mint(brand_key, iadvize_public, 1_800_000_000)
    session = access_token(sdk_secured(client, 7011, token), "visitorAuthenticateFromCredentials")
    claims = verified_claims(session, iadvize_public)
    assert set(claims) == {
        "https://iadvize.com/vuid",
        "https://iadvize.com/visitorProfileId",
        "https://iadvize.com/jid",
        "https://iadvize.com/websiteId",
        "iss",
        "iat",
        "exp",
    }
    assert claims["https://iadvize.com/websiteId"] == 7011
    assert claims["iat"] == 1_800_000_000
    assert claims["exp"] == 1_800_000_000 + 3600  # the fixture project's sessionLifetime (iAdvize default)
    assert claims["iss"] == "https://api.iadvize.com"
    assert len(claims["https://iadvize.com/vuid"]) == 32


def test_same_user_same_profile_across_devices(
    client: httpx.Client, brand_key: Any, iadvize_public: Any, now: float
) -> None:
    field = "visitorAuthenticateFromCredentials"
    first = verified_claims(
        access_token(sdk_secured(client, PROJECT, mint(brand_key, iadvize_public, now)), field), iadvize_public
    )
    second = verified_claims(
        access_token(sdk_secured(client, PROJECT, mint(brand_key, iadvize_public, now)), field), iadvize_public
    )
    other = verified_claims(
        access_token(sdk_secured(client, PROJECT, mint(brand_key, iadvize_public, now, user="bob")), field),
        iadvize_public,
    )
    profile = "https://iadvize.com/visitorProfileId"
    vuid = "https://iadvize.com/vuid"
    assert first[profile] == second[profile]
    assert first[vuid] != second[vuid]  # a new visitor id per device
    assert other[profile] != first[profile]


def test_current_vuid_is_kept(client: httpx.Client, brand_key: Any, iadvize_public: Any, now: float) -> None:
    response = sdk_secured(client, PROJECT, mint(brand_key, iadvize_public, now), vuid="my-anonymous-vuid")
    claims = verified_claims(access_token(response, "visitorAuthenticateFromCredentials"), iadvize_public)
    assert claims["https://iadvize.com/vuid"] == "my-anonymous-vuid"


def test_visitor_data_reaches_the_visitor_profile(
    client: httpx.Client, brand_key: Any, iadvize_public: Any, now: float
) -> None:
    data = {"firstName": "Jane", "lastName": "Doe", "email": "jane.doe@email.com"}
    token = mint(brand_key, iadvize_public, now, user="jane", **{VISITOR_DATA: data})
    access_token(sdk_secured(client, PROJECT, token), "visitorAuthenticateFromCredentials")
    visitors = client.get("/_emulator/visitors/iadvize", params={"projectId": PROJECT}).json()["visitors"]
    jane = next(v for v in visitors if v["externalUserId"] == "jane")
    assert (jane["firstName"], jane["lastName"], jane["email"], jane["city"]) == (
        "Jane",
        "Doe",
        "jane.doe@email.com",
        None,
    )
    assert jane["authenticated"] is True


def test_session_lifetime_follows_the_project(client: httpx.Client, brand_key: Any, iadvize_public: Any) -> None:
    freeze(client, 1_800_000_000)
    project_id = random_project_id()
    body = {"brandPublicKeys": [tokens.public_pem(brand_key)], "sessionLifetime": 420}
    assert client.put(f"/_emulator/tenants/iadvize/{project_id}", json=body).status_code == 201
    token = mint(brand_key, iadvize_public, 1_800_000_000)
    claims = verified_claims(
        access_token(sdk_secured(client, project_id, token), "visitorAuthenticateFromCredentials"), iadvize_public
    )
    assert claims["exp"] - claims["iat"] == 420

    body["sessionLifetime"] = 1200  # a bank would prefer 7 minutes, an electricity supplier 20
    assert client.put(f"/_emulator/tenants/iadvize/{project_id}", json=body).status_code == 200
    client.post("/_emulator/clock", json={"advance": 5})
    token = mint(brand_key, iadvize_public, 1_800_000_005)
    claims = verified_claims(
        access_token(sdk_secured(client, project_id, token), "visitorAuthenticateFromCredentials"), iadvize_public
    )
    assert claims["iat"] == 1_800_000_005
    assert claims["exp"] == 1_800_000_005 + 1200


def test_token_valid_now_fails_after_advancing_past_max_age(
    client: httpx.Client, brand_key: Any, iadvize_public: Any, operator_token: str, now: float
) -> None:
    start = int(now)
    freeze(client, start)
    token = iadvize_token(brand_key, iadvize_public, {USER_ID: "alice", "exp": start + 60})
    access_token(try_jwe(client, operator_token, PROJECT, token), "testVisitorAuthenticateFromCredentials")
    # tokenMaxAge 60 s plus the fixture project's 30 s clock skew
    client.post("/_emulator/clock", json={"advance": 60 + 30 + 1})
    diagnosis = assert_rejected(client, try_jwe(client, operator_token, PROJECT, token), "not_expired")
    assert "expired 31 s ago" in diagnosis["summary"]
    client.post("/_emulator/clock", json={"advance": -(60 + 30 + 1)})
    access_token(try_jwe(client, operator_token, PROJECT, token), "testVisitorAuthenticateFromCredentials")


def test_anonymous_session(client: httpx.Client, iadvize_public: Any) -> None:
    response = graphql(client, SDK_ANONYMOUS, {"projectId": 7011, "vuid": "anon-1"})
    claims = verified_claims(access_token(response, "visitorAuthenticateAnonymously"), iadvize_public)
    assert claims["https://iadvize.com/vuid"] == "anon-1"
    again = verified_claims(
        access_token(
            graphql(client, SDK_ANONYMOUS, {"projectId": 7011, "vuid": "anon-1"}), "visitorAuthenticateAnonymously"
        ),
        iadvize_public,
    )
    assert again["https://iadvize.com/visitorProfileId"] == claims["https://iadvize.com/visitorProfileId"]
    fresh = graphql(client, SDK_ANONYMOUS, {"projectId": 7011})
    assert (
        len(
            verified_claims(access_token(fresh, "visitorAuthenticateAnonymously"), iadvize_public)[
                "https://iadvize.com/vuid"
            ]
        )
        == 32
    )


def test_anonymous_unknown_project(client: httpx.Client) -> None:
    response = graphql(client, SDK_ANONYMOUS, {"projectId": 999999})
    body = response.json()
    assert response.status_code == 200
    assert body["data"] is None
    assert (
        body["errors"][0]["message"]
        == "Failed to authenticate visitor anonymously : the website is not correctly setup (null)"
    )
    assert body["errors"][0]["extensions"]["emulator"]["failedCheck"] == "project_known"
    summary = "project_known: project 999999 is not registered in the emulator"
    remedy = "Register the project: PUT /_emulator/tenants/iadvize/<projectId> or [[iadvize.projects]]"
    journal_id = response.headers["x-emulator-journal-id"]
    assert body == {
        "data": None,
        "errors": [
            {
                "message": "Failed to authenticate visitor anonymously : the website is not correctly setup (null)",
                "locations": [{"line": 2, "column": 3}],
                "path": ["visitorAuthenticateAnonymously"],
                "extensions": {
                    "name": "BAD_USER_INPUT",
                    "retryPolicy": "NO_RETRY",
                    "emulator": {
                        "failedCheck": "project_known",
                        "summary": summary,
                        "remedy": remedy,
                        "journalId": int(journal_id),
                        "explain": "POST /_emulator/explain",
                    },
                },
            }
        ],
    }
    assert response.headers["x-emulator-diagnosis"] == f"{summary} | remedy: {remedy}"
    entry = client.get(f"/_emulator/journal/{journal_id}").json()
    assert entry["failedCheck"] == "project_known"
    assert entry["outcome"] == "rejected"
    assert entry["summary"] == summary
    assert entry["operation"] == "visitorAuthenticateAnonymously"
    assert entry["tenant"] == "999999"


def test_upgrade_anonymous_to_secured_keeps_vuid(
    client: httpx.Client, brand_key: Any, iadvize_public: Any, now: float
) -> None:
    anon = verified_claims(
        access_token(graphql(client, SDK_ANONYMOUS, {"projectId": 7011}), "visitorAuthenticateAnonymously"),
        iadvize_public,
    )
    vuid = anon["https://iadvize.com/vuid"]
    secured = verified_claims(
        access_token(
            sdk_secured(client, 7011, mint(brand_key, iadvize_public, now), vuid=vuid),
            "visitorAuthenticateFromCredentials",
        ),
        iadvize_public,
    )
    assert secured["https://iadvize.com/vuid"] == vuid
    assert secured["https://iadvize.com/visitorProfileId"] != anon["https://iadvize.com/visitorProfileId"]


def test_reset_forgets_visitors_but_keeps_projects(
    client: httpx.Client, brand_key: Any, iadvize_public: Any, now: float
) -> None:
    project_id = random_project_id()
    client.put(f"/_emulator/tenants/iadvize/{project_id}", json={"brandPublicKeys": [tokens.public_pem(brand_key)]})
    field = "visitorAuthenticateFromCredentials"
    before = verified_claims(
        access_token(sdk_secured(client, project_id, mint(brand_key, iadvize_public, now)), field), iadvize_public
    )
    assert client.post("/_emulator/reset").status_code == 200
    assert client.get(f"/_emulator/tenants/iadvize/{project_id}").status_code == 200
    assert client.get("/_emulator/visitors/iadvize", params={"projectId": project_id}).json()["visitors"] == []
    after = verified_claims(
        access_token(sdk_secured(client, project_id, mint(brand_key, iadvize_public, now)), field), iadvize_public
    )
    assert after["https://iadvize.com/visitorProfileId"] != before["https://iadvize.com/visitorProfileId"]


@pytest.mark.parametrize("extra", [{}, {"cty": "JWT"}, {"kid": "some-kid"}])
def test_jwe_header_variants_accepted(
    client: httpx.Client, brand_key: Any, iadvize_public: Any, now: float, extra: dict[str, str]
) -> None:
    """With or without cty, with or without kid: iAdvize documents neither (research §1.2)."""
    inner = tokens.jws({USER_ID: "alice", "exp": int(now) + 50}, brand_key)
    token = tokens.jwe(inner, iadvize_public, header={"alg": "RSA-OAEP-256", "enc": "A256GCM", **extra})
    access_token(sdk_secured(client, PROJECT, token), "visitorAuthenticateFromCredentials")


def test_documented_example_claims_accepted(
    client: httpx.Client, brand_key: Any, iadvize_public: Any, now: float
) -> None:
    """The docs' decoded example payload (with a fresh exp), JSON escaped the way Nimbus writes it."""
    payload = (
        '{"https:\\/\\/iadvize.com\\/userId":"test_documentation",'
        '"https:\\/\\/iadvize.com\\/visitorData":{"country":"France","firstName":"Jane","lastName":"Doe",'
        '"zipCode":"44000","address":"9 rue Nina Simone","phoneNumber":"+33651229856","city":"Nantes",'
        '"email":"jane.doe@email.com"},"iss":"https:\\/\\/test.iadvize.com","exp":%d}' % (int(now) + 50)
    ).encode()
    token = tokens.jwe(tokens.jws(payload, brand_key), iadvize_public)
    access_token(sdk_secured(client, PROJECT, token), "visitorAuthenticateFromCredentials")


def test_compressed_jwe_accepted(client: httpx.Client, brand_key: Any, iadvize_public: Any, now: float) -> None:
    """zip: DEF, which Nimbus (the library in iAdvize's docs) produces and accepts."""
    from jose import jwe as jose_jwe

    inner = tokens.jws({USER_ID: "alice", "exp": int(now) + 50}, brand_key)
    token = jose_jwe.encrypt(
        inner, tokens.public_pem(iadvize_public), algorithm="RSA-OAEP-256", encryption="A256GCM", zip="DEF"
    ).decode()
    assert tokens.decode_segment(token, 0)["zip"] == "DEF"
    access_token(sdk_secured(client, PROJECT, token), "visitorAuthenticateFromCredentials")


def test_a_visitor_profile_keeps_its_recent_vuids_only() -> None:
    from emulator.vendors.iadvize.state import MAX_VUIDS, VisitorProfile

    profile = VisitorProfile("p", "7011", "alice")
    for i in range(MAX_VUIDS + 20):
        profile.saw(f"v{i}", float(i))
    profile.saw("v30", 999.0)  # seen again: becomes the most recent
    assert len(profile.vuids) == MAX_VUIDS
    assert list(profile.vuids)[-1] == "v30"
    assert "v0" not in profile.vuids
    assert profile.sessions == MAX_VUIDS + 21
