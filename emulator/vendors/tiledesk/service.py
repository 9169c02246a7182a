"""Tiledesk logic: sign in with a custom token, generate (rotate) a project's shared secret, and the follow-on
calls that re-verify the visitor's token against the project's current secret."""

from __future__ import annotations

import base64
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from emulator.core.checks import Trace
from emulator.core.jose import hmac_sign
from emulator.core.runtime import Runtime
from emulator.vendors.tiledesk import errors
from emulator.vendors.tiledesk.checks import DASHBOARD_ROLES, PIPELINE, Answer, Context, user_key
from emulator.vendors.tiledesk.config import TiledeskSettings
from emulator.vendors.tiledesk.state import Project, ProjectUser, TiledeskState

CHAT21_LIFETIME = 30 * 86400  # [CODE] channels/chat21/nativeauth.js: exp = now + 30 days


BASIC_CHALLENGE = 'Basic realm="Users"'  # passport-http BasicStrategy's default realm
ROUTE_CHECKS = frozenset({"header_parts", "aud_present", "project_user_active"})  # after passport, per route
ROLES = {  # [CODE] middleware/has-role.js: the roles each role includes
    "guest": ("guest",),
    "user": ("guest", "user"),
    "teammate": ("guest", "user", "teammate"),
    "agent": ("guest", "user", "teammate", "agent"),
    "supervisor": ("guest", "user", "teammate", "agent", "supervisor"),
    "admin": ("guest", "user", "teammate", "agent", "supervisor", "admin"),
    "owner": ("guest", "user", "teammate", "agent", "supervisor", "admin", "owner"),
}


@dataclass
class SignIn:
    trace: Trace[Answer]
    context: Context


@dataclass
class Caller:
    """Who passport authenticated on keys/generate: a project admin (Basic) or a token's user (JWT), or nobody."""

    via: str  # "basic" | "jwt" | "none"
    username: str | None
    administered: list[str] = field(default_factory=list)
    context: Context | None = None
    refusal: Answer | None = None
    why: str = ""
    remedy: str = ""


@dataclass
class RoleRefusal:
    answer: Answer
    why: str
    remedy: str


class TiledeskService:
    def __init__(self, settings: TiledeskSettings, state: TiledeskState, runtime: Runtime) -> None:
        self.settings = settings
        self.state = state
        self.runtime = runtime

    def verify(
        self,
        authorization: str | None,
        secret_token: str | None,
        id_project: str | None,
        body_id_project: str | None = None,
    ) -> SignIn:
        """The sign-in checks; no side effects (explain runs them too)."""
        ctx = Context(
            state=self.state,
            global_secret=self.settings.global_secret,
            now=self.runtime.clock.now(),
            authorization=authorization,
            secret_token=secret_token,
            id_project=id_project,
            body_id_project=body_id_project,
        )
        return SignIn(PIPELINE.run(ctx, ctx.warnings), ctx)

    def answer(self, ctx: Context) -> dict[str, Any]:
        """The server's answer to a sign-in that passed the checks, without side effects (explain predicts it):
        [CODE] routes/auth.js returns the Authorization header as the token, prefixed with "JWT " only when it
        creates the project user and the header lacks "JWT" (a case-sensitive indexOf)."""
        header = ctx.authorization or ""
        if ctx.project_id is None:  # generic aud without id_project: the header comes back as is
            return {"success": True, "token": header, "user": ctx.claims}
        first = (ctx.project_id, user_key(ctx)) not in self.state.project_users
        token = "JWT " + header if first and "JWT" not in header else header
        return {"success": True, "token": token, "user": self.user_of(ctx)}

    def sign_in(self, verified: SignIn) -> dict[str, Any]:
        """After the checks passed: the server's answer, creating the project user on a first sign-in."""
        ctx = verified.context
        body = self.answer(ctx)
        if ctx.project_id is None:
            return body
        key = (ctx.project_id, user_key(ctx))
        existing = self.state.project_users.get(key)
        if existing is None:
            self.state.project_users[key] = ProjectUser(
                ctx.project_id,
                key[1],
                project_role(ctx.claims.get("role")),
                created_at=ctx.now,
                signins=1,
                user=body["user"],
            )
        else:
            existing.signins += 1
        return body

    @staticmethod
    def user_of(ctx: Context) -> dict[str, Any]:
        """The server returns the raw payload. For a widget-docs token the emulator also fills the fields the
        widget's UserModel reads (_id, firstname, lastname), from external_id and name."""
        if not ctx.documented:
            return dict(ctx.claims)
        first, _, last = str(ctx.claims.get("name", "")).partition(" ")
        extra = {"_id": user_key(ctx), "firstname": first, "lastname": last}
        return {**extra, **ctx.claims}

    # -- keys/generate -------------------------------------------------------------------------------------------
    def administered(self, username: str, password: str) -> list[str]:
        """The projects whose admin these credentials are."""
        return [
            p.project_id
            for p in self.state.projects.values()
            if any(a.username == username and a.check(password) for a in p.settings.admins)
        ]

    def authenticate(self, header: str | None, secret_token: str | None) -> Caller:
        """passport.authenticate(['basic', 'jwt']): Basic first, then the JWT strategy (the sign-in checks up to
        the route's own). When both fail passport answers the first failure's status: 400 "Bad Request" when
        Basic failed that way, else 401 "Unauthorized" (with Basic's challenge, added by the route)."""
        basic = passport_basic(header)
        failures: list[str] = []
        username = None
        if isinstance(basic, tuple):
            username = basic[0]
            administered = self.administered(*basic)
            if administered:
                return Caller("basic", username, administered=administered)
            failures.append(f"basic: no project admin {username!r} with this password")
        elif basic == "bad request":
            failures.append("basic: a single word, or base64 without 'user:password' (passport-http answers 400)")
        else:
            failures.append("basic: no 'Basic <base64(user:password)>' header")
        verified = self.verify(header, secret_token, None)
        failed = verified.trace.failed
        if failed is None or failed.name in ROUTE_CHECKS:
            ctx = verified.context
            return Caller("jwt", user_key(ctx), context=ctx)
        failures.append(f"jwt: {failed.name}: {failed.message}")
        status = 400 if basic == "bad request" else 401
        return Caller(
            "none",
            username,
            refusal=Answer(status, errors.BAD_REQUEST_TEXT if status == 400 else errors.UNAUTHORIZED_TEXT),
            why="; ".join(failures),
            remedy="curl -u <admin email>:<password> -X POST .../<projectId>/keys/generate",
        )

    def role_refusal(self, caller: Caller, project_id: str) -> RoleRefusal | None:
        """roleChecker.hasRole('agent') on the path's project."""
        if caller.via == "basic":
            if project_id in caller.administered:
                return None
            return RoleRefusal(
                Answer(403, errors.NOT_IN_PROJECT),
                f"{caller.username!r} administers {caller.administered}, not {project_id}",
                "Only the project's Chat administrators may generate its secret",
            )
        ctx = caller.context
        assert ctx is not None
        user = None
        if ctx.documented or ctx.claims.get("sub") in ("userexternal", "guest"):  # looked up by uuid_user
            user = self.state.project_users.get((project_id, caller.username or ""))
        if user is None or user.status != "active":
            return RoleRefusal(
                Answer(403, errors.NOT_IN_PROJECT),
                f"the token's user {caller.username!r} has no active project user in {project_id}",
                "Generate the secret with a project admin's credentials (HTTP Basic)",
            )
        if "agent" not in ROLES.get(user.role, ()):
            return RoleRefusal(
                Answer(403, errors.ROLE_REQUIRED),
                f"the token's user {caller.username!r} is a project {user.role!r}: keys/generate needs agent or above",
                "Generate the secret with a project admin's credentials (HTTP Basic)",
            )
        return None

    def generate_secret(self, project: Project) -> dict[str, str]:
        """[CODE] routes/key.js: a new UUID v4 secret (overwriting the old one) and a new RSA pair, shown once."""
        # node-rsa {b: 256} in the real server; 1024 is the smallest cryptography makes. Returned once, never used.
        key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        secret = str(uuid.uuid4())
        project.rotate(secret, self.runtime.clock.now())
        return {"publicKey": public.decode().strip(), "privateKey": private.decode().strip(), "jwtSecret": secret}

    # -- the follow-on call that re-verifies the visitor's token -------------------------------------------------
    def chat21_token(self, ctx: Context) -> dict[str, Any]:
        """[CODE] channels/chat21/nativeauth.js: the MQTT token RabbitMQ's JWT plugin reads (HS256 with
        CHAT21_JWT_SECRET, 30 days, the claims in the server's order, kid in the payload, jsonwebtoken's header),
        and the user as UserUtil.decorateUser left it (fullName is firstname + " " + lastname, unstripped)."""
        user = self.user_of(ctx)
        user_id = user.get("_id")
        if user_id is None and isinstance(user.get("_doc"), dict):
            user_id = user["_doc"].get("_id")
        now = round(self.runtime.clock.now())
        app = "tilechat"
        claims = {
            "jti": str(uuid.uuid4()),
            "sub": user_id,
            "scope": [
                f"rabbitmq.read:*/*/apps.{app}.users.{user_id}.*",
                f"rabbitmq.write:*/*/apps.{app}.users.{user_id}.*",
                f"rabbitmq.write:*/*/apps.{app}.outgoing.users.{user_id}.*",
                "rabbitmq.configure:*/*/*",
            ],
            "client_id": user_id,
            "cid": user_id,
            "azp": user_id,
            "user_id": user_id,
            "app_id": app,
            "iat": now,
            "exp": now + CHAT21_LIFETIME,
            "aud": ["rabbitmq", user_id],
            "kid": "tiledesk-key",
            "tiledesk_api_roles": "user",
        }
        token = hmac_sign(claims, self.settings.chat21_secret.encode(), "HS256", {"typ": "JWT"})
        first, last = user.get("firstname"), user.get("lastname")
        body = {
            "userid": user_id,
            "fullname": f"{_js_or_empty(first)} {_js_or_empty(last)}",
            "firstname": first,
            "lastname": last,
            "token": token,
        }
        return {k: v for k, v in body.items() if v is not None}  # JSON.stringify drops undefined


def project_role(claim: Any) -> str:
    """The visitor's Project_user role: 'user', or the token's role claim (routes/auth.js). The dashboard roles
    take the agent-provisioning path there, which is not emulated: those visitors stay 'user'."""
    if not isinstance(claim, str) or not claim or claim in DASHBOARD_ROLES:
        return "user"
    return claim


def passport_basic(header: str | None) -> tuple[str, str] | str | None:
    """passport-http's BasicStrategy on the Authorization header: (username, password); or "bad request" when it
    fails with 400 (a single word, or base64 without a colon); or None when it fails with its challenge."""
    if not header:
        return None
    parts = header.split(" ")
    if len(parts) < 2:
        return "bad request"
    if not re.search("basic", parts[0], re.IGNORECASE):  # /Basic/i.test(scheme): unanchored
        return None
    userpass = _node_base64(parts[1])
    if ":" not in userpass:
        return "bad request"
    username, _, password = userpass.partition(":")
    return username, password


def _node_base64(text: str) -> str:
    """Buffer.from(text, 'base64').toString(): lenient (base64url accepted, other characters skipped, decoding
    stops at '='), invalid UTF-8 replaced."""
    alphabet = re.sub(r"[^A-Za-z0-9+/\-_=]", "", text).translate(str.maketrans("-_", "+/")).split("=", 1)[0]
    alphabet = alphabet[: len(alphabet) - (len(alphabet) % 4 == 1)]  # a lone trailing sextet carries no byte
    return base64.b64decode(alphabet + "=" * (-len(alphabet) % 4)).decode("utf-8", errors="replace")


def _js_or_empty(value: Any) -> str:
    """JavaScript's ``(value || '')`` inside a string concatenation, for the JSON values a claim can hold."""
    if value is None or value is False or value == "" or value == 0:
        return ""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else repr(value)
    if isinstance(value, list):
        return ",".join("" if v is None else _js_or_empty(v) for v in value)
    return "[object Object]"
