"""POST /{projectId}/keys/generate, rotation of the shared secret mid-session, the chat21 follow-on call, and the
Tiledesk control plane (PUT/GET/DELETE /_emulator/tenants/tiledesk/<projectId>).

Every project here is registered by the test with a random id and admin, so that a live run never rotates the
default fixtures' TEST-ONLY secrets.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.vendors.tiledesk.helpers import (
    BAD_REQUEST,
    CHAT21,
    CHAT21_SECRET,
    FIXTURE_ADMIN,
    GLOBAL_SECRET,
    HOST,
    NOT_IN_PROJECT,
    PREFIX,
    PROJECT_NOT_FOUND,
    ROLE_REQUIRED,
    VALIDTOKEN_403,
    Project,
    Projects,
    assert_refused,
    aud,
    b64u,
    chat21,
    claims_of,
    freeze,
    generate,
    hs,
    journal_entry,
    projects_of,
    random_project_id,
    server_claims,
    signed_in,
    signin,
    verify_hs256,
    widget_claims,
)

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
THIRTY_DAYS = 30 * 86400


@pytest.fixture
def projects(client: httpx.Client) -> Iterator[Projects]:
    with projects_of(client) as registry:
        yield registry


def tenant(client: httpx.Client, project_id: str) -> httpx.Response:
    return client.get(f"/_emulator/tenants/tiledesk/{project_id}")


# -- keys/generate ----------------------------------------------------------------------------------------------------
def test_generate_returns_the_servers_shape_once(client: httpx.Client, projects: Projects) -> None:
    """routes/key.js: 200 {publicKey, privateKey, jwtSecret: a UUID v4}, exactly these three; each call makes a new
    secret (overwriting the old one), and the control plane counts the rotation."""
    project = projects.register(generate_secret=False)
    assert tenant(client, project.project_id).json()["hasSecret"] is False
    response = generate(client, project.project_id, project.admin)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"publicKey", "privateKey", "jwtSecret"}
    assert UUID4.fullmatch(body["jwtSecret"]) and uuid.UUID(body["jwtSecret"]).version == 4
    assert body["publicKey"].startswith("-----BEGIN PUBLIC KEY-----\n")
    assert body["publicKey"].endswith("-----END PUBLIC KEY-----")
    assert body["privateKey"].startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    entry = journal_entry(client, response)
    assert (entry["outcome"], entry["operation"], entry["tenant"]) == ("accepted", "keys/generate", project.project_id)
    assert entry["summary"] == "shared secret generated"
    assert entry["details"] == {"username": project.admin[0], "via": "basic"}

    again = generate(client, project.project_id, project.admin)
    assert again.status_code == 200
    assert again.json()["jwtSecret"] != body["jwtSecret"]
    assert again.json()["publicKey"] != body["publicKey"]
    assert journal_entry(client, again)["summary"].startswith("shared secret regenerated")
    view = tenant(client, project.project_id).json()
    assert (view["hasSecret"], view["rotations"]) == (True, 1)


@pytest.mark.parametrize(
    ("path", "host"),
    [("/tiledesk/v3/{}/keys/generate", None), ("/{}/keys/generate", HOST), ("/v3/{}/keys/generate", HOST)],
    ids=["prefix v3", "host", "host v3"],
)
def test_generate_on_v3_and_the_real_host(
    client: httpx.Client, projects: Projects, path: str, host: str | None
) -> None:
    """keys/generate also answers under /v3 and on Host api.tiledesk.com; the secret it returns signs in."""
    project = projects.register(generate_secret=False)
    response = client.post(path.format(project.project_id), auth=project.admin, headers={"Host": host} if host else {})
    assert response.status_code == 200, response.text
    secret = response.json()["jwtSecret"]
    signed_in(signin(client, "JWT " + hs(server_claims(project.project_id), secret)))


def _basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


CREDENTIAL_CASES: list[tuple[str, Any]] = [
    ("no credentials", lambda p: {}),
    ("wrong password", lambda p: {"Authorization": _basic(f"{p.admin[0]}:wrong")}),
    ("unknown user", lambda p: {"Authorization": _basic("nobody@brand.example:" + p.admin[1])}),
]


@pytest.mark.parametrize("build", [c[1] for c in CREDENTIAL_CASES], ids=[c[0] for c in CREDENTIAL_CASES])
def test_generate_refuses_bad_credentials(client: httpx.Client, projects: Projects, build: Any) -> None:
    """Missing or wrong admin credentials: 401, plain-text Unauthorized; the secret is unchanged and the password
    never reaches the journal."""
    project = projects.register()
    headers = build(project)
    response = client.post(f"{PREFIX}/{project.project_id}/keys/generate", headers=headers)
    _, entry = assert_refused(client, response, "credentials", no_challenge=False)
    assert response.headers["www-authenticate"] == 'Basic realm="Users"'
    assert project.admin[1] not in str(entry)
    assert tenant(client, project.project_id).json()["rotations"] == 0
    signed_in(signin(client, "JWT " + project.token(server_claims(project.project_id))))


def test_generate_refuses_another_projects_admin(client: httpx.Client, projects: Projects) -> None:
    """An admin of another project: 403 {"success":false,"msg":"you dont belong to the project."}; the fixtures'
    admin (of both default projects) is no admin of a registered one either."""
    mine, theirs = projects.register(), projects.register()
    for credentials in (theirs.admin, FIXTURE_ADMIN):
        diagnosis, _ = assert_refused(
            client, generate(client, mine.project_id, credentials), "project_role", 403, NOT_IN_PROJECT
        )
        assert f"not {mine.project_id}" in diagnosis
    assert tenant(client, mine.project_id).json()["rotations"] == 0


def test_generate_401_carries_the_basic_challenge(client: httpx.Client, projects: Projects) -> None:
    """The real 401 on keys/generate includes WWW-Authenticate: Basic realm="Users"."""
    project = projects.register(generate_secret=False)
    response = generate(client, project.project_id, (project.admin[0], "wrong"))
    assert response.status_code == 401
    assert response.headers.get("www-authenticate") == 'Basic realm="Users"'


BAD_REQUEST_CASES: list[tuple[str, Any]] = [
    ("base64 without a colon", lambda p: _basic(p.admin[0] + p.admin[1])),
    ("a single word", lambda p: "Basic"),
    ("a bare token, no scheme", lambda p: p.token(server_claims(p.project_id))),
]


@pytest.mark.parametrize("build", [c[1] for c in BAD_REQUEST_CASES], ids=[c[0] for c in BAD_REQUEST_CASES])
def test_generate_answers_400_when_passport_http_does(client: httpx.Client, projects: Projects, build: Any) -> None:
    """passport-http fails a one-word header, or Basic credentials without ':', with 400: passport then answers
    400 "Bad Request" (plain text, no challenge), even though the jwt strategy failed with 401 after it."""
    project = projects.register()
    response = client.post(f"{PREFIX}/{project.project_id}/keys/generate", headers={"Authorization": build(project)})
    diagnosis, _ = assert_refused(client, response, "credentials", 400, BAD_REQUEST)
    assert "passport-http answers 400" in diagnosis
    assert tenant(client, project.project_id).json()["rotations"] == 0


def test_generate_with_a_visitors_token(client: httpx.Client, projects: Projects) -> None:
    """The jwt strategy accepts a visitor's token on keys/generate, then has-role refuses it: 403 "you dont belong
    to the project." before the visitor signed in (no project user), 403 "you dont have the required role." after
    (a project 'user'); a token that does not verify is the 401 with Basic's challenge. The secret never changes."""
    project = projects.register()
    header = "JWT " + project.token(server_claims(project.project_id))
    url = f"{PREFIX}/{project.project_id}/keys/generate"
    diagnosis, _ = assert_refused(
        client, client.post(url, headers={"Authorization": header}), "project_role", 403, NOT_IN_PROJECT
    )
    assert "no active project user" in diagnosis
    signed_in(signin(client, header))
    diagnosis, _ = assert_refused(
        client, client.post(url, headers={"Authorization": header}), "project_role", 403, ROLE_REQUIRED
    )
    assert "needs agent or above" in diagnosis
    other = "JWT " + project.token(server_claims(project.project_id, sub="user"))  # looked up by id_user: none
    signed_in(signin(client, other))
    assert_refused(client, client.post(url, headers={"Authorization": other}), "project_role", 403, NOT_IN_PROJECT)
    forged = "JWT " + hs(server_claims(project.project_id), "guessed")
    response = client.post(url, headers={"Authorization": forged})
    diagnosis, _ = assert_refused(client, response, "credentials", no_challenge=False)
    assert response.headers["www-authenticate"] == 'Basic realm="Users"'
    assert "jwt: signature" in diagnosis
    assert tenant(client, project.project_id).json()["rotations"] == 0


def test_generate_with_a_three_part_header_is_the_valid_token_403(client: httpx.Client, projects: Projects) -> None:
    """passport-http reads only the second word, so 'Basic <credentials> extra' authenticates; valid-token.js then
    refuses the header with 403 {"success":false,"msg":"Unauthorized."}."""
    project = projects.register()
    header = _basic(f"{project.admin[0]}:{project.admin[1]}") + " extra"
    response = client.post(f"{PREFIX}/{project.project_id}/keys/generate", headers={"Authorization": header})
    assert_refused(client, response, "header_parts", 403, VALIDTOKEN_403)
    assert tenant(client, project.project_id).json()["rotations"] == 0


def test_generate_for_an_unregistered_project_a_visitor_belongs_to(client: httpx.Client, projects: Projects) -> None:
    """A generic-aud token signs into any body id_project, registered or not; with a role claim that includes
    'agent' (supervisor, which is not provisioned as a dashboard account) it passes has-role there, and
    keys/generate answers 404 {"success":false,"msg":"Project not found"}."""
    ghost = random_project_id()
    claims = {"_id": "sup-1", "sub": "userexternal", "aud": "https://tiledesk.com", "role": "supervisor"}
    header = "JWT " + hs(claims, GLOBAL_SECRET)
    response = signin(client, header, json_body={"id_project": ghost})
    signed_in(response)
    assert "is not a registered project" in str(journal_entry(client, response)["trace"]["warnings"])
    response = client.post(f"{PREFIX}/{ghost}/keys/generate", headers={"Authorization": header})
    assert_refused(client, response, "project_known", 404, PROJECT_NOT_FOUND)


def test_secret_is_never_shown_again(client: httpx.Client, projects: Projects, now: float) -> None:
    """After keys/generate, no endpoint shows the secret (nor the admin's password): tenant view, tenant list,
    keys endpoint, journal, explain."""
    project = projects.register("documented")
    assert project.secret is not None
    token = project.token(widget_claims(now, aud=aud(project.project_id)))
    signed_in(signin(client, f"JWT {token}"))
    signin(client, "JWT " + hs(widget_claims(now), "wrong-secret"))
    texts = {
        "tenant": tenant(client, project.project_id).text,
        "list": client.get("/_emulator/tenants/tiledesk").text,
        "keys": client.get("/_emulator/keys/tiledesk").text,
        "journal": client.get("/_emulator/journal").text,
        "explain": client.post(
            "/_emulator/explain", json={"vendor": "tiledesk", "tenant": project.project_id, "token": token}
        ).text,
    }
    for name, text in texts.items():
        assert project.secret not in text, name
        assert project.admin[1] not in text, name
    view = tenant(client, project.project_id).json()
    assert view == {
        "projectId": project.project_id,
        "profile": "documented",
        "admins": [project.admin[0]],
        "hasSecret": True,
        "secretGeneratedAt": view["secretGeneratedAt"],
        "rotations": 0,
    }
    assert isinstance(view["secretGeneratedAt"], float)


# -- rotation mid-session -------------------------------------------------------------------------------------------
def _claims(project: Project, now: int, user: str) -> dict[str, Any]:
    if project.profile == "server":
        return server_claims(project.project_id, _id=f"{project.project_id}_{user}")
    return widget_claims(now, external_id=user, aud=aud(project.project_id))


def _assert_revoked(client: httpx.Client, response: httpx.Response) -> str:
    diagnosis, _ = assert_refused(client, response, "signature")
    assert re.search(r"it was signed with project [0-9a-z-]+'s previous secret", diagnosis), diagnosis
    assert "Regenerating the shared secret revokes every earlier token" in diagnosis
    return diagnosis


@pytest.mark.parametrize("profile", ["server", "documented"])
def test_rotation_mid_session(client: httpx.Client, projects: Projects, profile: str) -> None:
    """Sign in, get the chat21 token, then the admin regenerates the secret: from that moment the old token fails
    both at sign-in and on createCustomToken (401 Unauthorized, the diagnosis naming the previous secret), and a
    token signed with the new secret works on both."""
    now = freeze(client)
    project = projects.register(profile)
    old = "JWT " + project.token(_claims(project, now, "ada"))
    signed_in(signin(client, old))
    assert chat21(client, old).status_code == 200

    projects.rotate(project)
    _assert_revoked(client, signin(client, old))
    _assert_revoked(client, chat21(client, old))

    new = "JWT " + project.token(_claims(project, now, "ada"))
    assert signed_in(signin(client, new))["token"] == new
    assert chat21(client, new).status_code == 200
    _assert_revoked(client, chat21(client, old))


def test_every_earlier_secret_is_revoked(client: httpx.Client, projects: Projects) -> None:
    """Two rotations: tokens of both earlier secrets fail, only the current one verifies (no grace window)."""
    now = freeze(client)
    project = projects.register()
    first = "JWT " + project.token(_claims(project, now, "a"))
    projects.rotate(project)
    second = "JWT " + project.token(_claims(project, now, "a"))
    projects.rotate(project)
    for token in (first, second):
        _assert_revoked(client, signin(client, token))
    signed_in(signin(client, "JWT " + project.token(_claims(project, now, "a"))))
    assert tenant(client, project.project_id).json()["rotations"] == 2


def test_rotation_diagnosis_for_a_widget_docs_token(client: httpx.Client, projects: Projects) -> None:
    """The widget docs' token, exactly as documented (no aud): after rotation the diagnosis should still say it
    was signed with the project's previous secret."""
    now = freeze(client)
    project = projects.register("documented")
    old = "JWT " + project.token(widget_claims(now))
    signed_in(signin(client, old))
    projects.rotate(project)
    assert f"signed with project {project.project_id}'s previous secret" in _assert_revoked(client, signin(client, old))


# -- the chat21 follow-on call ----------------------------------------------------------------------------------------
def test_chat21_token_for_a_server_profile_visitor(client: httpx.Client, projects: Projects) -> None:
    """createCustomToken: {userid, fullname, firstname, lastname, token}; the MQTT token is HS256 with
    CHAT21_JWT_SECRET (default "tokenKey"), aud ["rabbitmq", userid], 30 days."""
    now = freeze(client)
    project = projects.register()
    header = "JWT " + project.token(server_claims(project.project_id))
    response = chat21(client, header)
    assert response.status_code == 200, response.text
    body = response.json()
    user_id = f"{project.project_id}_ada"
    assert {k: v for k, v in body.items() if k != "token"} == {
        "userid": user_id,
        "fullname": "Ada Lovelace",
        "firstname": "Ada",
        "lastname": "Lovelace",
    }
    claims = verify_hs256(body["token"], CHAT21_SECRET)
    assert claims["sub"] == user_id
    assert claims["aud"] == ["rabbitmq", user_id]
    assert (claims["iat"], claims["exp"]) == (now, now + THIRTY_DAYS)
    assert journal_entry(client, response)["outcome"] == "accepted"


def test_chat21_token_for_a_documented_visitor(client: httpx.Client, projects: Projects) -> None:
    """Documented profile: the user is external_id, the names come from name."""
    now = freeze(client)
    project = projects.register("documented")
    body = chat21(client, "JWT " + project.token(widget_claims(now))).json()
    assert (body["userid"], body["fullname"]) == ("ada-1815", "Ada Lovelace")
    assert claims_of(body["token"])["aud"] == ["rabbitmq", "ada-1815"]


@pytest.mark.parametrize("sub", [None, "user", "bot", "UserExternal"])
def test_chat21_needs_sub_userexternal_on_the_server_profile(
    client: httpx.Client, projects: Projects, sub: str | None
) -> None:
    """Sign-in ignores sub, but later calls dispatch on it: any sub but userexternal or guest is looked up among
    the server's own users and not found (401)."""
    project = projects.register()
    header = "JWT " + project.token(server_claims(project.project_id, sub=sub))
    signed_in(signin(client, header))
    diagnosis, _ = assert_refused(client, chat21(client, header), "sub_userexternal")
    assert "userexternal" in diagnosis


def test_chat21_accepts_sub_guest(client: httpx.Client, projects: Projects) -> None:
    """sub guest is decorated as userexternal is."""
    project = projects.register()
    assert chat21(client, "JWT " + project.token(server_claims(project.project_id, sub="guest"))).status_code == 200


def test_chat21_token_claims_match_nativeauth(client: httpx.Client, projects: Projects) -> None:
    """The MQTT token as RabbitMQ's JWT plugin gets it from tiledesk-server (kid in the payload, the scopes)."""
    project = projects.register()
    user_id = f"{project.project_id}_ada"
    token = chat21(client, "JWT " + project.token(server_claims(project.project_id))).json()["token"]
    assert token.split(".")[0] == b64u(b'{"alg":"HS256","typ":"JWT"}')
    claims = claims_of(token)
    assert claims["kid"] == "tiledesk-key"
    assert (claims["app_id"], claims["user_id"], claims["tiledesk_api_roles"]) == ("tilechat", user_id, "user")
    assert claims["scope"][0] == f"rabbitmq.read:*/*/apps.tilechat.users.{user_id}.*"
    assert list(claims) == [
        "jti",
        "sub",
        "scope",
        "client_id",
        "cid",
        "azp",
        "user_id",
        "app_id",
        "iat",
        "exp",
        "aud",
        "kid",
        "tiledesk_api_roles",
    ]
    assert len(claims["scope"]) == 4


def test_chat21_fullname_is_decorate_users_unstripped_concatenation(client: httpx.Client, projects: Projects) -> None:
    """UserUtil.decorateUser: fullName = (firstname || '') + ' ' + (lastname || ''), so a visitor without a
    lastname is "Ada " and the answer has no lastname key (JSON.stringify drops undefined)."""
    project = projects.register()
    body = chat21(client, "JWT " + project.token(server_claims(project.project_id, lastname=None))).json()
    assert body["fullname"] == "Ada "
    assert "lastname" not in body
    assert body["firstname"] == "Ada"


# -- the control plane ----------------------------------------------------------------------------------------------
def test_put_registers_without_a_secret(client: httpx.Client, projects: Projects) -> None:
    """PUT registers a project (201) with no secret: its tokens fail until keys/generate."""
    project = projects.register("server", generate_secret=False)
    assert tenant(client, project.project_id).json() == {
        "projectId": project.project_id,
        "profile": "server",
        "admins": [project.admin[0]],
        "hasSecret": False,
        "secretGeneratedAt": None,
        "rotations": 0,
    }
    listed = client.get("/_emulator/tenants/tiledesk").json()["tenants"]
    assert tenant(client, project.project_id).json() in listed
    response = signin(client, "JWT " + hs(server_claims(project.project_id), "guessed-secret"))
    diagnosis, _ = assert_refused(client, response, "secret_selection")
    assert "has no shared secret yet" in diagnosis


def test_put_replace_keeps_the_secret(client: httpx.Client, projects: Projects) -> None:
    """Replacing a project's settings (200) is not rotating: the copied secret still signs in; the admins are
    replaced (the old one can no longer generate, the new one can)."""
    project = projects.register()
    token = "JWT " + project.token(server_claims(project.project_id))
    admins = [{"username": "new-admin@brand.example", "password": "TEST-ONLY-new"}]
    response = client.put(
        f"/_emulator/tenants/tiledesk/{project.project_id}", json={"profile": "server", "admins": admins}
    )
    assert response.status_code == 200, response.text
    assert (response.json()["hasSecret"], response.json()["admins"]) == (True, ["new-admin@brand.example"])
    signed_in(signin(client, token))
    assert_refused(client, generate(client, project.project_id, project.admin), "credentials", no_challenge=False)
    assert generate(client, project.project_id, ("new-admin@brand.example", "TEST-ONLY-new")).status_code == 200


def test_put_switches_the_profile(client: httpx.Client, projects: Projects) -> None:
    """The profile decides the rules: the same widget-docs token passes as documented, fails as server."""
    now = freeze(client)
    project = projects.register("documented")
    token = "JWT " + project.token(widget_claims(now, external_id="switch"))
    signed_in(signin(client, token))
    url = f"/_emulator/tenants/tiledesk/{project.project_id}"
    admins = [{"username": project.admin[0], "password": project.admin[1]}]
    assert client.put(url, json={"profile": "server", "admins": admins}).json()["profile"] == "server"
    diagnosis, _ = assert_refused(client, signin(client, token), "signature")
    assert "has no aud" in diagnosis
    assert client.put(url, json={"profile": "documented", "admins": admins}).status_code == 200
    signed_in(signin(client, token))


BAD_BODIES = [
    ("unknown profile", {"profile": "cloud"}, "profile"),
    ("admins not a list", {"admins": "admin"}, "admins"),
    ("admin without password", {"admins": [{"username": "a@b"}]}, "password"),
    ("username with a colon", {"admins": [{"username": "a:b", "password": "p"}]}, "username"),
    (
        "admin listed twice",
        {"admins": [{"username": "a", "password": "p"}, {"username": "a", "password": "q"}]},
        "twice",
    ),
    ("a secret set by hand", {"jwtSecret": "TEST-ONLY-chosen-by-hand"}, "jwtSecret"),
    ("unknown field", {"secret": "x"}, "unknown field"),
    ("another projectId", {"projectId": "0" * 24}, "differs"),
    ("not an object", ["documented"], "JSON object"),
]


@pytest.mark.parametrize(("body", "says"), [c[1:] for c in BAD_BODIES], ids=[c[0] for c in BAD_BODIES])
def test_put_bad_body_is_400_and_changes_nothing(
    client: httpx.Client, projects: Projects, body: Any, says: str
) -> None:
    """A bad body: 400 {"error": …} naming the field; the registered project is unchanged (secret included)."""
    project = projects.register()
    before = tenant(client, project.project_id).json()
    response = client.put(f"/_emulator/tenants/tiledesk/{project.project_id}", json=body)
    assert response.status_code == 400, response.text
    assert says in response.json()["error"]
    assert tenant(client, project.project_id).json() == before
    signed_in(signin(client, "JWT " + project.token(server_claims(project.project_id))))


@pytest.mark.parametrize("project_id", ["5EC688ED13400F0012C2EDD1", "5ec688ed13400f0012c2edd", "project-1", "0" * 25])
def test_put_bad_project_id_is_400(client: httpx.Client, project_id: str) -> None:
    """Project ids are 24 lower-case hex characters (a MongoDB ObjectId)."""
    response = client.put(f"/_emulator/tenants/tiledesk/{project_id}", json={"profile": "server"})
    assert response.status_code == 400
    assert "24 lower-case hex" in response.json()["error"]
    assert tenant(client, project_id).status_code == 404


def test_delete_then_sign_in_fails(client: httpx.Client, projects: Projects) -> None:
    """DELETE (204) removes the project: GET 404, its tokens 401 (aud names no registered project), its admin
    can no longer generate; a second DELETE is 404."""
    project = projects.register()
    token = "JWT " + project.token(server_claims(project.project_id))
    signed_in(signin(client, token))
    url = f"/_emulator/tenants/tiledesk/{project.project_id}"
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    diagnosis, _ = assert_refused(client, signin(client, token), "secret_selection")
    assert "not registered" in diagnosis
    assert_refused(client, chat21(client, token), "secret_selection")
    assert_refused(client, generate(client, project.project_id, project.admin), "credentials", no_challenge=False)
    assert client.delete(url).status_code == 404


def test_unknown_project_is_404(client: httpx.Client) -> None:
    """GET and DELETE of a project never registered: 404."""
    url = f"/_emulator/tenants/tiledesk/{random_project_id()}"
    assert client.get(url).status_code == 404
    assert client.delete(url).status_code == 404


def test_registered_state_survives_reset(client: httpx.Client, projects: Projects) -> None:
    """/_emulator/reset clears project users (runtime) but keeps projects and their generated secrets (the brand
    copied that secret into its backend)."""
    project = projects.register()
    token = "jwt " + project.token(server_claims(project.project_id))
    assert signed_in(signin(client, token))["token"] == "JWT " + token  # first sign-in: project user created
    assert signed_in(signin(client, token))["token"] == token
    assert client.post("/_emulator/reset").status_code == 200
    assert signed_in(signin(client, token))["token"] == "JWT " + token  # a first sign-in again
    assert tenant(client, project.project_id).json()["hasSecret"] is True


def test_chat21_path_on_the_real_host(client: httpx.Client, projects: Projects) -> None:
    """createCustomToken on Host api.tiledesk.com under /v3, as the widget calls it."""
    project = projects.register()
    response = client.post(
        "/v3" + CHAT21,
        headers={"Host": HOST, "Authorization": "JWT " + project.token(server_claims(project.project_id))},
    )
    assert response.status_code == 200, response.text
