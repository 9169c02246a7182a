"""POST /auth/signinWithCustomToken: every check of the sign-in pipeline failed for real, both profiles side by side,
the server's quirks (asserted because they are faithful), host and /v3 routing, and /_emulator/explain.

Each refusal asserts tiledesk-server's exact answer (status and body bytes: passport's 401 is the plain text
``Unauthorized`` with no Content-Type) and the named failed check in X-Emulator-Diagnosis and the journal.
Tokens are built with raw hmac (helpers.hs), never with the emulator's signer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulator.testing import emulator_client
from emulator.vendors.tiledesk.checks import PIPELINE
from tests import tokens
from tests.vendors.tiledesk.helpers import (
    AUD_REQUIRED,
    CHAT21,
    DOC_PROJECT,
    DOC_SECRET,
    GLOBAL_SECRET,
    HOST,
    NOT_ACTIVE,
    PREFIX,
    SERVER_PROJECT,
    SERVER_SECRET,
    SIGNIN,
    UNAUTHORIZED,
    VALIDTOKEN_403,
    Project,
    assert_refused,
    aud,
    b64u,
    check_of,
    compact_json,
    freeze,
    hs,
    journal_entry,
    projects_of,
    random_project_id,
    server_claims,
    signed_in,
    signin,
    unsigned,
    widget_claims,
)


@dataclass
class Setup:
    doc: Project  # documented profile, secret generated
    srv: Project  # server profile, secret generated
    bare: Project  # server profile, registered but no secret generated yet


@pytest.fixture(scope="module")
def setup(client: httpx.Client) -> Iterator[Setup]:
    with projects_of(client) as projects:
        yield Setup(
            projects.register("documented"), projects.register("server"), projects.register(generate_secret=False)
        )


@dataclass
class Kit:
    client: httpx.Client
    now: int  # the emulator's clock, frozen for the test
    doc: Project
    srv: Project
    bare: Project
    rsa: Any

    def widget(self, **overrides: Any) -> dict[str, Any]:
        return widget_claims(self.now, **overrides)

    def server(self, **overrides: Any) -> dict[str, Any]:
        return server_claims(self.srv.project_id, **overrides)


@pytest.fixture
def kit(client: httpx.Client, setup: Setup, other_key: Any) -> Kit:
    return Kit(client, freeze(client), setup.doc, setup.srv, setup.bare, other_key)


@dataclass
class Req:
    authorization: str | None
    params: dict[str, str] | None = None
    json_body: Any = None


@dataclass
class Case:
    id: str
    check: str
    build: Callable[[Kit], Req]
    says: str = ""  # a fragment the diagnosis must contain
    status: int = 401
    body: bytes = UNAUTHORIZED
    also_chat21: bool = True  # createCustomToken re-verifies the token with the same checks


def jwt(token: str) -> Req:
    return Req(f"JWT {token}")


def _tamper(token: str) -> str:
    head, _, signature = token.split(".")
    return f"{head}.{b64u(compact_json({'_id': 'mallory', 'sub': 'userexternal'}))}.{signature}"


CASES = [
    # token_present: passport-jwt's fromAuthHeaderWithScheme("jwt"), then ?secret_token=
    Case("no Authorization header", "token_present", lambda k: Req(None), "no token"),
    Case(
        "Bearer scheme",
        "token_present",
        lambda k: Req("Bearer " + k.srv.token(k.server())),
        "must be 'JWT <token>'",
    ),
    Case("bare token, no scheme", "token_present", lambda k: Req(k.srv.token(k.server())), "must be 'JWT <token>'"),
    # token_format
    Case("not a JWT", "token_format", lambda k: Req("JWT not-a-token"), "not a compact JWT"),
    Case(
        "payload is a JSON array",
        "token_format",
        lambda k: jwt(hs(b'["_id"]', k.srv.secret or "")),
        "not a JSON object",
    ),
    # secret_selection: aud's path picks the project, whose secret must exist
    Case(
        "aud names an unregistered project",
        "secret_selection",
        lambda k: jwt(hs(server_claims(random_project_id()), k.srv.secret or "")),
        "which is not registered",
    ),
    Case(
        "the project never generated a secret",
        "secret_selection",
        lambda k: jwt(hs(server_claims(k.bare.project_id), "any-secret-at-all")),
        "has no shared secret yet",
    ),
    Case(
        "aud is not an absolute URL",
        "secret_selection",
        lambda k: jwt(k.srv.token(k.server(aud=f"tiledesk.com/projects/{k.srv.project_id}"))),
        "not an absolute URL",
    ),
    # alg: jsonwebtoken 9 with a string secret allows HS256/384/512 only
    Case("alg none", "alg", lambda k: jwt(unsigned(k.server())), "'alg: none' is never accepted"),
    Case(
        "RS256 (signed with an RSA key, sent to a shared secret)",
        "alg",
        lambda k: jwt(tokens.jws(k.server(), k.rsa, "RS256", {"alg": "RS256", "typ": "JWT"})),
        "'RS256'",
    ),
    # signature
    Case("wrong secret", "signature", lambda k: jwt(hs(k.server(), "not-the-secret")), "wrong secret"),
    Case("tampered payload", "signature", lambda k: jwt(_tamper(k.srv.token(k.server()))), "does not verify"),
    Case(
        "signed with another project's secret",
        "signature",
        lambda k: jwt(k.doc.token(k.server())),
        "verifies with project",
    ),
    Case(
        "widget docs' token sent to a server-profile project",
        "signature",
        lambda k: jwt(k.srv.token(k.widget())),
        "has no aud (and no _id)",
    ),
    # exp: server: only when present, no tolerance; documented: required
    Case("server: exp == now", "exp", lambda k: jwt(k.srv.token(k.server(exp=k.now))), "jwt expired 0 s ago"),
    Case("documented: exp passed", "exp", lambda k: jwt(k.doc.token(k.widget(exp=k.now - 60))), "jwt expired 60 s"),
    Case("documented: no exp", "exp", lambda k: jwt(k.doc.token(k.widget(exp=None))), "must carry exp"),
    Case(
        "server: exp a string",
        "exp",
        lambda k: jwt(k.srv.token(k.server(exp=str(k.now + 60)))),
        "jsonwebtoken: 'invalid exp value'",
    ),
    Case("server: exp true", "exp", lambda k: jwt(k.srv.token(k.server(exp=True))), "'exp' is not a number"),
    Case(
        "server: exp a huge negative integer (JSON.parse: -Infinity)",
        "exp",
        lambda k: jwt(k.srv.token(k.server(exp=-(10**400)))),
        "jwt expired inf s ago",
    ),
    Case(
        "documented: exp a huge integer (JSON.parse: Infinity)",
        "lifetime",
        lambda k: jwt(k.doc.token(k.widget(exp=10**400))),
        "exp is inf s after iat",
    ),
    Case(
        "server: nbf a string",
        "nbf",
        lambda k: jwt(k.srv.token(k.server(nbf=str(k.now)))),
        "jsonwebtoken: 'invalid nbf value'",
    ),
    Case(
        "documented: iat a string",
        "iat",
        lambda k: jwt(k.doc.token(k.widget(iat=str(k.now)))),
        "jsonwebtoken: 'invalid iat value'",
    ),
    # nbf
    Case("server: nbf in the future", "nbf", lambda k: jwt(k.srv.token(k.server(nbf=k.now + 1))), "not active"),
    # iat (documented only): two minutes of clock skew
    Case(
        "documented: iat now+121",
        "iat",
        lambda k: jwt(k.doc.token(k.widget(iat=k.now + 121, exp=k.now + 300))),
        "121 s in the future",
    ),
    Case("documented: no iat", "iat", lambda k: jwt(k.doc.token(k.widget(iat=None))), "must carry iat"),
    # lifetime (documented only): exp at most ten minutes after iat
    Case(
        "documented: exp - iat = 601",
        "lifetime",
        lambda k: jwt(k.doc.token(k.widget(exp=k.now + 601))),
        "601 s after iat",
    ),
    # user_id
    Case("server: no _id", "user_id", lambda k: jwt(k.srv.token(k.server(_id=None))), "_id can t be undefined"),
    Case(
        "documented: no external_id nor email",
        "user_id",
        lambda k: jwt(k.doc.token(k.widget(external_id=None, email=None))),
        "external_id (or email) is required",
    ),
    # header_parts: middleware/valid-token.js runs after passport
    Case(
        "two spaces after JWT",
        "header_parts",
        lambda k: Req("JWT  " + k.srv.token(k.server())),
        "splits into 3 part(s)",
        403,
        VALIDTOKEN_403,
    ),
    Case(
        "?secret_token= without an Authorization header",
        "header_parts",
        lambda k: Req(None, params={"secret_token": k.srv.token(k.server())}),
        "splits into 1 part(s)",
        403,
        VALIDTOKEN_403,
        also_chat21=False,  # the chat21 helper always sends a header
    ),
    # aud_present: only a global-secret token can get this far without aud
    Case(
        "global-secret token without aud",
        "aud_present",
        lambda k: jwt(hs({"_id": "ada", "sub": "userexternal"}, GLOBAL_SECRET)),
        "no aud",
        400,
        AUD_REQUIRED,
        also_chat21=False,  # the real createCustomToken has no aud check (routes/auth.js only)
    ),
]
# Checks that need state the control plane cannot set: tested in-process below.
INPROCESS_CASES = {"project_user_active": "test_disabled_project_user_is_refused"}


def send(kit: Kit, req: Req, path: str = PREFIX + SIGNIN) -> httpx.Response:
    return signin(kit.client, req.authorization, path=path, params=req.params, json_body=req.json_body)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_signin_refuses(case: Case, kit: Kit) -> None:
    """Each check, failed by a real token: the server's exact status and body, the check named in the diagnosis
    header and the journal, with a remedy."""
    diagnosis, entry = assert_refused(kit.client, send(kit, case.build(kit)), case.check, case.status, case.body)
    assert case.says in diagnosis
    assert entry["operation"] == "signinWithCustomToken"
    assert entry["trace"]["remedy"]


@pytest.mark.parametrize("case", [c for c in CASES if c.also_chat21], ids=[c.id for c in CASES if c.also_chat21])
def test_create_custom_token_refuses_alike(case: Case, kit: Kit) -> None:
    """The widget's follow-on call re-verifies the same token with the same checks, and answers alike."""
    req = case.build(kit)
    response = kit.client.post(
        PREFIX + CHAT21,
        headers={} if req.authorization is None else {"Authorization": req.authorization},
        params=req.params,
    )
    diagnosis, entry = assert_refused(kit.client, response, case.check, case.status, case.body)
    assert case.says in diagnosis
    assert entry["operation"] == "createCustomToken"


def test_every_check_has_a_failing_case() -> None:
    """Every pipeline check is failed by at least one case (here, or in-process where state is needed)."""
    assert {c.check for c in CASES} | set(INPROCESS_CASES) == set(PIPELINE.names)
    assert all(name in globals() for name in INPROCESS_CASES.values())


# -- success ------------------------------------------------------------------------------------------------------
def test_server_profile_success_is_the_raw_payload_and_idempotent(kit: Kit) -> None:
    """Server profile: 200 {success, token: the caller's header, user: the raw decoded payload}; the same body
    again on a second sign-in (no replay protection)."""
    claims = kit.server(customAttr="c1", iat=kit.now, exp=kit.now + 120)
    token = kit.srv.token(claims)
    first = signed_in(signin(kit.client, f"JWT {token}"))
    assert first == {"success": True, "token": f"JWT {token}", "user": claims}
    assert signed_in(signin(kit.client, f"JWT {token}")) == first


def test_documented_profile_success_and_idempotent(kit: Kit) -> None:
    """Documented profile: the seed's payload signs in; user carries the claims plus the fields the widget's
    UserModel reads (_id from external_id, firstname/lastname from name); idempotent."""
    claims = kit.widget()
    token = kit.doc.token(claims)
    first = signed_in(signin(kit.client, f"JWT {token}"))
    assert first["token"] == f"JWT {token}"
    assert first["user"] == {**claims, "_id": "ada-1815", "firstname": "Ada", "lastname": "Lovelace"}
    assert signed_in(signin(kit.client, f"JWT {token}")) == first
    entry = journal_entry(kit.client, signin(kit.client, f"JWT {token}"))
    assert entry["outcome"] == "accepted"
    assert entry["tenant"] == kit.doc.project_id
    assert entry["trace"]["profile"] == "documented"


def test_documented_email_identifies_the_user_without_external_id(kit: Kit) -> None:
    """external_id may be left out when email is there (it then identifies the user)."""
    body = signed_in(signin(kit.client, "JWT " + kit.doc.token(kit.widget(external_id=None))))
    assert body["user"]["_id"] == "ada@brand.example"


def test_fixture_projects_accept_the_docs_examples(client: httpx.Client, now: float) -> None:
    """The default fixtures' TEST-ONLY secrets sign in offline: the developer docs' payload on the server project
    (tiledesk-server's signinWithCustomTokenOk assertions), the seed's payload on the documented project."""
    claims = {
        "_id": "123",
        "firstname": "andrea",
        "lastname": "leo",
        "email": "email2@email.com",
        "customAttr": "c1",
        "sub": "userexternal",
        "aud": aud(SERVER_PROJECT),
    }
    token = hs(claims, SERVER_SECRET)
    body = signed_in(signin(client, f"JWT {token}"))
    assert body["token"] == "JWT " + token
    assert (body["user"]["email"], body["user"]["firstname"], body["user"]["customAttr"]) == (
        "email2@email.com",
        "andrea",
        "c1",
    )
    documented = hs(widget_claims(now), DOC_SECRET)
    assert signed_in(signin(client, f"JWT {documented}"))["user"]["external_id"] == "ada-1815"
    assert journal_entry(client, signin(client, f"JWT {documented}"))["tenant"] == DOC_PROJECT


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
@pytest.mark.parametrize("profile", ["documented", "server"])
def test_hmac_algorithms_accepted(kit: Kit, alg: str, profile: str) -> None:
    """HS256, HS384 and HS512 all verify with the shared secret, in both profiles."""
    project, claims = (kit.doc, kit.widget()) if profile == "documented" else (kit.srv, kit.server())
    token = project.token(claims, alg)
    assert signed_in(signin(kit.client, f"JWT {token}"))["token"] == f"JWT {token}"


@pytest.mark.parametrize("scheme", ["JWT", "jwt", "Jwt", "jWt"])
def test_scheme_is_case_insensitive(kit: Kit, scheme: str) -> None:
    """passport-jwt compares the scheme case-insensitively."""
    signed_in(signin(kit.client, f"{scheme} " + kit.srv.token(kit.server(_id=f"user-{scheme}"))))


def test_huge_exp_never_expires_as_in_javascript(kit: Kit) -> None:
    """JSON.parse reads an integer beyond double range as Infinity, so jsonwebtoken never expires it: the server
    profile signs it in, and the journal shows the exp check's value as "Infinity"."""
    response = signin(kit.client, "JWT " + kit.srv.token(kit.server(_id="forever", exp=10**400)))
    signed_in(response)
    assert check_of(journal_entry(kit.client, response), "exp")["actual"] == "Infinity"


def test_lower_case_jwt_gets_the_server_prefix_quirk(kit: Kit) -> None:
    """routes/auth.js: a first sign-in returns the header with "JWT " prepended when it has no "JWT" (indexOf),
    so "jwt <t>" comes back as "JWT jwt <t>"; a second sign-in echoes the header verbatim. Faithful, so asserted."""
    token = kit.srv.token(kit.server(_id="lower-case"))
    assert signed_in(signin(kit.client, f"jwt {token}"))["token"] == f"JWT jwt {token}"
    assert signed_in(signin(kit.client, f"jwt {token}"))["token"] == f"jwt {token}"


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"", "application/x-www-form-urlencoded"),  # the official Node client (axios, no data)
        (b"", "application/json"),  # the widget: Angular posts a null body with Content-type application/json
        (b'{"anything": [1, 2]}', "application/json"),
        (b"a=b&c=d", "application/x-www-form-urlencoded"),
        (b"\x00\xff binary", "application/octet-stream"),
    ],
    ids=["empty form (node client)", "empty json (widget)", "json object", "form", "binary"],
)
def test_any_body_is_accepted(kit: Kit, content: bytes, content_type: str) -> None:
    """The body is ignored (only id_project may be read from a JSON body). Not tested: malformed JSON, which
    express's bodyParser.json would refuse with 400 before passport runs."""
    token = kit.srv.token(kit.server())
    response = signin(kit.client, f"JWT {token}", content=content, headers={"Content-Type": content_type})
    assert signed_in(response)["token"] == f"JWT {token}"


# -- time rules -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("claims", "accepted"),
    [
        ({"exp": 0}, False),  # exp == now: jsonwebtoken's clockTimestamp >= exp, no tolerance
        ({"exp": 1}, True),
        ({"nbf": 0}, True),
        ({"nbf": 1}, False),
        ({"iat": 100_000}, True),  # iat is not checked by the server
        ({"iat": 100_000, "exp": 100_001}, True),  # nor any maximum lifetime
        ({}, True),  # no exp at all: tiledesk-custom-jwt-authentication-example signs none
    ],
    ids=["exp=now", "exp=now+1", "nbf=now", "nbf=now+1", "iat far future", "long lifetime", "no exp"],
)
def test_server_time_rules(kit: Kit, claims: dict[str, int], accepted: bool) -> None:
    """Server profile: exp and nbf only when present, against the frozen clock, with no tolerance; iat ignored."""
    token = kit.srv.token(kit.server(**{k: kit.now + v for k, v in claims.items()}))
    response = signin(kit.client, f"JWT {token}")
    if accepted:
        signed_in(response)
    else:
        assert_refused(kit.client, response, "exp" if "exp" in claims else "nbf")


@pytest.mark.parametrize(
    ("iat", "exp", "check"),
    [
        (119, 300, None),
        (120, 300, None),
        (121, 300, "iat"),
        (0, 600, None),
        (0, 601, "lifetime"),
        (-500, 100, None),
        (-100, 0, "exp"),
        (-100, -1, "exp"),
    ],
    ids=["iat+119", "iat+120", "iat+121", "lifetime 600", "lifetime 601", "iat-500", "exp=now", "exp passed"],
)
def test_documented_time_rules(kit: Kit, iat: int, exp: int, check: str | None) -> None:
    """Documented profile: iat at most two minutes ahead, exp at most ten minutes after iat, exp not passed."""
    token = kit.doc.token(kit.widget(iat=kit.now + iat, exp=kit.now + exp))
    response = signin(kit.client, f"JWT {token}")
    if check is None:
        signed_in(response)
    else:
        assert_refused(kit.client, response, check)


def test_clock_advance_expires_a_token(kit: Kit) -> None:
    """The emulator's clock drives the rules: the same token passes, then fails once the clock passes exp."""
    token = kit.srv.token(kit.server(exp=kit.now + 30))
    signed_in(signin(kit.client, f"JWT {token}"))
    assert kit.client.post("/_emulator/clock", json={"advance": 30}).status_code == 200
    diagnosis, _ = assert_refused(kit.client, signin(kit.client, f"JWT {token}"), "exp")
    assert "jwt expired 0 s ago" in diagnosis


# -- the two profiles side by side ------------------------------------------------------------------------------------
SIDE_BY_SIDE = [
    # (id, claims(kit, project_id), documented outcome, server outcome): None = accepted, else the failed check
    ("widget docs' payload", lambda k, p: k.widget(), None, "signature"),
    ("widget payload with aud", lambda k, p: k.widget(aud=aud(p)), None, "user_id"),
    ("developer docs' payload, no iat/exp", lambda k, p: server_claims(p), "exp", None),
    (
        "developer docs' payload, 1 h lifetime",
        lambda k, p: server_claims(p, iat=k.now, exp=k.now + 3600),
        "lifetime",
        None,
    ),
    (
        "developer docs' payload, iat 1000 s ahead",
        lambda k, p: server_claims(p, iat=k.now + 1000, exp=k.now + 1100),
        "iat",
        None,
    ),
    ("developer docs' payload, 5 min", lambda k, p: server_claims(p, iat=k.now, exp=k.now + 300), None, None),
]


@pytest.mark.parametrize(("case", "build", "documented", "server"), SIDE_BY_SIDE, ids=[c[0] for c in SIDE_BY_SIDE])
def test_profiles_side_by_side(
    kit: Kit, case: str, build: Callable[[Kit, str], dict[str, Any]], documented: str | None, server: str | None
) -> None:
    """The same payload, signed with each project's own secret: what the widget docs' rules accept and what
    tiledesk-server 2.19 accepts differ."""
    for project, outcome in ((kit.doc, documented), (kit.srv, server)):
        response = signin(kit.client, "JWT " + project.token(build(kit, project.project_id)))
        if outcome is None:
            signed_in(response)
        else:
            assert_refused(kit.client, response, outcome)


def test_widget_token_to_server_project_names_the_pitfall(kit: Kit) -> None:
    """The real pitfall: a token in the widget docs' shape, signed with a server-profile project's secret, is
    refused because it has no aud (so the global secret is tried) and no _id. The diagnosis says so, and the
    signature check's 'expected' in the journal is a payload that passes (proved by signing it)."""
    response = signin(kit.client, "JWT " + kit.srv.token(kit.widget()))
    diagnosis, entry = assert_refused(kit.client, response, "signature")
    assert f"signed with project {kit.srv.project_id}'s secret but has no aud (and no _id)" in diagnosis
    assert "the widget docs' shape {name, email, iat, exp, external_id}" in diagnosis
    expected = check_of(entry, "signature")["expected"]
    assert expected == {
        "_id": f"{kit.srv.project_id}_ada-1815",
        "firstname": "Ada",
        "lastname": "Lovelace",
        "email": "ada@brand.example",
        "sub": "userexternal",
        "aud": aud(kit.srv.project_id),
    }
    body = signed_in(signin(kit.client, "JWT " + kit.srv.token(expected)))
    assert body["user"] == expected


def test_widget_token_to_server_project_with_id_project_is_still_refused(kit: Kit) -> None:
    """id_project does not rescue a widget-shaped token on a server-profile project (the server reads no
    id_project for a token without aud)."""
    response = signin(kit.client, "JWT " + kit.srv.token(kit.widget()), json_body={"id_project": kit.srv.project_id})
    diagnosis, _ = assert_refused(kit.client, response, "signature")
    assert "has no aud" in diagnosis


# -- how the project is chosen --------------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["json body", "query string"])
def test_documented_id_project_selects_the_project(kit: Kit, where: str) -> None:
    """Documented profile without aud: id_project (JSON body or query string) names the project whose secret is
    used, as the trace shows."""
    token = kit.doc.token(kit.widget())
    body, params = (
        ({"id_project": kit.doc.project_id}, None)
        if where == "json body"
        else (None, {"id_project": kit.doc.project_id})
    )
    response = signin(kit.client, f"JWT {token}", json_body=body, params=params)
    signed_in(response)
    entry = journal_entry(kit.client, response)
    assert entry["tenant"] == kit.doc.project_id
    assert check_of(entry, "secret_selection")["actual"] == f"project {kit.doc.project_id} by id_project"


@pytest.mark.parametrize("where", ["json body", "query string"])
def test_documented_id_project_of_another_project_is_refused(kit: Kit, client: httpx.Client, where: str) -> None:
    """id_project names a documented project whose secret did not sign the token: 401, and the diagnosis says
    which project's secret does verify it."""
    with projects_of(client) as projects:
        other = projects.register("documented")
        token = kit.doc.token(kit.widget())
        body, params = (
            ({"id_project": other.project_id}, None)
            if where == "json body"
            else (None, {"id_project": other.project_id})
        )
        diagnosis, _ = assert_refused(
            kit.client, signin(kit.client, f"JWT {token}", json_body=body, params=params), "signature"
        )
        assert f"project {other.project_id}'s secret (no aud: id_project)" in diagnosis
        assert f"it verifies with project {kit.doc.project_id}'s secret instead" in diagnosis


def test_documented_project_found_by_its_secret(kit: Kit) -> None:
    """Documented profile, no aud and no id_project: the one documented project whose secret verifies it."""
    entry = journal_entry(kit.client, signin(kit.client, "JWT " + kit.doc.token(kit.widget())))
    assert entry["status"] == 200
    assert check_of(entry, "secret_selection")["actual"] == (
        f"project {kit.doc.project_id} by the one documented-profile project whose secret verifies it"
    )


def test_documented_aud_selects_the_project(kit: Kit) -> None:
    """Documented profile with aud https://…/projects/<id>: that project, and the documented rules."""
    response = signin(kit.client, "JWT " + kit.doc.token(kit.widget(aud=aud(kit.doc.project_id))))
    signed_in(response)
    entry = journal_entry(kit.client, response)
    assert entry["trace"]["profile"] == "documented"
    assert check_of(entry, "secret_selection")["actual"] == f"project {kit.doc.project_id}, profile documented"


@pytest.mark.parametrize(
    "host", ["https://tiledesk.com", "http://localhost:3000", "https://evil.example", "wss://x.y:1"]
)
def test_server_aud_host_is_ignored(kit: Kit, host: str) -> None:
    """Only aud's path picks the project (new URL(aud).pathname): any scheme and host is accepted."""
    signed_in(signin(kit.client, "JWT " + kit.srv.token(kit.server(aud=aud(kit.srv.project_id, host)))))


def test_generic_aud_uses_the_global_secret_and_echoes_the_header(kit: Kit) -> None:
    """aud https://tiledesk.com (e.g. a dashboard token): the global secret, and the header comes back verbatim,
    with no "JWT " fix-up and no project user."""
    claims = {"_id": "agent-1", "sub": "userexternal", "aud": "https://tiledesk.com"}
    token = hs(claims, GLOBAL_SECRET)
    assert signed_in(signin(kit.client, f"jwt {token}")) == {"success": True, "token": f"jwt {token}", "user": claims}
    assert_refused(kit.client, signin(kit.client, "JWT " + kit.srv.token(claims)), "signature")


def test_generic_aud_with_body_id_project_signs_into_that_project(kit: Kit) -> None:
    """research §A.2.4 step 4: generic aud + body id_project → the project's Project_user, as for a project aud:
    the first answer is "JWT "-prefixed, the second echoes the header; the journal names the project."""
    token = hs({"_id": "agent-2", "sub": "userexternal", "aud": "https://tiledesk.com"}, GLOBAL_SECRET)
    response = signin(kit.client, f"jwt {token}", json_body={"id_project": kit.srv.project_id})
    assert signed_in(response)["token"] == f"JWT jwt {token}"
    assert journal_entry(kit.client, response)["tenant"] == kit.srv.project_id
    again = signin(kit.client, f"jwt {token}", json_body={"id_project": kit.srv.project_id})
    assert signed_in(again)["token"] == f"jwt {token}"


def test_generic_aud_ignores_id_project_in_the_query_string(kit: Kit) -> None:
    """routes/auth.js reads req.body.id_project only: in the query string it changes nothing, so the header is
    echoed as for no id_project at all, every time."""
    token = hs({"_id": "agent-3", "sub": "userexternal", "aud": "https://tiledesk.com"}, GLOBAL_SECRET)
    for _ in range(2):
        response = signin(kit.client, f"jwt {token}", params={"id_project": kit.srv.project_id})
        assert signed_in(response)["token"] == f"jwt {token}"
        assert journal_entry(kit.client, response)["tenant"] is None


def test_role_claim_of_a_dashboard_role_is_signed_in_as_a_visitor_with_a_warning(kit: Kit) -> None:
    """A role claim owner/admin/agent takes the server's agent-provisioning path, which the emulator does not
    emulate: the visitor is signed in as a project 'user' and the journal says so."""
    response = signin(kit.client, "JWT " + kit.srv.token(kit.server(_id="would-be-agent", role="agent")))
    signed_in(response)
    warnings = journal_entry(kit.client, response)["trace"]["warnings"]
    assert any("does not emulate that" in w for w in warnings), warnings


def test_secret_token_query_with_a_two_part_header(kit: Kit) -> None:
    """?secret_token= is passport's fallback: with an Authorization header that is not JWT but splits in two, the
    token in the query signs in, and the first answer is that header with "JWT " prepended (indexOf("JWT") < 0)."""
    token = kit.srv.token(kit.server(_id="query-user"))
    response = signin(kit.client, "Bearer whatever", params={"secret_token": token})
    assert signed_in(response)["token"] == "JWT Bearer whatever"


def test_trailing_word_after_the_token_is_the_valid_token_403(kit: Kit) -> None:
    """A header of three words still yields the token to passport; valid-token.js refuses it with 403."""
    response = signin(kit.client, "JWT " + kit.srv.token(kit.server()) + " extra")
    assert_refused(kit.client, response, "header_parts", 403, VALIDTOKEN_403)


# -- routing --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "host"),
    [
        ("/tiledesk/auth/signinWithCustomToken", None),
        ("/tiledesk/v3/auth/signinWithCustomToken", None),
        ("/auth/signinWithCustomToken", HOST),
        ("/v3/auth/signinWithCustomToken", HOST),
    ],
    ids=["prefix", "prefix v3", "host", "host v3"],
)
def test_routes_with_and_without_v3_and_on_the_real_host(kit: Kit, path: str, host: str | None) -> None:
    """The sign-in and its follow-on call answer under /tiledesk and on Host api.tiledesk.com, each also under
    /v3 (the official client's default API URL is https://api.tiledesk.com/v3), with the same refusals."""
    headers = {"Host": host} if host else {}
    token = kit.srv.token(kit.server())
    assert signed_in(signin(kit.client, f"JWT {token}", path=path, headers=headers))["token"] == f"JWT {token}"
    chat = kit.client.post(path.replace(SIGNIN, CHAT21), headers={**headers, "Authorization": f"JWT {token}"})
    assert chat.status_code == 200, chat.text
    refused = signin(kit.client, "Bearer " + token, path=path, headers=headers)
    _, entry = assert_refused(kit.client, refused, "token_present")
    if host:
        assert entry["host"] == host


# -- explain ----------------------------------------------------------------------------------------------------------
def explain(client: httpx.Client, tenant: str, token: str) -> dict[str, Any]:
    response = client.post("/_emulator/explain", json={"vendor": "tiledesk", "tenant": tenant, "token": token})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("prefix", ["", "JWT ", "jwt "])
def test_explain_takes_the_token_with_or_without_jwt(kit: Kit, prefix: str) -> None:
    """explain accepts the token as signInWithCustomToken gets it ("JWT …") or bare, and predicts the answer."""
    token = kit.srv.token(kit.server())
    report = explain(kit.client, kit.srv.project_id, prefix + token)
    assert report["ok"] is True
    assert report["failedCheck"] is None
    assert report["profile"] == "server"
    assert report["decoded"]["claims"] == kit.server()
    assert report["vendorResponse"]["status"] == 200
    assert report["vendorResponse"]["body"]["user"] == kit.server()


def test_explain_refusal_matches_the_vendor_answer(kit: Kit) -> None:
    """A refused token: explain names the same check as sign-in, with the server's answer."""
    token = kit.srv.token(kit.widget())
    report = explain(kit.client, kit.srv.project_id, token)
    assert report["failedCheck"] == "signature"
    assert report["vendorResponse"] == {"status": 401, "body": "Unauthorized"}
    assert "has no aud (and no _id)" in report["summary"]
    _, entry = assert_refused(kit.client, signin(kit.client, f"JWT {token}"), "signature")
    assert entry["summary"] == report["summary"]


def test_explain_tenant_is_the_documented_id_project(kit: Kit) -> None:
    """For a documented token without aud, explain's tenant plays id_project."""
    report = explain(kit.client, kit.doc.project_id, kit.doc.token(kit.widget()))
    assert report["ok"] is True
    assert check_of(report, "secret_selection")["actual"] == f"project {kit.doc.project_id} by id_project"


def test_explain_predicts_the_first_and_the_later_answers(kit: Kit) -> None:
    """explain predicts the token signinWithCustomToken would return now: "JWT jwt <t>" before the first sign-in
    of a "jwt <t>" header, "jwt <t>" once the project user exists."""
    token = kit.srv.token(kit.server(_id="predicted-user"))
    assert explain(kit.client, "", f"jwt {token}")["vendorResponse"]["body"]["token"] == f"JWT jwt {token}"
    signed_in(signin(kit.client, f"jwt {token}"))
    assert explain(kit.client, "", f"jwt {token}")["vendorResponse"]["body"]["token"] == f"jwt {token}"


def test_documented_project_expected_payload_is_the_widget_shape(kit: Kit) -> None:
    """A widget-docs token naming a documented project by id_project but signed with a wrong secret: the journal's
    'expected' for a documented target is the widget docs' shape, iat now and exp ten minutes on; that payload,
    signed with the project's secret, signs in."""
    response = signin(
        kit.client, "JWT " + hs(kit.widget(), "wrong-secret"), json_body={"id_project": kit.doc.project_id}
    )
    _, entry = assert_refused(kit.client, response, "signature")
    expected = check_of(entry, "signature")["expected"]
    assert expected == {
        "name": "Ada Lovelace",
        "email": "ada@brand.example",
        "external_id": "ada-1815",
        "iat": kit.now,
        "exp": kit.now + 600,
    }
    signed_in(signin(kit.client, "JWT " + kit.doc.token(expected), json_body={"id_project": kit.doc.project_id}))


def test_explain_has_no_side_effects(kit: Kit) -> None:
    """explain creates no project user and writes no vendor journal entry: a sign-in after it is still a first
    sign-in (its "jwt" header comes back "JWT "-prefixed)."""
    token = kit.srv.token(kit.server(_id="explained-user"))
    before = kit.client.get("/_emulator/journal", params={"vendor": "tiledesk"}).json()["entries"]
    for _ in range(2):
        assert explain(kit.client, kit.srv.project_id, f"jwt {token}")["ok"] is True
    assert kit.client.get("/_emulator/journal", params={"vendor": "tiledesk"}).json()["entries"] == before
    assert signed_in(signin(kit.client, f"jwt {token}"))["token"] == f"JWT jwt {token}"


# -- in-process: state the control plane cannot set -----------------------------------------------------------------
@pytest.fixture
def own_app() -> Iterator[tuple[Any, httpx.Client]]:
    from emulator.app import create_app

    app = create_app()
    with emulator_client(app=app) as client:
        yield app, client


@pytest.mark.inprocess
def test_disabled_project_user_is_refused(own_app: tuple[Any, httpx.Client]) -> None:
    """A project user whose status is 'disabled' (models/project_user.js) gets 401 {"success":false,"msg":
    "Authentication failed. Project_user not active."}; the first sign-in had created it active."""
    app, client = own_app
    claims = server_claims(SERVER_PROJECT, _id="to-disable")
    token = hs(claims, SERVER_SECRET)
    signed_in(signin(client, f"JWT {token}"))
    state = app.state.vendors["tiledesk"].state
    user = state.project_users[(SERVER_PROJECT, "to-disable")]
    assert (user.status, user.role) == ("active", "user")
    user.status = "disabled"
    diagnosis, _ = assert_refused(client, signin(client, f"JWT {token}"), "project_user_active", 401, NOT_ACTIVE)
    assert "disabled" in diagnosis
    other = hs(server_claims(SERVER_PROJECT, _id="someone-else"), SERVER_SECRET)
    signed_in(signin(client, f"JWT {other}"))


@pytest.mark.inprocess
def test_explain_creates_no_project_user_in_state(own_app: tuple[Any, httpx.Client]) -> None:
    """In-process view of the same property: explain leaves project_users empty, sign-in fills it."""
    app, client = own_app
    token = hs(server_claims(SERVER_PROJECT), SERVER_SECRET)
    explain(client, SERVER_PROJECT, token)
    assert app.state.vendors["tiledesk"].state.project_users == {}
    signed_in(signin(client, f"JWT {token}"))
    assert list(app.state.vendors["tiledesk"].state.project_users) == [(SERVER_PROJECT, f"{SERVER_PROJECT}_ada")]


@pytest.mark.inprocess
def test_documented_token_verifying_with_two_projects_warns(tmp_path: Path) -> None:
    """Two documented projects with the same secret (possible only from a config file): a token without aud or
    id_project is ambiguous, so it is refused with a warning to send id_project; with id_project it passes."""
    ids, secret = [random_project_id(), random_project_id()], "TEST-ONLY-shared-by-two-documented-projects"
    config = tmp_path / "twins.toml"
    config.write_text(
        'extends = "default"\n'
        + "".join(
            f'\n[[tiledesk.projects]]\nprojectId = "{pid}"\nprofile = "documented"\njwtSecret = "{secret}"\n'
            for pid in ids
        ),
        encoding="utf-8",
    )
    with emulator_client(config) as client:
        token = hs(widget_claims(freeze(client)), secret)
        _, entry = assert_refused(client, signin(client, f"JWT {token}"), "signature")
        assert entry["trace"]["warnings"] == [
            f"the token verifies with several projects' secrets {ids}: send id_project"
        ]
        response = signin(client, f"JWT {token}", json_body={"id_project": ids[1]})
        signed_in(response)
        assert journal_entry(client, response)["tenant"] == ids[1]
