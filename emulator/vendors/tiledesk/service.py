"""Tiledesk logic: sign in with a custom token, generate (rotate) a project's shared secret, and the follow-on
calls that re-verify the visitor's token against the project's current secret."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from emulator.core.checks import Trace
from emulator.core.jose import hmac_sign
from emulator.core.runtime import Runtime
from emulator.vendors.tiledesk.checks import PIPELINE, Answer, Context, user_key
from emulator.vendors.tiledesk.config import TiledeskSettings
from emulator.vendors.tiledesk.state import Project, ProjectUser, TiledeskState

CHAT21_LIFETIME = 30 * 86400  # [CODE] channels/chat21/nativeauth.js: exp = now + 30 days


@dataclass
class SignIn:
    trace: Trace[Answer]
    context: Context


class TiledeskService:
    def __init__(self, settings: TiledeskSettings, state: TiledeskState, runtime: Runtime) -> None:
        self.settings = settings
        self.state = state
        self.runtime = runtime

    def verify(self, authorization: str | None, secret_token: str | None, id_project: str | None) -> SignIn:
        """The sign-in checks; no side effects (explain runs them too)."""
        ctx = Context(
            state=self.state,
            global_secret=self.settings.global_secret,
            now=self.runtime.clock.now(),
            authorization=authorization,
            secret_token=secret_token,
            id_project=id_project,
        )
        return SignIn(PIPELINE.run(ctx, ctx.warnings), ctx)

    def sign_in(self, verified: SignIn) -> dict[str, Any]:
        """After the checks passed: the server's answer, creating the project user on a first sign-in."""
        ctx = verified.context
        header = ctx.authorization or ""
        if ctx.project is None:  # generic aud without id_project: the header comes back as is
            return {"success": True, "token": header, "user": ctx.claims}
        key = (ctx.project.project_id, user_key(ctx))
        existing = self.state.project_users.get(key)
        user = self.user_of(ctx)
        if existing is None:
            self.state.project_users[key] = ProjectUser(
                ctx.project.project_id,
                key[1],
                str(ctx.claims.get("role", "user")),
                created_at=ctx.now,
                signins=1,
                user=user,
            )
            token = header if "JWT" in header else "JWT " + header
        else:
            existing.signins += 1
            token = header
        return {"success": True, "token": token, "user": user}

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
        """[CODE] /chat21/native/auth/createCustomToken: the MQTT token (HS256, CHAT21_JWT_SECRET, 30 days)."""
        user = self.user_of(ctx)
        user_id = str(user.get("_id") or user.get("id") or "")
        now = int(self.runtime.clock.now())
        claims = {
            "sub": user_id,
            "aud": ["rabbitmq", user_id],
            "iat": now,
            "exp": now + CHAT21_LIFETIME,
            "jti": str(uuid.uuid4()),
        }
        token = hmac_sign(claims, self.settings.chat21_secret.encode(), "HS256", {"typ": "JWT", "kid": "tiledesk-key"})
        first, last = str(user.get("firstname", "")), str(user.get("lastname", ""))
        return {
            "userid": user_id,
            "fullname": f"{first} {last}".strip(),
            "firstname": first,
            "lastname": last,
            "token": token,
        }


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    scheme, _, value = (header or "").strip().partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        username, sep, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (username, password) if sep else None
