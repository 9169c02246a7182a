"""The Tiledesk sign-in pipeline, in order, for both profiles (research §A.2).

``server``: exactly what tiledesk-server 2.19 does: the secret comes from ``aud`` (``/projects/<id>``, the host
ignored) or is the global secret; HS256/384/512; ``exp``/``nbf`` only when present, no tolerance; ``_id`` required;
the ``Authorization`` header must split into two parts; a global-secret token without ``aud`` is a 400.
``documented``: the widget docs' token ``{name, email, iat, exp, external_id}``: the project comes from ``aud``,
else ``id_project`` (body or query), else the one documented-profile project whose secret verifies the token;
``iat`` within two minutes of clock skew, ``exp`` at most ten minutes after ``iat``.
Refusals answer as the server does (401 ``Unauthorized`` as plain text, or its JSON bodies).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from emulator.core import jsonutil
from emulator.core.checks import Check, Fail, Pass, Pipeline
from emulator.core.jose import HMAC_SIGNING, Compact, JoseError, check_alg, hmac_verify, parse_compact
from emulator.core.keys import b64url_decode
from emulator.vendors.tiledesk import errors
from emulator.vendors.tiledesk.state import Project, TiledeskState

SCHEME = re.compile(r"(\S+)\s+(\S+)")  # passport-jwt's auth header regex, applied with String.match (unanchored)
IAT_SKEW = 120  # [DOC] widget docs: "permits up to two minutes clock skew"
MAX_LIFETIME = 600  # [DOC] "up to a maximum of 10 minutes from the iat value"
WIDGET_SHAPE = {"name", "email", "external_id"}
DASHBOARD_ROLES = ("owner", "admin", "agent")  # routes/auth.js provisions an agent account for these role claims


@dataclass(frozen=True)
class Answer:
    """A Tiledesk refusal: the status and a plain-text or JSON body."""

    status: int
    body: str | dict[str, Any]


UNAUTHORIZED = Answer(401, errors.UNAUTHORIZED_TEXT)


@dataclass
class Context:
    state: TiledeskState
    global_secret: str
    now: float
    authorization: str | None
    secret_token: str | None  # ?secret_token=, passport's fallback
    id_project: str | None  # from the JSON body or the query string
    body_id_project: str | None = None  # from the JSON body only (routes/auth.js reads req.body.id_project)
    token: str = ""
    compact: Compact | None = None
    unverified: dict[str, Any] = field(default_factory=dict)
    profile: str = "server"
    project: Project | None = None  # the project whose secret verifies the token
    project_id: str | None = None  # the project the visitor signs into (also a generic aud's body id_project)
    secret: str | None = None
    secret_source: str = ""
    claims: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def documented(self) -> bool:
        return self.profile == "documented"


def _token_present(ctx: Context) -> Pass:
    match = SCHEME.search(ctx.authorization or "")
    if match and match.group(1).lower() == "jwt":
        ctx.token = match.group(2)
        return Pass(expected="Authorization: JWT <token>", actual="JWT scheme")
    if ctx.secret_token:
        ctx.token = ctx.secret_token
        return Pass(expected="Authorization: JWT <token>", actual="?secret_token= (passport's fallback)")
    got = match.group(1) if match else (ctx.authorization or None)
    raise Fail(
        "no token: the Authorization header must be 'JWT <token>' (the string given to signInWithCustomToken must "
        'start with "JWT ")',
        expected="JWT <token>",
        actual=got if got is None or len(got) < 20 else got[:20] + "…",
        remedy='Call window.tiledesk.signInWithCustomToken("JWT " + token)',
    )


def _token_format(ctx: Context) -> Pass:
    try:
        ctx.compact = parse_compact(ctx.token, expect=(3,))
        payload = jsonutil.loads(b64url_decode(ctx.compact.segments[1]))  # strict, as JSON.parse
    except (JoseError, ValueError) as exc:
        raise Fail(f"not a compact JWT: {exc}", expected="header.payload.signature", actual=None) from exc
    if not isinstance(payload, dict):
        raise Fail("the payload is not a JSON object", expected="a claims object", actual=type(payload).__name__)
    ctx.unverified = payload
    return Pass(expected="a JWT", actual=f"header {ctx.compact.header}")


def _verifies(ctx: Context, secret: str) -> bool:
    assert ctx.compact is not None
    try:
        hmac_verify(ctx.compact, secret.encode(), HMAC_SIGNING)
    except JoseError:
        return False
    return True


def _secret_selection(ctx: Context) -> Pass:
    """Which secret verifies the token, and so which profile's rules apply."""
    aud = ctx.unverified.get("aud")
    if aud is not None:
        if not isinstance(aud, str) or not urlsplit(aud).scheme:
            raise Fail(
                f"aud {aud!r} is not an absolute URL (the real server's new URL() throws: it may even answer 500)",
                expected="https://tiledesk.com/projects/<projectId>",
                actual=aud,
            )
        parts = urlsplit(aud).path.split("/")
        if len(parts) > 2 and parts[1] == "projects":  # the host is never compared, as in the server
            project = ctx.state.projects.get(parts[2])
            if project is None:
                raise Fail(
                    f"aud names project {parts[2]!r}, which is not registered",
                    expected="a registered project",
                    actual=parts[2],
                )
            if project.jwt_secret is None:
                raise Fail(
                    f"project {project.project_id} has no shared secret yet",
                    expected="a generated secret",
                    actual=None,
                    remedy=f"Generate it: POST /{project.project_id}/keys/generate (project admin credentials)",
                )
            ctx.project, ctx.profile, ctx.secret = project, project.profile, project.jwt_secret
            ctx.project_id = project.project_id
            ctx.secret_source = f"project {project.project_id}'s secret (from aud)"
            return Pass(
                expected="the aud project's secret", actual=f"project {project.project_id}, profile {project.profile}"
            )
        ctx.profile, ctx.secret, ctx.secret_source = "server", ctx.global_secret, "the global secret (generic aud)"
        actual = f"generic aud {aud!r}: the global secret"
        if ctx.body_id_project:  # routes/auth.js: a generic aud signs into the body's id_project, if any
            ctx.project_id = ctx.body_id_project
            actual += f", signing into the body's id_project {ctx.body_id_project!r}"
            if ctx.body_id_project not in ctx.state.projects:
                ctx.warnings.append(
                    f"id_project {ctx.body_id_project!r} is not a registered project: the server creates a project "
                    "user in it all the same"
                )
        return Pass(expected="a /projects/<id> aud", actual=actual)
    documented = [p for p in ctx.state.projects.values() if p.profile == "documented" and p.jwt_secret]
    named = ctx.state.projects.get(ctx.id_project or "")
    if named is not None and named.profile == "documented" and named.jwt_secret:
        chosen, how = named, "id_project"
    else:
        verifying = [p for p in documented if p.jwt_secret and _verifies(ctx, p.jwt_secret)]
        chosen, how = (
            (verifying[0], "the one documented-profile project whose secret verifies it")
            if len(verifying) == 1
            else (None, "")
        )
        if len(verifying) > 1:
            ctx.warnings.append(
                f"the token verifies with several projects' secrets {[p.project_id for p in verifying]}: send id_project"
            )
    if chosen is not None:
        ctx.project, ctx.profile, ctx.secret = chosen, "documented", chosen.jwt_secret
        ctx.project_id = chosen.project_id
        ctx.secret_source = f"project {chosen.project_id}'s secret (no aud: {how})"
        return Pass(expected="aud, id_project or a verifying project", actual=f"project {chosen.project_id} by {how}")
    ctx.profile, ctx.secret, ctx.secret_source = "server", ctx.global_secret, "the global secret (no aud)"
    if documented:
        return Pass(
            message=f"no aud, and none of the {len(documented)} documented-profile project(s) is named by id_project "
            "or has a secret that verifies it: the server verifies with the global secret"
        )
    return Pass(message="no aud and no documented-profile project: the server verifies with the global secret")


def _alg(ctx: Context) -> Pass:
    assert ctx.compact is not None
    try:
        alg = check_alg(ctx.compact.header, HMAC_SIGNING)
    except JoseError as exc:
        raise Fail(
            f"{exc.message} (jsonwebtoken: 'invalid algorithm'; a shared secret only verifies HMAC)",
            expected=sorted(HMAC_SIGNING),
            actual=ctx.compact.header.get("alg"),
        ) from exc
    return Pass(expected=sorted(HMAC_SIGNING), actual=alg)


def _signature(ctx: Context) -> Pass:
    assert ctx.compact is not None and ctx.secret is not None
    try:
        hmac_verify(ctx.compact, ctx.secret.encode(), HMAC_SIGNING)
    except JoseError as exc:
        raise Fail(_why_signature(ctx), expected=_expected_payload(ctx), actual=ctx.secret_source) from exc
    ctx.claims = ctx.unverified  # the payload token_format parsed, now verified
    return Pass(expected=ctx.secret_source, actual="verified")


def _why_signature(ctx: Context) -> str:
    message = f"the signature does not verify with {ctx.secret_source}"
    for project in ctx.state.projects.values():
        if project.jwt_secret and project.jwt_secret != ctx.secret and _verifies(ctx, project.jwt_secret):
            if ctx.unverified.get("aud") is None and project.profile == "server":
                shape = (
                    "the widget docs' shape {name, email, iat, exp, external_id}"
                    if WIDGET_SHAPE & set(ctx.unverified)
                    else "no aud"
                )
                return (
                    f"{message}. It is signed with project {project.project_id}'s secret but has no aud (and "
                    f"{'no' if '_id' not in ctx.unverified else 'an'} _id): tiledesk-server only picks a project's "
                    f"secret from aud, so a token in {shape} is checked against the global secret and refused. "
                    "Send the payload shown in 'expected'"
                )
            return f"{message}; it verifies with project {project.project_id}'s secret instead"
    # The aud project's earlier secrets; with no aud (the widget docs' token) any project's.
    for project in [ctx.project] if ctx.project is not None else list(ctx.state.projects.values()):
        for old in project.previous_secrets:
            if _verifies(ctx, old.secret):
                since = (
                    f"generated at {old.generated_at:.0f}" if old.generated_at is not None else "from the configuration"
                )
                return (
                    f"{message}: it was signed with project {project.project_id}'s previous secret ({since}), "
                    f"replaced at {old.replaced_at:.0f}. Regenerating the shared secret revokes every earlier token"
                )
    return message + " (wrong secret, or the token was altered)"


def _expected_payload(ctx: Context) -> Any:
    target = ctx.project or next(
        (p for p in ctx.state.projects.values() if p.jwt_secret and _verifies(ctx, p.jwt_secret)), None
    )
    if target is None:
        return "a token signed with the secret of the project its aud names"
    claims = ctx.unverified
    if target.profile == "documented":  # the widget docs' shape, with the documented time rules
        now = int(ctx.now)
        return {
            "name": claims.get("name") or " ".join(str(claims.get(k, "")) for k in ("firstname", "lastname")).strip(),
            "email": claims.get("email"),
            "external_id": str(claims.get("external_id") or claims.get("_id") or claims.get("email") or "<user id>"),
            "iat": now,
            "exp": now + MAX_LIFETIME,
        }
    user = str(claims.get("_id") or claims.get("external_id") or claims.get("email") or "<user id>")
    first, _, last = str(claims.get("name", "")).partition(" ")
    return {
        "_id": user if user.startswith(target.project_id) else f"{target.project_id}_{user}",
        "firstname": claims.get("firstname", first),
        "lastname": claims.get("lastname", last),
        "email": claims.get("email"),
        "sub": "userexternal",
        "aud": f"https://tiledesk.com/projects/{target.project_id}",
    }


def _number(ctx: Context, name: str) -> float | None:
    value = ctx.claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Fail(
            f"'{name}' is not a number (jsonwebtoken: 'invalid {name} value')", expected="NumericDate", actual=value
        )
    return jsonutil.to_float(value)  # a huge integer is ±Infinity, as JSON.parse reads it


def _exp(ctx: Context) -> Pass:
    exp = _number(ctx, "exp")
    if exp is None:
        if ctx.documented:
            raise Fail("the widget docs' token must carry exp", expected="exp (seconds)", actual=None)
        return Pass(message="no exp: the server does not require one")
    if ctx.now >= exp:
        raise Fail(
            f"jwt expired {ctx.now - exp:.0f} s ago (no clock tolerance)", expected=f"exp > {ctx.now:.0f}", actual=exp
        )
    return Pass(expected=f"exp > {ctx.now:.0f}", actual=exp)


def _nbf(ctx: Context) -> Pass:
    nbf = _number(ctx, "nbf")
    if nbf is None:
        return Pass(message="no nbf")
    if nbf > ctx.now:
        raise Fail(
            f"jwt not active until {nbf:.0f} ({nbf - ctx.now:.0f} s from now)",
            expected=f"nbf <= {ctx.now:.0f}",
            actual=nbf,
        )
    return Pass(expected=f"nbf <= {ctx.now:.0f}", actual=nbf)


def _iat(ctx: Context) -> Pass:
    if not ctx.documented:
        return Pass(message="server profile: iat is not checked")
    iat = _number(ctx, "iat")
    if iat is None:
        raise Fail("the widget docs' token must carry iat", expected="iat (seconds)", actual=None)
    if iat > ctx.now + IAT_SKEW:
        raise Fail(
            f"iat is {iat - ctx.now:.0f} s in the future (two minutes of clock skew allowed)",
            expected=f"iat <= {ctx.now + IAT_SKEW:.0f}",
            actual=iat,
        )
    return Pass(expected=f"iat <= now + {IAT_SKEW}", actual=iat)


def _lifetime(ctx: Context) -> Pass:
    if not ctx.documented:
        return Pass(message="server profile: no maximum lifetime")
    exp, iat = _number(ctx, "exp"), _number(ctx, "iat")
    assert exp is not None and iat is not None  # the exp and iat checks require them in this profile
    lifetime = exp - iat
    if lifetime > MAX_LIFETIME:
        raise Fail(
            f"exp is {lifetime:.0f} s after iat, over the ten minutes allowed",
            expected=f"exp - iat <= {MAX_LIFETIME}",
            actual=lifetime,
        )
    return Pass(expected=f"exp - iat <= {MAX_LIFETIME}", actual=lifetime)


def _user_id(ctx: Context) -> Pass:
    if ctx.documented:
        user = ctx.claims.get("external_id") or ctx.claims.get("email")
        if not isinstance(user, str) or not user:
            raise Fail(
                "the token identifies no user: external_id (or email) is required",
                expected="external_id",
                actual=sorted(ctx.claims),
            )
        return Pass(expected="external_id or email", actual=user)
    doc = ctx.claims.get("_doc")
    if ctx.claims.get("_id") is None and not (isinstance(doc, dict) and doc.get("_id") is not None):
        raise Fail(
            "jwt_payload._id or jwt_payload._doc._id can t be undefined (tiledesk-server)",
            expected="_id",
            actual=sorted(ctx.claims),
            remedy="Put the user's id in _id (the developer docs: '<projectId>_<your user id>')",
        )
    return Pass(expected="_id", actual=ctx.claims.get("_id") or doc)


def _header_parts(ctx: Context) -> Pass:
    if ctx.documented:
        return Pass(message="documented profile: the header is not re-split")
    parts = (ctx.authorization or "").split(" ")
    if len(parts) != 2:
        raise Fail(
            f"the Authorization header splits into {len(parts)} part(s) on a space, not 2 (middleware/valid-token.js)",
            expected="exactly 'JWT <token>'",
            actual=len(parts),
            remedy="Send exactly one space between JWT and the token (and no ?secret_token= without the header)",
        )
    return Pass(expected=2, actual=2)


def _aud_present(ctx: Context) -> Pass:
    if ctx.documented or ctx.claims.get("aud"):
        return Pass(actual=ctx.claims.get("aud"))
    raise Fail(
        "the token has no aud (it verified with the global secret)",
        expected="aud",
        actual=None,
        remedy="Add aud: https://tiledesk.com/projects/<projectId>",
    )


def _project_user(ctx: Context) -> Pass:
    if ctx.project_id is None:
        return Pass(message="generic aud without id_project: no project user")
    if ctx.claims.get("role") in DASHBOARD_ROLES:
        ctx.warnings.append(
            f"role claim {ctx.claims['role']!r}: the real server provisions a dashboard account and answers with a "
            "new server-signed token; the emulator does not emulate that and signs in a visitor (role 'user')"
        )
    user = ctx.state.project_users.get((ctx.project_id, user_key(ctx)))
    if user is not None and user.status != "active":
        raise Fail(f"the project user {user.uuid_user!r} is {user.status}", expected="active", actual=user.status)
    return Pass(expected="new or active", actual=user.status if user else "new")


def user_key(ctx: Context) -> str:
    """The project user's uuid_user: the server's _id, or (documented profile) external_id or email."""
    if ctx.documented:
        return str(ctx.claims.get("external_id") or ctx.claims.get("email"))
    doc = ctx.claims.get("_doc")
    return str(ctx.claims.get("_id") or (doc.get("_id") if isinstance(doc, dict) else ""))


def _check(name: str, run: Any, description: str, remedy: str, error: Answer = UNAUTHORIZED) -> Check[Context, Answer]:
    return Check(name, run, description, remedy, error)


_REMEDY_SIGN = "Sign with the project's current shared secret (POST /<projectId>/keys/generate shows it once)"
PIPELINE: Pipeline[Context, Answer] = Pipeline(
    [
        _check("token_present", _token_present, "Authorization: JWT <token>", 'signInWithCustomToken("JWT " + token)'),
        _check("token_format", _token_format, "a compact JWT", "Send the JWT as jsonwebtoken's sign() returns it"),
        _check(
            "secret_selection",
            _secret_selection,
            "a secret is chosen: the aud project's, or the global one",
            _REMEDY_SIGN,
        ),
        _check("alg", _alg, "alg is HS256, HS384 or HS512", "Sign with HS256 (jsonwebtoken's default)"),
        _check("signature", _signature, "the signature verifies with the chosen secret", _REMEDY_SIGN),
        _check("exp", _exp, "exp, when present (documented: required), has not passed", "Mint a fresh token"),
        _check("nbf", _nbf, "nbf, when present, has passed", "Do not set nbf in the future"),
        _check("iat", _iat, "documented: iat present, within two minutes of clock skew", "Set iat to the current time"),
        _check("lifetime", _lifetime, "documented: exp at most ten minutes after iat", "exp = iat + 600 at the most"),
        _check(
            "user_id", _user_id, "server: _id; documented: external_id (or email)", "Identify the user in the token"
        ),
        _check(
            "header_parts",
            _header_parts,
            "server: the Authorization header splits into exactly two parts",
            "Authorization: JWT <token>",
            Answer(403, errors.VALIDTOKEN_UNAUTHORIZED),
        ),
        _check(
            "aud_present",
            _aud_present,
            "server: a token of the global secret has an aud",
            "Add aud",
            Answer(400, errors.AUD_REQUIRED),
        ),
        _check(
            "project_user_active",
            _project_user,
            "the project user, if it exists, is active",
            "Re-enable the project user",
            Answer(401, errors.PROJECT_USER_NOT_ACTIVE),
        ),
    ]
)
