"""The Live Assist implicit flow: every id_token rule of the check pipeline, with tokens made by independent code.

Every id_token here is built with raw ``cryptography`` (tests/tokens.py, plus the CBC-HS JWE and RS512 JWS
below), never with emulator helpers. Every rejection asserts Live Assist's answer (401, the offline survey) and
the named failed check in the X-Emulator-Diagnosis header and in the journal entry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import respx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID

from emulator.app import create_app
from emulator.testing import emulator_client
from emulator.vendors.liveassist.checks import PIPELINE
from tests import tokens
from tests.conftest import FIXTURE_KEYS, random_project_id
from tests.tokens import b64u, jwe, jws

# Vendor values, written out here (not imported from the emulator).
ACCOUNT = "12345678"  # default fixtures: implicit flow, demo brand key
ISSUER = "https://brand.example"
KID = "lpsso2026"  # the emulator's encryption key
FAILED = {"error": "authentication_failed", "outcome": "offline-survey"}
JWKS_URL = "https://brand.test/jwks.json"
NO_KEY = object()  # a request without ssoKey


# -- independent token building ----------------------------------------------------------------------------------
def spki_b64(key: Any) -> str:
    """The single-line base64 DER SubjectPublicKeyInfo the Live Assist console takes ("JWT Public Key")."""
    public = key.public_key() if hasattr(key, "public_key") else key
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode("ascii")


def public_jwk(key: Any, kid: str | None = None, **members: str) -> dict[str, Any]:
    numbers = key.public_key().public_numbers()
    jwk: dict[str, Any] = {
        "kty": "RSA",
        "n": b64u(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
        "e": b64u(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
        **members,
    }
    if kid is not None:
        jwk["kid"] = kid
    return jwk


def certificate_der(key: Any) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "brand.test")])
    start = datetime.now(UTC) - timedelta(days=1)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.DER)


def rs512(claims: dict[str, Any], key: Any) -> str:
    """A genuine RS512 JWS (tests/tokens.py signs RS256 only)."""
    header = b64u(json.dumps({"alg": "RS512"}).encode())
    signing_input = f"{header}.{b64u(json.dumps(claims).encode())}".encode()
    return f"{signing_input.decode()}.{b64u(key.sign(signing_input, rsa_padding.PKCS1v15(), hashes.SHA512()))}"


_CBC = {
    "A128CBC-HS256": (16, hashlib.sha256),
    "A192CBC-HS384": (24, hashlib.sha384),
    "A256CBC-HS512": (32, hashlib.sha512),
}


def jwe_cbc(plaintext: str, public_key: Any, enc: str = "A128CBC-HS256", alg: str = "RSA-OAEP-256") -> str:
    """A compact JWE with AES-CBC + HMAC content encryption, RFC 7518 §5.2, from raw cryptography."""
    size, digest = _CBC[enc]
    cek = os.urandom(2 * size)
    mac_key, enc_key = cek[:size], cek[size:]
    oaep = hashes.SHA256() if alg == "RSA-OAEP-256" else hashes.SHA1()  # noqa: S303 - RSA-OAEP is SHA-1 by spec
    wrapped = public_key.encrypt(cek, rsa_padding.OAEP(mgf=rsa_padding.MGF1(oaep), algorithm=oaep, label=None))
    protected = b64u(json.dumps({"alg": alg, "enc": enc, "kid": KID, "cty": "JWT"}).encode())
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext.encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    aad = protected.encode("ascii")
    tag = hmac.new(mac_key, aad + iv + ciphertext + (len(aad) * 8).to_bytes(8, "big"), digest).digest()[:size]
    return ".".join([protected, b64u(wrapped), b64u(iv), b64u(ciphertext), b64u(tag)])


def tamper(token: str) -> str:
    parts = token.split(".")
    ciphertext = bytearray(tokens.b64u_decode(parts[3]))
    ciphertext[0] ^= 0x01
    parts[3] = b64u(bytes(ciphertext))
    return ".".join(parts)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- requests and assertions ---------------------------------------------------------------------------------------
def authenticate(client: httpx.Client, sso_key: Any, account: str = ACCOUNT, **more: Any) -> httpx.Response:
    """The Visitor Authentication Request, as the Server Chat API sends it (research §1.6)."""
    body: dict[str, Any] = {
        "authChatConnId": 568046210,
        "engagementId": 567609310,
        "LETagContextId": "2",
        "LETagSessionId": "90o5l5twRUGu1rN7bzwNMA",
        "LETagVisitorId": "RiM2JlOTcwOGIxZmNiNTk4",
        **more,
    }
    if sso_key is not NO_KEY:
        body["ssoKey"] = sso_key
    return client.post(
        f"/liveassist/api/account/{account}/conversation.json", params={"v": "1", "NC": "true"}, json=body
    )


def accepted(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, (response.text, response.headers.get("x-emulator-diagnosis"))
    body = response.json()
    assert set(body) == {"participantId", "conversationId"}
    return body


def journal(client: httpx.Client, response: httpx.Response) -> dict[str, Any]:
    entry = client.get(f"/_emulator/journal/{response.headers['x-emulator-journal-id']}")
    assert entry.status_code == 200
    return entry.json()


def assert_rejected(client: httpx.Client, response: httpx.Response, check: str) -> dict[str, Any]:
    """Live Assist's answer (the offline survey), and the named check in the header and the journal entry."""
    assert response.status_code == 401, response.text
    assert response.json() == FAILED
    assert response.headers["x-emulator-diagnosis"].startswith(f"{check}: "), response.headers["x-emulator-diagnosis"]
    entry = journal(client, response)
    assert entry["failedCheck"] == check
    assert entry["outcome"] == "rejected"
    assert entry["trace"]["failedCheck"] == check
    return entry


def explain(client: httpx.Client, token: Any, tenant: str = ACCOUNT) -> dict[str, Any]:
    response = client.post("/_emulator/explain", json={"vendor": "liveassist", "tenant": tenant, "token": token})
    assert response.status_code == 200, response.text
    return response.json()


def agent_view(client: httpx.Client, conversation_id: str) -> dict[str, Any]:
    response = client.get(f"/_emulator/agent/liveassist/{conversation_id}")
    assert response.status_code == 200, response.text
    return response.json()


# -- the kit -------------------------------------------------------------------------------------------------------
@dataclass
class Kit:
    client: httpx.Client
    brand: Any  # the demo brand private key (fixture connector 12345678)
    lp: Any  # the emulator's encryption public key (kid lpsso2026), as GET /_emulator/keys/liveassist serves it
    other: Any  # a key pair nobody registered
    now: float

    def claims(self, **overrides: Any) -> dict[str, Any]:
        """Good claims; an override of None removes the claim."""
        claims: dict[str, Any] = {"iss": ISSUER, "iat": int(self.now), "exp": int(self.now) + 300, "sub": "alice"}
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def signed(self, key: Any = None, kid: str | None = None, **overrides: Any) -> str:
        header = {"alg": "RS256", "typ": "JWT", **({"kid": kid} if kid else {})}
        return jws(self.claims(**overrides), key or self.brand, header=header)

    def encrypted(self, inner: str | None = None, **jwe_args: Any) -> str:
        """Signed, then encrypted to the emulator's key: RSA-OAEP-256 / A256GCM, kid lpsso2026, cty JWT."""
        if "header" not in jwe_args:
            jwe_args["header"] = {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": KID, "cty": "JWT"}
        return jwe(inner or self.signed(), jwe_args.pop("to", self.lp), **jwe_args)

    def register(self, **fields: Any) -> str:
        """A new implicit connector (random account id), signed by the demo brand key unless told otherwise."""
        account = random_project_id()
        body = {"flow": "implicit", "issuer": ISSUER, **fields}
        if "jwksUrl" not in body:
            body.setdefault("jwtPublicKey", spki_b64(self.brand))
        response = self.client.put(f"/_emulator/tenants/liveassist/{account}", json=body)
        assert response.status_code == 201, response.text
        return account


@pytest.fixture(scope="session")
def demo_brand() -> Any:
    return tokens.load_private(FIXTURE_KEYS / "liveassist-brand-demo.private.pem")


@pytest.fixture(scope="session")
def lp_public(client: httpx.Client) -> Any:
    return serialization.load_pem_public_key(client.get("/_emulator/keys/liveassist").json()["pem"].encode())


@pytest.fixture
def kit(client: httpx.Client, demo_brand: Any, lp_public: Any, other_key: Any, now: float) -> Kit:
    return Kit(client, demo_brand, lp_public, other_key, now)


# -- 1. accepted ---------------------------------------------------------------------------------------------------
def test_signed_id_token_is_accepted(kit: Kit) -> None:
    """Implicit flow, the fixture connector: an RS256 JWS signed with the demo brand key opens a conversation."""
    body = accepted(authenticate(kit.client, kit.signed()))
    assert body["participantId"] != body["conversationId"]
    view = agent_view(kit.client, body["conversationId"])
    assert view["authenticated"] is True and view["sub"] == "alice" and view["issuer"] == ISSUER


ENCRYPTIONS: list[tuple[str, Callable[[Kit], str]]] = [
    ("RSA-OAEP-256/A256GCM kid lpsso2026", lambda k: k.encrypted()),
    (
        "RSA-OAEP-256/A256GCM no kid",
        lambda k: k.encrypted(header={"alg": "RSA-OAEP-256", "enc": "A256GCM", "cty": "JWT"}),
    ),
    ("RSA-OAEP/A256GCM", lambda k: k.encrypted(alg="RSA-OAEP", header={"alg": "RSA-OAEP", "enc": "A256GCM"})),
    ("A128GCM", lambda k: k.encrypted(enc="A128GCM", header={"alg": "RSA-OAEP-256", "enc": "A128GCM"})),
    ("A128CBC-HS256", lambda k: jwe_cbc(k.signed(), k.lp, "A128CBC-HS256")),
    ("A256CBC-HS512", lambda k: jwe_cbc(k.signed(), k.lp, "A256CBC-HS512")),
    ("RSA-OAEP/A192CBC-HS384", lambda k: jwe_cbc(k.signed(), k.lp, "A192CBC-HS384", alg="RSA-OAEP")),
]


@pytest.mark.parametrize("build", [b for _, b in ENCRYPTIONS], ids=[i for i, _ in ENCRYPTIONS])
def test_signed_and_encrypted_id_token_is_accepted(kit: Kit, build: Callable[[Kit], str]) -> None:
    """A JWS encrypted to the emulator's key (alg RSA-OAEP-256 or RSA-OAEP, GCM or CBC-HS enc) decrypts and verifies."""
    response = authenticate(kit.client, build(kit))
    accepted(response)
    trace = journal(kit.client, response)["trace"]
    assert trace["ok"] is True and trace["warnings"] == []
    assert trace["decoded"]["claims"]["sub"] == "alice"


# -- 2. every failure, with its named check ------------------------------------------------------------------------
@dataclass
class Case:
    id: str
    check: str
    build: Callable[[Kit], tuple[str, Any]]  # -> (accountId, ssoKey or NO_KEY)
    says: str = ""  # a fragment of the diagnosis summary


def _on_fixture(build: Callable[[Kit], Any]) -> Callable[[Kit], tuple[str, Any]]:
    return lambda k: (ACCOUNT, build(k))


CASES = [
    Case("unknown account", "connector_known", lambda k: ("99999999", k.signed()), "has no authentication connector"),
    Case("no ssoKey", "sso_key_present", _on_fixture(lambda k: NO_KEY), "no ssoKey"),
    Case("empty ssoKey", "sso_key_present", _on_fixture(lambda k: ""), "no ssoKey"),
    Case("ssoKey not a string", "sso_key_present", _on_fixture(lambda k: {"ssoKey": k.signed()}), "no ssoKey"),
    Case("2 segments", "token_format", _on_fixture(lambda k: "eyJhbGciOiJSUzI1NiJ9.e30"), "2 dot-separated segments"),
    Case("4 segments", "token_format", _on_fixture(lambda k: k.signed() + ".AA"), "4 dot-separated segments"),
    Case("an opaque code", "token_format", _on_fixture(lambda k: "b5bb9d8014a0f9b1d61e21e796d78dcc"), "segments"),
    Case("header not JSON", "token_format", _on_fixture(lambda k: "bm90anNvbg.e30.AA"), "not base64url-encoded JSON"),
    Case(
        "JWE alg RSA1_5",
        "jwe_alg",
        _on_fixture(lambda k: k.encrypted(header={"alg": "RSA1_5", "enc": "A256GCM", "kid": KID})),
        "'RSA1_5' is not accepted",
    ),
    Case(
        "JWE alg spelled RSA_OAEP_256 as in the docs",
        "jwe_alg",
        _on_fixture(lambda k: k.encrypted(header={"alg": "RSA_OAEP_256", "enc": "A256GCM", "kid": KID})),
        "Nimbus's name for RSA-OAEP-256",
    ),
    Case(
        "JWE enc A128KW",
        "jwe_enc",
        _on_fixture(lambda k: k.encrypted(header={"alg": "RSA-OAEP-256", "enc": "A128KW", "kid": KID})),
        "enc 'A128KW' is not accepted",
    ),
    Case(
        "JWE enc unknown",
        "jwe_enc",
        _on_fixture(lambda k: k.encrypted(header={"alg": "RSA-OAEP-256", "enc": "A512GCM", "kid": KID})),
        "enc 'A512GCM' is not accepted",
    ),
    Case(
        "JWE without enc",
        "jwe_enc",
        _on_fixture(lambda k: k.encrypted(header={"alg": "RSA-OAEP-256", "kid": KID})),
        "enc None is not accepted",
    ),
    Case(
        "JWE crit header",
        "jwe_enc",
        _on_fixture(lambda k: k.encrypted(header={"alg": "RSA-OAEP-256", "enc": "A256GCM", "crit": ["exp"]})),
        "'crit'",
    ),
    Case(
        "unknown kid, strictKid",
        "jwe_kid",
        lambda k: (
            k.register(strictKid=True),
            k.encrypted(header={"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": "lpsso2025"}),
        ),
        "kid 'lpsso2025', which is no emulator key (ours: 'lpsso2026') and the connector sets strictKid",
    ),
    Case(
        "encrypted to another public key",
        "jwe_decrypt",
        _on_fixture(lambda k: k.encrypted(to=k.other.public_key())),
        "probably encrypted with another public key",
    ),
    Case(
        "tampered ciphertext",
        "jwe_decrypt",
        _on_fixture(lambda k: tamper(k.encrypted())),
        "does not authenticate",
    ),
    Case(
        "tampered CBC-HS ciphertext",
        "jwe_decrypt",
        _on_fixture(lambda k: tamper(jwe_cbc(k.signed(), k.lp))),
        "does not authenticate",
    ),
    Case(
        "JWE of bare JSON claims",
        "jwe_decrypt",
        _on_fixture(lambda k: k.encrypted(json.dumps(k.claims()))),
        "does not hold a signed JWT",
    ),
    Case("JWS alg HS256", "jws_alg", _on_fixture(lambda k: jws(k.claims(), b"shared-secret", "HS256")), "'HS256'"),
    Case("JWS alg none", "jws_alg", _on_fixture(lambda k: jws(k.claims(), None, "none")), "'none'"),
    Case("JWS alg RS512", "jws_alg", _on_fixture(lambda k: rs512(k.claims(), k.brand)), "only supports RS256"),
    Case(
        "inner JWS alg HS256",
        "jws_alg",
        _on_fixture(lambda k: k.encrypted(jws(k.claims(), b"shared-secret", "HS256"))),
        "'HS256'",
    ),
    Case(
        "JWKS unreachable",
        "signing_key",
        lambda k: (k.register(jwksUrl=f"http://127.0.0.1:{closed_port()}/jwks.json", timeout=2), k.signed(kid="A")),
        "connection_refused",
    ),
    Case("signed by another key", "jws_signature", _on_fixture(lambda k: k.signed(key=k.other)), "verifies with none"),
    Case(
        "signed by another key, encrypted",
        "jws_signature",
        _on_fixture(lambda k: k.encrypted(k.signed(key=k.other))),
        "verifies with none",
    ),
    Case("payload not JSON", "claims_json", _on_fixture(lambda k: jws(b"not json", k.brand)), "not JSON"),
    Case("payload a JSON array", "claims_json", _on_fixture(lambda k: jws(b"[1]", k.brand)), "not an object"),
    Case(
        "wrong issuer",
        "issuer",
        _on_fixture(lambda k: k.signed(iss="https://idp.example")),
        "the connector expects 'https://brand.example'",
    ),
    Case("no issuer", "issuer", _on_fixture(lambda k: k.signed(iss=None)), "iss is None"),
    Case(
        "issuer with a trailing slash",
        "issuer",
        _on_fixture(lambda k: k.signed(iss=ISSUER + "/")),
        "compared exactly, case and trailing slash included",
    ),
    Case(
        "issuer differing in case",
        "issuer",
        _on_fixture(lambda k: k.signed(iss="https://Brand.example")),
        "compared exactly, case and trailing slash included",
    ),
    Case("iat missing", "iat", _on_fixture(lambda k: k.signed(iat=None)), "'iat' claim is missing"),
    Case("iat a string", "iat", _on_fixture(lambda k: k.signed(iat=str(int(k.now)))), "must be a number of seconds"),
    Case("iat in milliseconds", "iat", _on_fixture(lambda k: k.signed(iat=int(k.now * 1000))), "milliseconds"),
    Case("iat in the future", "iat", _on_fixture(lambda k: k.signed(iat=int(k.now) + 600)), "in the future"),
    Case("iat a boolean", "iat", _on_fixture(lambda k: k.signed(iat=True)), "must be a number of seconds"),
    Case("exp missing", "exp", _on_fixture(lambda k: k.signed(exp=None)), "'exp' claim is missing"),
    Case(
        "exp in milliseconds (the docs' example)",
        "exp",
        _on_fixture(lambda k: k.signed(exp=int(k.now * 1000) + 3_600_000)),
        "milliseconds",
    ),
    Case("exp a 401-digit integer", "exp", _on_fixture(lambda k: k.signed(exp=10**400)), "milliseconds"),
    Case("exp a negative 401-digit integer", "exp", _on_fixture(lambda k: k.signed(exp=-(10**400))), "out of range"),
    Case("iat a negative 401-digit integer", "iat", _on_fixture(lambda k: k.signed(iat=-(10**400))), "out of range"),
    Case("nbf a negative 401-digit integer", "nbf", _on_fixture(lambda k: k.signed(nbf=-(10**400))), "out of range"),
    Case("exp a string", "exp", _on_fixture(lambda k: k.signed(exp=str(int(k.now) + 300))), "number of seconds"),
    Case(
        "expired beyond the skew",
        "exp",
        _on_fixture(lambda k: k.signed(iat=int(k.now) - 600, exp=int(k.now) - 60)),
        "expired",
    ),
    Case("nbf in the future", "nbf", _on_fixture(lambda k: k.signed(nbf=int(k.now) + 600)), "not valid before"),
    Case("nbf in milliseconds", "nbf", _on_fixture(lambda k: k.signed(nbf=int(k.now * 1000))), "milliseconds"),
    Case("sub missing", "sub", _on_fixture(lambda k: k.signed(sub=None)), "missing or empty"),
    Case("sub empty", "sub", _on_fixture(lambda k: k.signed(sub="")), "missing or empty"),
    Case("sub blank", "sub", _on_fixture(lambda k: k.signed(sub="   ")), "missing or empty"),
    Case("sub a number", "sub", _on_fixture(lambda k: k.signed(sub=4255551212)), "missing or empty"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_id_token_is_refused(case: Case, kit: Kit) -> None:
    """The visitor goes to the offline survey; the diagnosis names the check that failed and says why."""
    account, sso_key = case.build(kit)
    entry = assert_rejected(kit.client, authenticate(kit.client, sso_key, account), case.check)
    assert case.says in entry["summary"], entry["summary"]
    assert entry["trace"]["remedy"]


def test_every_check_has_a_failing_case() -> None:
    """Every check of the pipeline but the code exchange (code flow, tested apart) is failed by a case above."""
    assert {c.check for c in CASES} == set(PIPELINE.names) - {"code_exchange"}


def test_unknown_kid_without_strict_kid_passes_with_a_warning(kit: Kit) -> None:
    """A kid naming no emulator key is reported; decryption is still tried with the current key, and succeeds."""
    token = kit.encrypted(header={"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": "lpsso2025", "cty": "JWT"})
    response = authenticate(kit.client, token)
    accepted(response)
    warnings = journal(kit.client, response)["trace"]["warnings"]
    assert any("kid 'lpsso2025'" in w and "decryption is tried with the current key" in w for w in warnings), warnings
    report = explain(kit.client, token)
    assert report["ok"] is True
    assert any("lpsso2025" in w for w in report["warnings"])


def test_unknown_kid_encrypted_to_another_key_fails_at_decryption(kit: Kit) -> None:
    """Without strictKid, a token for another key (e.g. lpsso2027) fails at jwe_decrypt, with the kid warning."""
    token = kit.encrypted(
        header={"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": "lpsso2027"}, to=kit.other.public_key()
    )
    entry = assert_rejected(kit.client, authenticate(kit.client, token), "jwe_decrypt")
    assert any("lpsso2027" in w for w in entry["trace"]["warnings"])


# -- 3. clock skew -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("skew", "expired_for", "accepted_"), [(None, 10, True), (None, 31, False), (0, 10, False)])
def test_clock_skew(kit: Kit, skew: float | None, expired_for: int, accepted_: bool) -> None:
    """A token expired 10 s ago passes with the default skew of 30 s, and fails with clockSkew 0."""
    at = int(kit.now)
    assert kit.client.post("/_emulator/clock", json={"freeze": at}).status_code == 200
    account = ACCOUNT if skew is None else kit.register(clockSkew=skew)
    token = kit.signed(iat=at - 100, exp=at - expired_for)
    response = authenticate(kit.client, token, account)
    if accepted_:
        accepted(response)
    else:
        entry = assert_rejected(kit.client, response, "exp")
        assert f"expired {expired_for} s ago" in entry["summary"]


@pytest.mark.parametrize(("skew", "ahead", "accepted_"), [(None, 20, True), (0, 20, False), (None, 40, False)])
def test_clock_skew_applies_to_iat_and_nbf(kit: Kit, skew: float | None, ahead: int, accepted_: bool) -> None:
    """A brand clock 20 s ahead (iat and nbf 20 s in the future) passes with the default skew, not with 0."""
    at = int(kit.now)
    kit.client.post("/_emulator/clock", json={"freeze": at})
    account = ACCOUNT if skew is None else kit.register(clockSkew=skew)
    for claim in ("iat", "nbf"):
        response = authenticate(kit.client, kit.signed(**{claim: at + ahead}), account)
        if accepted_:
            accepted(response)
        else:
            assert_rejected(kit.client, response, claim)


# -- 4. JWKS -------------------------------------------------------------------------------------------------------
@dataclass
class Jwks:
    route: respx.Route
    document: Any
    status: int = 200

    @property
    def fetches(self) -> int:
        return self.route.call_count


@pytest.fixture
def jwks_mock(kit: Kit) -> Iterator[Jwks]:
    with respx.mock(assert_all_called=False) as mock:
        served = Jwks(mock.get(JWKS_URL), {"keys": [public_jwk(kit.brand, "A", use="sig", alg="RS256")]})

        def answer(request: httpx.Request) -> httpx.Response:
            if isinstance(served.document, bytes):
                return httpx.Response(served.status, content=served.document)
            return httpx.Response(served.status, json=served.document)

        served.route.mock(side_effect=answer)
        yield served


@pytest.mark.inprocess
def test_jwks_key_by_kid(kit: Kit, jwks_mock: Jwks) -> None:
    """The signing key is chosen by kid among the JWKS keys; the JWKS is fetched once and cached across requests."""
    jwks_mock.document = {"keys": [public_jwk(kit.other, "B"), public_jwk(kit.brand, "A", use="sig", alg="RS256")]}
    account = kit.register(jwksUrl=JWKS_URL)
    response = authenticate(kit.client, kit.signed(kid="A"), account)
    accepted(response)
    assert journal(kit.client, response)["trace"]["decoded"]["signedBy"] == "A"
    accepted(authenticate(kit.client, kit.encrypted(kit.signed(kid="A")), account))
    assert jwks_mock.fetches == 1
    # kid B is published, but B is not the key that signed: the kid picks the key, no fallback to others
    assert_rejected(kit.client, authenticate(kit.client, kit.signed(kid="B"), account), "jws_signature")
    assert jwks_mock.fetches == 1


@pytest.mark.inprocess
def test_jwks_key_rotation_refetches_once(kit: Kit, jwks_mock: Jwks, other_key: Any) -> None:
    """An unknown kid re-fetches the JWKS exactly once; the rotated key then verifies, and is cached."""
    account = kit.register(jwksUrl=JWKS_URL)
    accepted(authenticate(kit.client, kit.signed(kid="A"), account))
    accepted(authenticate(kit.client, kit.signed(kid="A"), account))
    assert jwks_mock.fetches == 1  # cached across requests

    jwks_mock.document = {"keys": [public_jwk(kit.brand, "A"), public_jwk(other_key, "B")]}  # the brand rotates
    accepted(authenticate(kit.client, kit.signed(key=other_key, kid="B"), account))
    assert jwks_mock.fetches == 2  # one re-fetch for the unknown kid
    accepted(authenticate(kit.client, kit.signed(key=other_key, kid="B"), account))
    accepted(authenticate(kit.client, kit.signed(kid="A"), account))
    assert jwks_mock.fetches == 2


@pytest.mark.inprocess
def test_jwks_kid_unknown_after_refetch(kit: Kit, jwks_mock: Jwks) -> None:
    """A kid still unknown after the re-fetch fails signing_key; each request re-fetches at most once, never more."""
    account = kit.register(jwksUrl=JWKS_URL)
    entry = assert_rejected(kit.client, authenticate(kit.client, kit.signed(kid="Z"), account), "signing_key")
    assert "kid 'Z' is not in the brand's JWKS, even after re-fetching it" in entry["summary"]
    assert jwks_mock.fetches == 1  # the first fetch was fresh: no second one in the same request
    assert_rejected(kit.client, authenticate(kit.client, kit.signed(kid="Z"), account), "signing_key")
    assert jwks_mock.fetches == 2  # from the cache, then one re-fetch
    accepted(authenticate(kit.client, kit.signed(kid="A"), account))
    assert jwks_mock.fetches == 2


BAD_JWKS = [
    ("HTTP 500", 500, {"error": "boom"}, "HTTP 500"),
    ("not JSON", 200, b"<html>jwks</html>", "not JSON"),
    ("no keys member", 200, {"kty": "RSA"}, "no 'keys' array"),
    ("empty keys", 200, {"keys": []}, "0 signing key(s)"),
    ("only an encryption key", 200, {"keys": [{"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB"}]}, "skipped"),
    ("only an HS256 key", 200, {"keys": [{"kty": "oct", "alg": "HS256", "k": "c2VjcmV0"}]}, "skipped"),
    ("a broken key", 200, {"keys": [{"kty": "RSA", "kid": "A"}]}, "skipped"),
]


@pytest.mark.inprocess
@pytest.mark.parametrize(("status", "document", "says"), [b[1:] for b in BAD_JWKS], ids=[b[0] for b in BAD_JWKS])
def test_bad_jwks_fails_signing_key(kit: Kit, jwks_mock: Jwks, status: int, document: Any, says: str) -> None:
    """A JWKS that answers an error, is not JSON or has no usable key: signing_key fails, saying what was wrong."""
    jwks_mock.status, jwks_mock.document = status, document
    account = kit.register(jwksUrl=JWKS_URL)
    entry = assert_rejected(kit.client, authenticate(kit.client, kit.signed(kid="A"), account), "signing_key")
    assert says in entry["summary"], entry["summary"]
    assert jwks_mock.fetches == 1


@pytest.mark.inprocess
@pytest.mark.parametrize("form", ["certificate", "bare SPKI"])
def test_jwks_x5c_only_keys(kit: Kit, jwks_mock: Jwks, form: str) -> None:
    """A JWKS key given only as x5c works: an X.509 certificate, or a bare base64 SPKI as some IdPs publish."""
    der = certificate_der(kit.brand) if form == "certificate" else base64.b64decode(spki_b64(kit.brand))
    jwks_mock.document = {"keys": [{"kty": "RSA", "kid": "A", "use": "sig", "x5c": [base64.b64encode(der).decode()]}]}
    account = kit.register(jwksUrl=JWKS_URL)
    accepted(authenticate(kit.client, kit.signed(kid="A"), account))
    assert_rejected(kit.client, authenticate(kit.client, kit.signed(key=kit.other, kid="A"), account), "jws_signature")


@pytest.mark.inprocess
def test_jwks_token_without_kid(kit: Kit, jwks_mock: Jwks) -> None:
    """A token without kid verifies against a JWKS holding one key (and against any of several)."""
    account = kit.register(jwksUrl=JWKS_URL)
    accepted(authenticate(kit.client, kit.signed(), account))
    jwks_mock.document = {"keys": [public_jwk(kit.other, "B"), public_jwk(kit.brand, "A")]}
    kit.client.post("/_emulator/reset")
    accepted(authenticate(kit.client, kit.signed(), account))
    assert jwks_mock.fetches == 2


@pytest.mark.inprocess
def test_reset_clears_the_jwks_cache(kit: Kit, jwks_mock: Jwks) -> None:
    """POST /_emulator/reset forgets the cached JWKS: the next authentication fetches it again."""
    account = kit.register(jwksUrl=JWKS_URL)
    accepted(authenticate(kit.client, kit.signed(kid="A"), account))
    accepted(authenticate(kit.client, kit.signed(kid="A"), account))
    assert jwks_mock.fetches == 1
    assert kit.client.post("/_emulator/reset").status_code == 200
    accepted(authenticate(kit.client, kit.signed(kid="A"), account))
    assert jwks_mock.fetches == 2


@contextmanager
def local_jwks(document: dict[str, Any]) -> Iterator[tuple[str, list[str]]]:
    """A tiny JWKS server on a free local port, in a thread: reachable from a live emulator on this machine too."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = json.dumps(document).encode()
            self.send_response(200 if self.path == "/jwks.json" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_jwks_from_a_local_server(kit: Kit, other_key: Any) -> None:
    """A real JWKS over HTTP (works against a live emulator): key by kid, cached, one re-fetch for an unknown kid."""
    document: dict[str, Any] = {"keys": [public_jwk(kit.brand, "A", use="sig", alg="RS256")]}
    with local_jwks(document) as (url, hits):
        account = kit.register(jwksUrl=url, timeout=5)
        accepted(authenticate(kit.client, kit.signed(kid="A"), account))
        accepted(authenticate(kit.client, kit.encrypted(kit.signed(kid="A")), account))
        assert hits == ["/jwks.json"]
        document["keys"].append(public_jwk(other_key, "B"))
        accepted(authenticate(kit.client, kit.signed(key=other_key, kid="B"), account))
        assert len(hits) == 2
        assert_rejected(kit.client, authenticate(kit.client, kit.signed(kid="C"), account), "signing_key")
        assert len(hits) == 3


# -- 5. lp_sdes ----------------------------------------------------------------------------------------------------
CTMRINFO = {
    "type": "ctmrinfo",
    "info": {
        "cstatus": "cancelled",
        "ctype": "vip",
        "balance": -400.99,
        "socialId": "11256324780",
        "imei": "3543546543545688",
        "userName": "user000",
        "companySize": 500,
        "accountName": "bank corp",
        "role": "broker",
        "lastPaymentDate": {"day": 15, "month": 10, "year": 2014},
        "registrationDate": {"day": 23, "month": 5, "year": 2013},
    },
}
PERSONAL = {
    "type": "personal",
    "personal": {
        "firstname": "AN",
        "lastname": "Other",
        "age": {"age": 34, "year": 1980, "month": 4, "day": 15},
        "contacts": [{"email": "another@liveperson.com", "phone": "+1 212-788-8877"}],
        "gender": "MALE",
    },
}
SDE_FORMS = [
    ("array", [CTMRINFO, PERSONAL], True),
    ("single object", CTMRINFO, False),
    ("JSON string of an array", json.dumps([CTMRINFO, PERSONAL]), True),
    ("JSON string of one object", json.dumps(CTMRINFO), False),
]


def _authenticated_view(kit: Kit, **claims: Any) -> dict[str, Any]:
    response = authenticate(kit.client, kit.signed(**claims))
    return agent_view(kit.client, accepted(response)["conversationId"])


@pytest.mark.parametrize(("lp_sdes", "with_personal"), [f[1:] for f in SDE_FORMS], ids=[f[0] for f in SDE_FORMS])
def test_lp_sdes_forms(kit: Kit, lp_sdes: Any, with_personal: bool) -> None:
    """lp_sdes as LivePerson's array, a single SDE object, or a JSON string of either: all reach the agent."""
    view = _authenticated_view(kit, sub="4255551212", lp_sdes=lp_sdes)
    assert view["secureAttributes"]["customerInfo"] == {"customerId": "4255551212", **CTMRINFO["info"]}
    assert view["secureAttributes"]["personalInfo"] == (PERSONAL["personal"] if with_personal else {})
    assert view["dropped"] == []


def test_lp_sdes_sample_object_shape_is_dropped(kit: Kit) -> None:
    """The shmulikgazit/idp-server shape ({"customerInfo", "personalInfo"}) is not LivePerson's: dropped, with why."""
    sample = {
        "customerInfo": {"customerId": "test-user-123", "customerType": "premium", "accountNumber": "ACC-123456"},
        "personalInfo": {"name": "Test User", "email": "test@example.com", "phone": "+1-555-123-4567"},
    }
    view = _authenticated_view(kit, sub="test-user-123", lp_sdes=sample)
    assert view["secureAttributes"] == {"customerInfo": {"customerId": "test-user-123"}, "personalInfo": {}}
    assert [d["field"] for d in view["dropped"]] == ["lp_sdes[0]"]
    assert "not an SDE object with a 'type'" in view["dropped"][0]["why"]
    assert "'type': 'ctmrinfo'" in view["dropped"][0]["why"]


def test_unsupported_sde_types_and_fields_are_dropped(kit: Kit) -> None:
    """mrktInfo and lead SDEs, and ctmrinfo's storeZipCode / storeNumber, are dropped and listed in the agent view."""
    lp_sdes = [
        {"type": "ctmrinfo", "info": {"ctype": "vip", "storeZipCode": "20505", "storeNumber": "123865"}},
        {"type": "mrktInfo", "info": {"channel": "1", "affiliate": "250"}},
        {"type": "lead", "lead": {"topic": "luxury car test drive 2015", "leadId": "xyz123", "value": 22.22}},
        {"type": "personal", "personal": {"firstname": "Ada", "nickname": "countess"}},
        {"type": "ctmrinfo"},
        "ctmrinfo",
    ]
    view = _authenticated_view(kit, lp_sdes=lp_sdes)
    assert view["secureAttributes"] == {
        "customerInfo": {"customerId": "alice", "ctype": "vip"},
        "personalInfo": {"firstname": "Ada"},
    }
    dropped = {d["field"]: d["why"] for d in view["dropped"]}
    assert set(dropped) == {
        "lp_sdes[0].info.storeZipCode",
        "lp_sdes[0].info.storeNumber",
        "lp_sdes[1]",
        "lp_sdes[2]",
        "lp_sdes[3].personal.nickname",
        "lp_sdes[4].info",
        "lp_sdes[5]",
    }
    assert "not supported in an authenticated flow" in dropped["lp_sdes[0].info.storeZipCode"]
    assert "not supported in an authenticated flow" in dropped["lp_sdes[0].info.storeNumber"]
    assert dropped["lp_sdes[1]"] == "SDE type 'mrktInfo' is not supported in an authenticated flow"
    assert dropped["lp_sdes[2]"] == "SDE type 'lead' is not supported in an authenticated flow"


@pytest.mark.parametrize(
    ("lp_sdes", "why"), [("not json", "not JSON"), (42, "int, not an array"), ("null", "NoneType")]
)
def test_lp_sdes_that_is_no_sde_at_all(kit: Kit, lp_sdes: Any, why: str) -> None:
    """An lp_sdes that is no SDE (text, a number, JSON null) is dropped whole; the visitor is still authenticated."""
    view = _authenticated_view(kit, lp_sdes=lp_sdes)
    assert view["authenticated"] is True
    assert view["dropped"][0]["field"] == "lp_sdes" and why in view["dropped"][0]["why"]


def test_dropped_sdes_are_reported_in_the_diagnosis(kit: Kit) -> None:
    """The issue: unsupported SDE types/fields are dropped AND reported in the diagnosis, not only to the agent."""
    response = authenticate(kit.client, kit.signed(lp_sdes=[{"type": "lead", "lead": {"topic": "x"}}]))
    accepted(response)
    warnings = journal(kit.client, response)["trace"]["warnings"]
    assert any("lp_sdes[0]" in w for w in warnings), warnings


def test_standard_claims_are_mapped(kit: Kit) -> None:
    """The standard claims map to the SDE fields of the docs' table (P1 "Standard Claim Set")."""
    view = _authenticated_view(
        kit,
        sub="4255551212",
        given_name="Jane",
        family_name="Doe",
        email="jane@brand.example",
        phone_number="+1-10-344-3765333",
        preferred_username="JohnDoe",
        gender="FEMALE",
    )
    assert view["secureAttributes"] == {
        "customerInfo": {"customerId": "4255551212", "userName": "JohnDoe"},
        "personalInfo": {
            "firstname": "Jane",
            "lastname": "Doe",
            "gender": "FEMALE",
            "contacts": [{"email": "jane@brand.example", "phone": "+1-10-344-3765333"}],
        },
    }
    assert view["dropped"] == []
    assert view["authenticated"] is True and view["secureIcon"] is True
    assert view["claims"]["preferred_username"] == "JohnDoe"


# -- 6. explain ----------------------------------------------------------------------------------------------------
def test_explain_a_good_token(kit: Kit) -> None:
    """explain runs every id_token check on a good token: ok, no journal entry, no conversation issued."""
    before = kit.client.get("/_emulator/journal").json()["count"]
    report = explain(kit.client, kit.encrypted())
    assert report["ok"] is True and report["failedCheck"] is None
    assert [c["check"] for c in report["checks"]] == PIPELINE.names
    assert all(c["status"] == "passed" for c in report["checks"])
    assert report["decoded"]["jweHeader"]["kid"] == KID
    assert report["decoded"]["jwsHeader"]["alg"] == "RS256"
    assert report["decoded"]["claims"]["sub"] == "alice"
    assert report["vendorResponse"] == {
        "participantId": "<issued on a real request>",
        "conversationId": "<issued on a real request>",
    }
    assert kit.client.get("/_emulator/journal").json()["count"] == before


@pytest.mark.parametrize(
    ("case_id", "check"),
    [
        ("2 segments", "token_format"),
        ("encrypted to another public key", "jwe_decrypt"),
        ("iat in the future", "iat"),
        ("issuer with a trailing slash", "issuer"),
        ("unknown account", "connector_known"),
        ("sub empty", "sub"),
    ],
)
def test_explain_a_bad_token(kit: Kit, case_id: str, check: str) -> None:
    """explain names the failed check, with the answer the visitor would get, and journals nothing."""
    case = next(c for c in CASES if c.id == case_id)
    account, token = case.build(kit)
    before = kit.client.get("/_emulator/journal").json()["count"]
    report = explain(kit.client, token, account)
    assert report["ok"] is False and report["failedCheck"] == check
    assert report["summary"].startswith(f"{check}: ")
    assert report["vendorResponse"] == {"status": 401, "body": FAILED}
    assert kit.client.get("/_emulator/journal").json()["count"] == before


@pytest.mark.inprocess
def test_explain_creates_no_conversation(demo_brand: Any, now: float) -> None:
    """explain has no side effect on the vendor's state: no conversation, no participant."""
    app = create_app()
    with emulator_client(app=app) as client:
        token = jws({"iss": ISSUER, "iat": int(now), "exp": int(now) + 300, "sub": "alice"}, demo_brand)
        assert explain(client, token)["ok"] is True
        state = app.state.vendors["liveassist"].state
        assert state.conversations == {} and state.participants == {}
        accepted(authenticate(client, token))
        assert len(state.conversations) == 1


# -- 7. control plane ----------------------------------------------------------------------------------------------
def _key_forms(key: Any) -> dict[str, Any]:
    return {
        "single-line base64 SPKI": spki_b64(key),
        "PEM": tokens.public_pem(key),
        "JWK": public_jwk(key, "brand-2026"),
        "JWK as JSON text": json.dumps(public_jwk(key)),
    }


@pytest.mark.parametrize("form", ["single-line base64 SPKI", "PEM", "JWK", "JWK as JSON text"])
def test_connector_jwt_public_key_forms(kit: Kit, other_key: Any, form: str) -> None:
    """jwtPublicKey is taken as the console takes it (single-line base64 SPKI), or as PEM or JWK; GET shows the SPKI."""
    account = random_project_id()
    body = {"flow": "implicit", "issuer": "https://portal.example", "jwtPublicKey": _key_forms(other_key)[form]}
    response = kit.client.put(f"/_emulator/tenants/liveassist/{account}", json=body)
    assert response.status_code == 201, response.text
    view = kit.client.get(f"/_emulator/tenants/liveassist/{account}").json()
    assert view["jwtPublicKey"] == spki_b64(other_key)
    assert "\n" not in view["jwtPublicKey"]
    assert view["flow"] == "implicit" and view["issuer"] == "https://portal.example"
    assert view["clockSkew"] == 30 and view["strictKid"] is False
    token = jws({"iss": "https://portal.example", "iat": int(kit.now), "exp": int(kit.now) + 60, "sub": "c"}, other_key)
    accepted(authenticate(kit.client, token, account))
    assert kit.client.put(f"/_emulator/tenants/liveassist/{account}", json=body).status_code == 200  # replaced


def test_connector_view_never_shows_a_secret(kit: Kit) -> None:
    """A code-flow connector's clientSecret is never shown back: only that it is set."""
    account = random_project_id()
    secret = "TEST-ONLY-very-secret-value"
    body = {
        "flow": "code",
        "issuer": ISSUER,
        "jwtPublicKey": spki_b64(kit.brand),
        "tokenEndpoint": "https://brand.test/token",
        "clientId": "lp-client",
        "clientSecret": secret,
    }
    put = kit.client.put(f"/_emulator/tenants/liveassist/{account}", json=body)
    assert put.status_code == 201 and secret not in put.text
    get = kit.client.get(f"/_emulator/tenants/liveassist/{account}")
    assert secret not in get.text
    assert get.json()["clientSecretSet"] is True and get.json()["clientId"] == "lp-client"
    assert secret not in kit.client.get("/_emulator/tenants/liveassist").text


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"flow": "implicit", "issuer": ISSUER}, "exactly one"),
        ({"flow": "implicit", "issuer": ISSUER, "jwtPublicKey": "not a key"}, "jwtPublicKey"),
        ({"flow": "implicit", "issuer": ISSUER, "jwtPublicKey": "<private>"}, "private key"),
        ({"flow": "implicit", "issuer": ISSUER, "jwtPublicKey": "<spki>", "clockSkew": -1}, "clockSkew"),
        ({"flow": "implicit", "issuer": ISSUER, "jwtPublicKey": "<spki>", "strictKid": "yes"}, "strictKid"),
        ({"flow": "implicit", "issuer": ISSUER, "jwtPublicKey": "<spki>", "jwksUrl": JWKS_URL}, "exactly one"),
        ({"flow": "implicit", "issuer": ISSUER, "jwksUrl": "ftp://brand.test/jwks"}, "jwksUrl"),
        ({"flow": "implicit", "issuer": ISSUER, "jwtPublicKey": "<spki>", "audience": "x"}, "audience"),
    ],
)
def test_connector_refused(kit: Kit, body: dict[str, Any], says: str) -> None:
    """A connector the console would not take is refused with 400 and a reason."""
    body = dict(body)
    if body.get("jwtPublicKey") == "<spki>":
        body["jwtPublicKey"] = spki_b64(kit.brand)
    elif body.get("jwtPublicKey") == "<private>":
        body["jwtPublicKey"] = kit.other.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
    response = kit.client.put(f"/_emulator/tenants/liveassist/{random_project_id()}", json=body)
    assert response.status_code == 400, response.text
    assert says in response.json()["error"]


def test_encryption_keys_endpoint(client: httpx.Client) -> None:
    """GET /_emulator/keys/liveassist: the public key supplied by Live Assist, as PEM, SPKI, certificate and JWK."""
    keys = client.get("/_emulator/keys/liveassist").json()
    assert keys["kid"] == KID
    public = serialization.load_pem_public_key(keys["pem"].encode())
    numbers = public.public_numbers()  # type: ignore[union-attr]
    assert public.key_size >= 2048  # type: ignore[union-attr]
    spki = serialization.load_der_public_key(base64.b64decode(keys["spki"]))
    assert spki.public_numbers() == numbers  # type: ignore[union-attr]
    certificate = x509.load_pem_x509_certificate(keys["certificate"].encode())
    assert certificate.public_key().public_numbers() == numbers  # type: ignore[union-attr]
    jwk = keys["jwk"]
    assert jwk["use"] == "enc" and jwk["kid"] == KID and jwk["kty"] == "RSA" and jwk["alg"] == "RSA-OAEP-256"
    assert int.from_bytes(tokens.b64u_decode(jwk["n"]), "big") == numbers.n
    assert int.from_bytes(tokens.b64u_decode(jwk["e"]), "big") == numbers.e
    assert "d" not in jwk and "PRIVATE" not in json.dumps(keys)
    assert keys["jwks"] == {"keys": [jwk]}
