"""Every check of the iAdvize credentials pipeline, failed for real by a token made with independent code.

Each case asserts the vendor's exact string and the named failed check (GraphQL extensions, the
X-Emulator-Diagnosis header and the journal).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from emulator.vendors.iadvize.checks import PIPELINE
from tests import tokens
from tests.conftest import PROJECT, PROJECT_DISABLED, random_project_id
from tests.tokens import USER_ID, VISITOR_DATA, jwe, jws
from tests.vendors.iadvize.helpers import assert_rejected, sdk_secured, try_jwe

# "iAdvize Public Key (use for production)", as published in iAdvize's docs (research/iadvize.md §1.5).
IADVIZE_PRODUCTION_KEY = serialization.load_der_public_key(
    base64.b64decode(
        "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1KdAzuUa5rOXgLHavoDRYoNXzwWz/pFhgGypYFbvV8DNjB93XK2AzKTwW+vxT7RYl4f+"
        "sKLdEi3dJYgPt2hquhTNmFxAzRvTuolUOKr1XNx7QbDj+7cfLVDYjmds/ydNtyHi8TUHSvfzs8SGXO5E5H13llmayPEslHKShG0cLIDcLNr6hJcf"
        "v9fvOZqQlLQ4Bx7to/66IHke9zY+1oidrUdFGzxXG+RGK81mIMuXj6N2EGJ7YYcQqXJfBJnWFlSGCQNttw5Rfj00eZbkMRO3XohhNqGIiBG2tejS"
        "jfB53UpiHdbzni+tyB72R5aaq4d+gkkgaOVYn/Or2fArOH2FUQIDAQAB"
    )
)


@dataclass
class Kit:
    client: httpx.Client
    brand: Any
    iadvize: Any
    other: Any
    now: float

    def claims(self, **overrides: Any) -> dict[str, Any]:
        claims: dict[str, Any] = {USER_ID: "alice", "exp": int(self.now) + 50}
        claims.update(overrides)
        return claims

    def good_jws(self, **overrides: Any) -> str:
        return jws(self.claims(**overrides), self.brand)

    def token(self, claims: dict[str, Any]) -> str:
        return jwe(jws(claims, self.brand), self.iadvize)

    def register(self, **fields: Any) -> str:
        project_id = random_project_id()
        body = {"brandPublicKeys": [tokens.public_pem(self.brand)], **fields}
        response = self.client.put(f"/_emulator/tenants/iadvize/{project_id}", json=body)
        assert response.status_code == 201, response.text
        return project_id


@dataclass
class Case:
    id: str
    check: str
    build: Callable[[Kit], tuple[str, str]]  # -> (projectId, credentials)
    says: str = ""  # a fragment the diagnosis summary must contain


def _tamper(token: str) -> str:
    parts = token.split(".")
    ciphertext = bytearray(tokens.b64u_decode(parts[3]))
    ciphertext[0] ^= 0x01
    parts[3] = tokens.b64u(bytes(ciphertext))
    return ".".join(parts)


CASES = [
    Case("unknown project", "project_known", lambda k: ("999999", k.token(k.claims())), "not registered"),
    Case("authentication disabled", "authentication_enabled", lambda k: (PROJECT_DISABLED, k.token(k.claims()))),
    Case("70 KiB token", "token_size", lambda k: (PROJECT, "a" * 70 * 1024), "over the 65536-byte cap"),
    Case("garbage", "jwe_format", lambda k: (PROJECT, "this is not a token"), "a compact JWE has 5"),
    Case(
        "header not JSON",
        "jwe_format",
        lambda k: (PROJECT, "bm90anNvbg.a.b.c.d"),
        "not base64url-encoded JSON",
    ),
    Case("plain JWS, not encrypted", "jwe_format", lambda k: (PROJECT, k.good_jws()), "was not encrypted"),
    Case(
        "RSA-OAEP instead of RSA-OAEP-256",
        "jwe_alg",
        lambda k: (PROJECT, jwe(k.good_jws(), k.iadvize, alg="RSA-OAEP")),
        "'RSA-OAEP', not RSA-OAEP-256",
    ),
    Case(
        "A128GCM instead of A256GCM",
        "jwe_enc",
        lambda k: (PROJECT, jwe(k.good_jws(), k.iadvize, enc="A128GCM")),
        "'A128GCM', not A256GCM",
    ),
    Case(
        "crit header",
        "jwe_enc",
        lambda k: (
            PROJECT,
            jwe(k.good_jws(), k.iadvize, header={"alg": "RSA-OAEP-256", "enc": "A256GCM", "crit": ["exp"]}),
        ),
        "crit",
    ),
    Case(
        "zip other than DEF",
        "jwe_enc",
        lambda k: (
            PROJECT,
            jwe(k.good_jws(), k.iadvize, header={"alg": "RSA-OAEP-256", "enc": "A256GCM", "zip": "GZIP"}),
        ),
        "unknown JWE compression 'GZIP'",
    ),
    Case(
        "encrypted to another public key",
        "jwe_decrypt",
        lambda k: (PROJECT, jwe(k.good_jws(), k.other.public_key())),
        "encrypted with another public key",
    ),
    Case(
        "encrypted to iAdvize's production key",
        "jwe_decrypt",
        lambda k: (PROJECT, jwe(k.good_jws(), IADVIZE_PRODUCTION_KEY)),
        "e.g. iAdvize's production key instead of the emulator's",
    ),
    Case(
        "tampered ciphertext",
        "jwe_decrypt",
        lambda k: (PROJECT, _tamper(jwe(k.good_jws(), k.iadvize))),
        "does not authenticate",
    ),
    Case(
        "JWE of bare JSON claims",
        "jws_format",
        lambda k: (PROJECT, jwe(b'{"https://iadvize.com/userId":"alice"}', k.iadvize)),
        "bare JSON claims",
    ),
    Case(
        "JWE of plain text",
        "jws_format",
        lambda k: (PROJECT, jwe(b"alice", k.iadvize)),
        "the decrypted content is not a JWS: token has 1 dot-separated segments, expected 3",
    ),
    Case(
        "JWE wrapping another JWE (encrypted twice, never signed)",
        "jws_format",
        lambda k: (PROJECT, jwe(jwe(k.good_jws(), k.iadvize), k.iadvize)),
        "the decrypted content is not a JWS: token has 5 dot-separated segments, expected 3",
    ),
    Case(
        "JWE of a JWS whose header is not JSON",
        "jws_format",
        lambda k: (PROJECT, jwe(tokens.b64u(b"not json") + ".e30.c2ln", k.iadvize)),
        "the decrypted content is not a JWS: the protected header is not base64url-encoded JSON",
    ),
    Case(
        "inner HS256",
        "jws_alg",
        lambda k: (PROJECT, jwe(jws(k.claims(), b"shared-secret", "HS256"), k.iadvize)),
        "'HS256'",
    ),
    Case(
        "inner alg none",
        "jws_alg",
        lambda k: (PROJECT, jwe(jws(k.claims(), None, "none"), k.iadvize)),
        "alg: none",
    ),
    Case(
        "no brand key registered",
        "brand_key_registered",
        lambda k: (k.register(brandPublicKeys=[]), k.token(k.claims())),
        "no brand public key",
    ),
    Case(
        "inner JWS signed by another key",
        "jws_signature",
        lambda k: (PROJECT, jwe(jws(k.claims(), k.other), k.iadvize)),
        "verifies with none",
    ),
    Case(
        "claims not JSON",
        "claims_json",
        lambda k: (PROJECT, jwe(jws(b"not json", k.brand), k.iadvize)),
        "not JSON",
    ),
    Case(
        "missing userId",
        "user_id_present",
        lambda k: (PROJECT, k.token({"exp": int(k.now) + 50})),
        "is missing",
    ),
    Case(
        "userId without the prefix",
        "user_id_present",
        lambda k: (PROJECT, k.token({"userId": "alice", "exp": int(k.now) + 50})),
        "found ['userId'] instead",
    ),
    Case(
        "userId of 256 characters",
        "user_id_format",
        lambda k: (PROJECT, k.token(k.claims(**{USER_ID: "u" * 256}))),
        "256 characters",
    ),
    Case("empty userId", "user_id_format", lambda k: (PROJECT, k.token(k.claims(**{USER_ID: ""}))), "is empty"),
    Case(
        "numeric userId",
        "user_id_format",
        lambda k: (PROJECT, k.token(k.claims(**{USER_ID: 42}))),
        "not a string",
    ),
    Case(
        "visitorData not an object",
        "visitor_data",
        lambda k: (PROJECT, k.token(k.claims(**{VISITOR_DATA: "Jane Doe"}))),
        "not an object",
    ),
    Case(
        "visitorData value not a string",
        "visitor_data",
        lambda k: (PROJECT, k.token(k.claims(**{VISITOR_DATA: {"firstName": "Jane", "zipCode": 44000}}))),
        "['zipCode']",
    ),
    Case(
        "missing exp",
        "exp_present",
        lambda k: (PROJECT, k.token({USER_ID: "alice"})),
        "'exp' claim is missing",
    ),
    Case(
        "exp a numeric string",
        "exp_present",
        lambda k: (PROJECT, k.token(k.claims(exp=str(int(k.now) + 50)))),
        "'exp' must be a number of seconds since the epoch",
    ),
    Case(
        "exp a boolean",
        "exp_present",
        lambda k: (PROJECT, k.token(k.claims(exp=True))),
        "'exp' must be a number of seconds since the epoch",
    ),
    Case(
        "nbf a string",
        "not_expired",
        lambda k: (PROJECT, k.token(k.claims(nbf="2020-01-01T00:00:00Z"))),
        "'nbf' must be a number of seconds since the epoch",
    ),
    Case(
        "iat an object",
        "token_lifetime",
        lambda k: (PROJECT, k.token(k.claims(iat={"seconds": int(k.now)}))),
        "'iat' must be a number of seconds since the epoch",
    ),
    Case(
        "exp in milliseconds",
        "exp_present",
        lambda k: (PROJECT, k.token(k.claims(exp=int(k.now * 1000) + 50_000))),
        "milliseconds",
    ),
    Case(
        "exp a 401-digit integer",
        "exp_present",
        lambda k: (PROJECT, k.token(k.claims(exp=10**400))),
        "looks like milliseconds",
    ),
    Case(
        "exp a negative 401-digit integer",
        "exp_present",
        lambda k: (PROJECT, k.token(k.claims(exp=-(10**400)))),
        "out of range",
    ),
    Case(
        "nbf a negative 401-digit integer",
        "not_expired",
        lambda k: (PROJECT, k.token(k.claims(nbf=-(10**400)))),
        "out of range",
    ),
    Case(
        "iat a negative 401-digit integer",
        "token_lifetime",
        lambda k: (PROJECT, k.token(k.claims(iat=-(10**400)))),
        "out of range",
    ),
    Case(
        "exp NaN (Python's json would accept it)",
        "claims_json",
        lambda k: (PROJECT, jwe(jws(b'{"https://iadvize.com/userId":"a","exp":NaN}', k.brand), k.iadvize)),
        "NaN is not valid JSON",
    ),
    Case(
        "header nested 30000 deep",
        "jwe_format",
        lambda k: (PROJECT, tokens.b64u(b"[" * 30000) + ".a.b.c.d"),
        "nested too deeply",
    ),
    Case(
        "expired",
        "not_expired",
        lambda k: (PROJECT, k.token(k.claims(exp=int(k.now) - 3600))),
        "expired",
    ),
    Case(
        "not yet valid (nbf)",
        "not_expired",
        lambda k: (PROJECT, k.token(k.claims(nbf=int(k.now) + 600))),
        "not valid before",
    ),
    Case(
        "lifetime over tokenMaxAge",
        "token_lifetime",
        lambda k: (PROJECT, k.token(k.claims(exp=int(k.now) + 3600))),
        "over the project's tokenMaxAge of 60 s",
    ),
    Case(
        "iat-based lifetime over tokenMaxAge",
        "token_lifetime",
        lambda k: (PROJECT, k.token(k.claims(iat=int(k.now) - 10, exp=int(k.now) + 290))),
        "(exp - iat)",
    ),
    Case(
        "iat in the future",
        "token_lifetime",
        lambda k: (PROJECT, k.token(k.claims(iat=int(k.now) + 100, exp=int(k.now) + 110))),
        "in the future",
    ),
    Case(
        "wrong issuer",
        "issuer",
        lambda k: (
            k.register(issuer="https://brand.example"),
            k.token(k.claims(iss="https://test.iadvize.com")),
        ),
        "expects 'https://brand.example'",
    ),
]


@pytest.fixture
def kit(client: httpx.Client, brand_key: Any, iadvize_public: Any, other_key: Any, now: float) -> Kit:
    return Kit(client, brand_key, iadvize_public, other_key, now)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_test_mutation_refuses(case: Case, kit: Kit, operator_token: str) -> None:
    project_id, credentials = case.build(kit)
    response = try_jwe(kit.client, operator_token, project_id, credentials)
    diagnosis = assert_rejected(kit.client, response, case.check)
    assert case.says in diagnosis["summary"]
    assert diagnosis["remedy"]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_sdk_mutation_refuses_alike(case: Case, kit: Kit) -> None:
    """The visitor-facing mutation (no Bearer, as the SDKs call it) runs the same pipeline."""
    project_id, credentials = case.build(kit)
    assert_rejected(kit.client, sdk_secured(kit.client, project_id, credentials), case.check)


def test_every_check_has_a_failing_case() -> None:
    assert {c.check for c in CASES} == set(PIPELINE.names)


def test_remedies_quote_the_faq(kit: Kit, operator_token: str) -> None:
    """The diagnosis gives the FAQ's remedy for the failing part of the token."""
    faq = {
        "jwe_enc": 'Ensure the JWE is encrypted with the right algorithm ("enc": "A256GCM", "alg": "RSA-OAEP-256")',
        "jws_alg": 'Ensure the JWT is signed with the right algorithm ("alg": "RS256")',
        "jws_signature": "Ensure you use the right private key and the right iAdvize public key. "
        "Ensure iAdvize setup your public key in your settings.",
        "user_id_present": "Ensure you set all the required claims with the right prefixes",
    }
    for case in CASES:
        if case.check in faq:
            project_id, credentials = case.build(kit)
            diagnosis = assert_rejected(
                kit.client, try_jwe(kit.client, operator_token, project_id, credentials), case.check
            )
            assert diagnosis["remedy"] == faq[case.check]
