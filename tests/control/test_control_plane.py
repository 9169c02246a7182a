"""The /_emulator control plane: health, clock, journal, explain, reset, tenants, keys."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests import tokens
from tests.conftest import FIXTURE_KEYS, PROJECT, random_project_id
from tests.tokens import USER_ID, iadvize_token
from tests.vendors.iadvize.helpers import sdk_secured


def test_health(client: httpx.Client) -> None:
    response = client.get("/_emulator/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "vendors": ["avaya", "dixa", "iadvize", "liveassist", "tiledesk"]}


# -- clock ---------------------------------------------------------------------------------------------------
def test_clock_modes(client: httpx.Client) -> None:
    real = client.get("/_emulator/clock").json()
    assert real["mode"] == "real"
    assert client.post("/_emulator/clock", json={"freeze": 1_700_000_000}).json() == {
        "now": 1_700_000_000,
        "mode": "frozen",
    }
    assert client.post("/_emulator/clock", json={"advance": 90}).json() == {"now": 1_700_000_090, "mode": "frozen"}
    assert client.post("/_emulator/clock", json={"advance": -30.5}).json() == {"now": 1_700_000_059.5, "mode": "frozen"}
    assert client.get("/_emulator/clock").json()["now"] == 1_700_000_059.5
    assert client.post("/_emulator/clock", json={"real": True}).json()["mode"] == "real"
    shifted = client.post("/_emulator/clock", json={"advance": 3600}).json()
    assert shifted["mode"] == "offset"
    assert 3590 < shifted["now"] - real["now"] < 3700


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"freeze": 1, "advance": 2},
        {"freeze": "soon"},
        {"advance": True},
        {"real": False},
        {"travel": 3},
        [],
        {"freeze": -5},
        {"freeze": 1e20},
    ],
)
def test_clock_bad_bodies(client: httpx.Client, body: Any) -> None:
    before = client.get("/_emulator/clock").json()["mode"]
    response = client.post("/_emulator/clock", json=body)
    assert response.status_code == 400
    assert "error" in response.json()
    assert client.get("/_emulator/clock").json()["mode"] == before


def test_clock_refuses_nan(client: httpx.Client) -> None:
    response = client.post(
        "/_emulator/clock", content=b'{"advance": NaN}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


def test_clock_refuses_non_json(client: httpx.Client) -> None:
    assert client.post("/_emulator/clock", content=b"freeze please").status_code == 400


# -- journal -------------------------------------------------------------------------------------------------
def _good(brand_key: Any, iadvize_public: Any, now: float, user: str = "alice") -> str:
    return iadvize_token(brand_key, iadvize_public, {USER_ID: user, "exp": int(now) + 50})


def test_journal_records_verdicts_newest_first(
    client: httpx.Client, brand_key: Any, iadvize_public: Any, now: float
) -> None:
    sdk_secured(client, PROJECT, _good(brand_key, iadvize_public, now))
    sdk_secured(client, PROJECT, "garbage")
    entries = client.get("/_emulator/journal").json()["entries"]
    assert [e["outcome"] for e in entries[:2]] == ["rejected", "accepted"]
    rejected, accepted = entries[0], entries[1]
    assert rejected["failedCheck"] == "jwe_format"
    assert rejected["tenant"] == PROJECT
    assert rejected["operation"] == "visitorAuthenticateFromCredentials"
    assert rejected["token"] == "garbage"
    assert rejected["trace"]["checks"][3]["status"] == "failed"
    assert accepted["trace"]["decoded"]["claims"][USER_ID] == "alice"
    assert accepted["path"] == "/iadvize/graphql"
    assert accepted["vendor"] == "iadvize"
    assert rejected["id"] > accepted["id"]


def test_journal_filters(client: httpx.Client) -> None:
    for _ in range(3):
        sdk_secured(client, PROJECT, "garbage")
    assert len(client.get("/_emulator/journal", params={"limit": 2}).json()["entries"]) == 2
    assert len(client.get("/_emulator/journal", params={"vendor": "iadvize"}).json()["entries"]) == 3
    assert client.get("/_emulator/journal", params={"limit": "0"}).status_code == 400
    assert client.get("/_emulator/journal", params={"limit": "many"}).status_code == 400
    assert client.get("/_emulator/journal", params={"vendor": "nobody"}).status_code == 400


def test_journal_entry_by_id_and_clear(client: httpx.Client) -> None:
    response = sdk_secured(client, PROJECT, "garbage")
    entry_id = response.headers["x-emulator-journal-id"]
    assert client.get(f"/_emulator/journal/{entry_id}").json()["failedCheck"] == "jwe_format"
    assert client.delete("/_emulator/journal").json() == {"cleared": 1}
    assert client.get(f"/_emulator/journal/{entry_id}").status_code == 404
    assert client.get("/_emulator/journal").json()["entries"] == []


def test_control_plane_requests_are_not_journaled(client: httpx.Client) -> None:
    client.get("/_emulator/health")
    client.get("/_emulator/tenants/iadvize")
    assert client.get("/_emulator/journal").json()["entries"] == []


# -- explain -------------------------------------------------------------------------------------------------
def test_explain_good_token(client: httpx.Client, brand_key: Any, iadvize_public: Any, now: float) -> None:
    report = client.post(
        "/_emulator/explain",
        json={"vendor": "iadvize", "tenant": PROJECT, "token": _good(brand_key, iadvize_public, now)},
    ).json()
    assert report["ok"] is True
    assert report["failedCheck"] is None
    assert all(c["status"] == "passed" for c in report["checks"])
    assert report["decoded"]["claims"][USER_ID] == "alice"
    assert report["decoded"]["jweHeader"]["alg"] == "RSA-OAEP-256"


def test_explain_has_no_side_effects(client: httpx.Client, brand_key: Any, iadvize_public: Any, now: float) -> None:
    token = _good(brand_key, iadvize_public, now, user="explained-only")
    client.post("/_emulator/explain", json={"vendor": "iadvize", "tenant": PROJECT, "token": token})
    assert client.get("/_emulator/journal").json()["entries"] == []
    assert client.get("/_emulator/visitors/iadvize").json()["visitors"] == []


def test_explain_failure_matches_the_vendor_answer(
    client: httpx.Client, other_key: Any, iadvize_public: Any, now: float
) -> None:
    token = iadvize_token(other_key, iadvize_public, {USER_ID: "alice", "exp": int(now) + 50})
    report = client.post("/_emulator/explain", json={"vendor": "iadvize", "tenant": PROJECT, "token": token}).json()
    assert report["ok"] is False
    assert report["failedCheck"] == "jws_signature"
    statuses = [c["status"] for c in report["checks"]]
    failed_at = statuses.index("failed")
    assert set(statuses[:failed_at]) == {"passed"} and set(statuses[failed_at + 1 :]) == {"not_run"}
    assert report["vendorResponse"]["errors"][0]["message"].startswith(
        "Failed to authenticate visitor from credentials"
    )
    vendor = sdk_secured(client, PROJECT, token).json()
    assert vendor["errors"][0]["extensions"]["emulator"]["failedCheck"] == "jws_signature"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"tenant": PROJECT, "token": "x"}, 400),
        ({"vendor": "nobody", "tenant": PROJECT, "token": "x"}, 400),
        ({"vendor": "iadvize", "tenant": None, "token": "x"}, 400),
        ([1, 2], 400),
    ],
)
def test_explain_bad_bodies(client: httpx.Client, body: Any, status: int) -> None:
    assert client.post("/_emulator/explain", json=body).status_code == status


def test_explain_non_string_token(client: httpx.Client) -> None:
    report = client.post("/_emulator/explain", json={"vendor": "iadvize", "tenant": PROJECT, "token": {"a": 1}}).json()
    assert report["failedCheck"] == "token_size"


# -- reset ---------------------------------------------------------------------------------------------------
def test_reset(client: httpx.Client, brand_key: Any, iadvize_public: Any, now: float) -> None:
    project_id = random_project_id()
    client.put(f"/_emulator/tenants/iadvize/{project_id}", json={"brandPublicKeys": [tokens.public_pem(brand_key)]})
    sdk_secured(client, project_id, _good(brand_key, iadvize_public, now))
    client.post("/_emulator/clock", json={"freeze": 1_700_000_000})
    assert client.post("/_emulator/reset").json()["status"] == "reset"
    assert client.get("/_emulator/clock").json()["mode"] == "real"
    assert client.get("/_emulator/journal").json()["entries"] == []
    assert client.get("/_emulator/visitors/iadvize").json()["visitors"] == []
    assert client.get(f"/_emulator/tenants/iadvize/{project_id}").status_code == 200


# -- tenants -------------------------------------------------------------------------------------------------
def _pem(key: Any) -> str:
    return tokens.public_pem(key)


def test_tenant_lifecycle(client: httpx.Client, brand_key: Any, other_key: Any) -> None:
    project_id = random_project_id()
    url = f"/_emulator/tenants/iadvize/{project_id}"
    body = {
        "brandPublicKeys": [_pem(brand_key)],
        "authenticationEnabled": True,
        "tokenMaxAge": 60,
        "sessionLifetime": 3600,
        "issuer": None,
    }
    created = client.put(url, json=body)
    assert created.status_code == 201
    view = created.json()
    assert view["projectId"] == project_id
    assert view["tokenMaxAge"] == 60 and view["sessionLifetime"] == 3600 and view["issuer"] is None
    assert view["clockSkew"] == 30
    assert view["brandPublicKeys"] == [_pem(brand_key)]
    assert "PRIVATE" not in json.dumps(view)
    replaced = client.put(
        url, json={**body, "brandPublicKeys": [_pem(brand_key), _pem(other_key)], "authenticationEnabled": False}
    )
    assert replaced.status_code == 200
    assert len(client.get(url).json()["brandKeys"]) == 2
    assert client.get(url).json()["authenticationEnabled"] is False
    listed = client.get("/_emulator/tenants/iadvize").json()["tenants"]
    assert {"projectId": project_id, "authenticationEnabled": False, "brandKeys": 2} in listed
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert client.delete(url).status_code == 404


def test_tenant_key_formats(client: httpx.Client, brand_key: Any, iadvize_public: Any, now: float) -> None:
    """A brand key as PEM, single-line base64 SPKI, PKCS#1 PEM or JWK verifies the same token."""
    public = brand_key.public_key()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    numbers = public.public_numbers()

    def b64u_int(n: int) -> str:
        return tokens.b64u(n.to_bytes((n.bit_length() + 7) // 8, "big"))

    forms = [
        _pem(brand_key),
        base64.b64encode(der).decode(),
        public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1).decode(),
        {"kty": "RSA", "n": b64u_int(numbers.n), "e": b64u_int(numbers.e), "kid": "brand-2026"},
    ]
    for form in forms:
        project_id = random_project_id()
        response = client.put(f"/_emulator/tenants/iadvize/{project_id}", json={"brandPublicKeys": [form]})
        assert response.status_code == 201, response.text
        answer = sdk_secured(client, project_id, _good(brand_key, iadvize_public, now)).json()
        assert "errors" not in answer, answer


def _small_rsa() -> str:
    return _pem(rsa.generate_private_key(public_exponent=65537, key_size=1024))


BAD_TENANTS = [
    ({}, "brandPublicKeys: required"),
    ({"brandPublicKeys": "one key"}, "a list is required"),
    ({"brandPublicKeys": ["not a key"]}, "brandPublicKeys[0]"),
    ({"brandPublicKeys": [], "tokenMaxAge": "60"}, "tokenMaxAge"),
    ({"brandPublicKeys": [], "tokenMaxAge": 0}, "tokenMaxAge"),
    ({"brandPublicKeys": [], "sessionLifetime": -1}, "sessionLifetime"),
    ({"brandPublicKeys": [], "clockSkew": 99999}, "clockSkew"),
    ({"brandPublicKeys": [], "authenticationEnabled": "yes"}, "authenticationEnabled"),
    ({"brandPublicKeys": [], "issuer": ""}, "issuer"),
    ({"brandPublicKeys": [], "tokenmaxage": 60}, "unknown field"),
    ({"brandPublicKeys": [], "projectId": "1"}, "differs from the one in the path"),
]


@pytest.mark.parametrize(("body", "fragment"), BAD_TENANTS)
def test_tenant_bad_bodies_change_nothing(client: httpx.Client, body: dict[str, Any], fragment: str) -> None:
    before = client.get(f"/_emulator/tenants/iadvize/{PROJECT}").json()
    response = client.put(f"/_emulator/tenants/iadvize/{PROJECT}", json=body)
    assert response.status_code == 400
    assert fragment in response.json()["error"]
    assert client.get(f"/_emulator/tenants/iadvize/{PROJECT}").json() == before


def test_tenant_refuses_private_ec_and_short_keys(client: httpx.Client, brand_key: Any) -> None:
    private_pem = brand_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    ec_pem = _pem(ec.generate_private_key(ec.SECP256R1()))
    cases = [(private_pem, "private key"), (ec_pem, "must be RSA"), (_small_rsa(), "at least 2048 bits")]
    for material, fragment in cases:
        response = client.put(f"/_emulator/tenants/iadvize/{random_project_id()}", json={"brandPublicKeys": [material]})
        assert response.status_code == 400
        assert fragment in response.json()["error"]
        assert "BEGIN PRIVATE KEY" not in response.text


@pytest.mark.parametrize("project_id", ["abc", "0", "-3", "12345678901234567890"])
def test_tenant_bad_project_ids(client: httpx.Client, project_id: str) -> None:
    response = client.put(f"/_emulator/tenants/iadvize/{project_id}", json={"brandPublicKeys": []})
    assert response.status_code == 400
    assert "projectId" in response.json()["error"]


def test_tenant_non_json_and_unknown_vendor(client: httpx.Client) -> None:
    assert client.put("/_emulator/tenants/iadvize/123", content=b"{oops").status_code == 400
    assert client.put("/_emulator/tenants/nobody/123", json={}).status_code == 404
    assert client.get("/_emulator/tenants/nobody").status_code == 404
    assert client.get("/_emulator/keys/nobody").status_code == 404


# -- keys ----------------------------------------------------------------------------------------------------
def test_iadvize_public_key(client: httpx.Client) -> None:
    body = client.get("/_emulator/keys/iadvize").json()
    fixture = serialization.load_pem_public_key((FIXTURE_KEYS / "iadvize-emulator.public.pem").read_bytes())
    expected_der = fixture.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert base64.b64decode(body["spki"]) == expected_der
    assert "\n" not in body["spki"]
    assert serialization.load_pem_public_key(body["pem"].encode()).public_numbers() == fixture.public_numbers()
    assert body["jwk"]["kty"] == "RSA" and body["jwk"]["kid"] == body["kid"]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(body["jwk"])
    assert "PRIVATE" not in json.dumps(body)
