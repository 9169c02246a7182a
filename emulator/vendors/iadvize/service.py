"""iAdvize logic: verify credentials, issue visitor sessions, and the operator (GraphQL API) login.

Pure of HTTP: routes.py and schema.py parse requests and shape answers; this module decides.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from emulator.core.checks import Trace
from emulator.core.jose import jws_sign
from emulator.core.opaque import OpaqueTokenError
from emulator.core.runtime import Runtime
from emulator.vendors.iadvize.checks import PIPELINE, USER_ID, VISITOR_DATA, Context
from emulator.vendors.iadvize.config import IAdvizeSettings, Operator, Project
from emulator.vendors.iadvize.errors import GraphQLFailure
from emulator.vendors.iadvize.state import IAdvizeState, VisitorProfile

OPERATOR_TOKEN_KIND = "iadvize-operator"  # noqa: S105 - a salt name, not a secret
OPERATOR_TOKEN_LIFETIME = 86400  # [DOC] "temporary tokens that have a 24-hour lifetime"; expires_in 86400
CLAIM_VUID = "https://iadvize.com/vuid"
CLAIM_PROFILE = "https://iadvize.com/visitorProfileId"
CLAIM_JID = "https://iadvize.com/jid"
CLAIM_WEBSITE = "https://iadvize.com/websiteId"


@dataclass
class Verification:
    trace: Trace[GraphQLFailure]
    context: Context

    @property
    def ok(self) -> bool:
        return self.trace.ok

    def report(self) -> dict[str, Any]:
        """The trace plus what was decoded: the explain endpoint's and the journal's view."""
        ctx = self.context
        data = self.trace.to_dict()
        data["decoded"] = {
            "jweHeader": ctx.jwe.header if ctx.jwe else None,
            "jwsHeader": ctx.jws.header if ctx.jws else None,
            "claims": ctx.claims or None,
            "signedBy": ctx.signer.kid if ctx.signer else None,
        }
        data["now"] = ctx.now
        return data


@dataclass
class Session:
    access_token: str
    claims: dict[str, Any]
    profile: VisitorProfile


class IAdvizeService:
    def __init__(self, settings: IAdvizeSettings, state: IAdvizeState, runtime: Runtime) -> None:
        self.settings = settings
        self.state = state
        self.runtime = runtime

    # -- visitor authentication -------------------------------------------------------------------------
    def verify(self, project_id: str, credentials: Any) -> Verification:
        """Run the credentials pipeline. No side effects: explain calls this too."""
        ctx = Context(
            project_id=str(project_id),
            token=credentials,
            now=self.runtime.clock.now(),
            project=self.state.projects.get(str(project_id)),
            emulator_key=self.settings.emulator_key,
            max_token_bytes=self.runtime.settings.max_token_bytes,
        )
        return Verification(PIPELINE.run(ctx, ctx.warnings), ctx)

    def open_authenticated_session(self, verification: Verification, current_vuid: str | None) -> Session:
        ctx = verification.context
        assert verification.ok and ctx.project is not None
        profile = self.state.authenticated_profile(ctx.project.project_id, ctx.claims[USER_ID], ctx.now)
        data = ctx.claims.get(VISITOR_DATA)
        if isinstance(data, dict):
            profile.visitor_data.update(data)
        return self._session(ctx.project, current_vuid or new_vuid(), profile)

    def open_anonymous_session(self, project: Project, vuid: str | None) -> Session:
        vuid = vuid or new_vuid()
        profile = self.state.anonymous_profile(project.project_id, vuid, self.runtime.clock.now())
        return self._session(project, vuid, profile)

    def _session(self, project: Project, vuid: str, profile: VisitorProfile) -> Session:
        now = int(self.runtime.clock.now())
        claims = {
            CLAIM_VUID: vuid,
            CLAIM_PROFILE: profile.profile_id,
            CLAIM_JID: f"{vuid}@visitor.iadvize.emulator",
            CLAIM_WEBSITE: int(project.project_id),
            "iss": self.settings.session_issuer,
            "iat": now,
            "exp": now + int(project.session_lifetime),
        }
        key = self.settings.emulator_key
        token = jws_sign(claims, key, "RS256", headers={"kid": key.kid})
        profile.saw(vuid, float(now))
        return Session(token, claims, profile)

    # -- operators (the GraphQL API's own OAuth2 password grant) ------------------------------------------
    def login(self, username: str, password: str) -> str | None:
        operator = self.state.operators.get(username)
        if operator is None or not operator.check(password):
            return None
        return self.runtime.opaque.issue(OPERATOR_TOKEN_KIND, {"u": operator.username})

    def operator_from_header(self, authorization: str | None) -> tuple[Operator | None, str]:
        """The operator a ``Bearer`` header authenticates, or None and why not."""
        if not authorization:
            return (
                None,
                "no Authorization header (the operation needs 'Authorization: Bearer <access_token>')",
            )
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None, f"the Authorization header is not 'Bearer <token>' (scheme {scheme!r})"
        try:
            payload = self.runtime.opaque.verify(OPERATOR_TOKEN_KIND, token.strip(), OPERATOR_TOKEN_LIFETIME)
        except OpaqueTokenError as exc:
            return None, exc.explain("the access token", OPERATOR_TOKEN_LIFETIME)
        username = payload.get("u") if isinstance(payload, dict) else None
        operator = self.state.operators.get(username) if isinstance(username, str) else None
        if operator is None:
            return None, f"the access token's user {username!r} no longer exists"
        return operator, "ok"


def new_vuid() -> str:
    return uuid.uuid4().hex
