"""Dixa logic: visitor sessions, identity changes with their rules, and the conversation gate.

Rules (seed 004 and research §B): an identity moves only upward (anonymous < claim < verified) through a
successful set; a failed attempt never demotes; a demotion is refused; purge returns to anonymous. A bad email
(claimed, or in a verified token) is ``invalid-email-address`` and blocks new conversations until a valid identity
is set. Starting a conversation needs the messenger's minimum level.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from emulator.core.checks import Trace
from emulator.core.runtime import Runtime
from emulator.vendors.dixa import errors
from emulator.vendors.dixa.checks import EMAIL, PIPELINE, Context
from emulator.vendors.dixa.config import Messenger
from emulator.vendors.dixa.state import LEVEL_OF_SETTING, RANK, DixaState, VisitorSession


@dataclass
class Outcome:
    """The result of an identity change: ``error`` is the BackendError (or emulator error) when refused."""

    status: int
    error: dict[str, Any] | None = None
    check: str | None = None
    message: str = ""
    remedy: str = ""
    trace: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)


class DixaService:
    def __init__(self, state: DixaState, runtime: Runtime) -> None:
        self.state = state
        self.runtime = runtime

    def verify(self, messenger: Messenger, token: Any) -> tuple[Trace[Any], Context]:
        """The verified-token checks; no side effects (the jti is only recorded by set_identity)."""
        ctx = Context(self.state, messenger, token, self.runtime.clock.now(), self.runtime.settings.max_token_bytes)
        return PIPELINE.run(ctx, ctx.warnings), ctx

    def new_session(self, messenger: Messenger) -> VisitorSession:
        session = VisitorSession(str(uuid.uuid4()), messenger.token)
        session.history.append({"at": self.runtime.clock.now(), "event": "session", "identity": "anonymous"})
        self.state.sessions[session.session_id] = session
        return session

    def set_identity(self, messenger: Messenger, session: VisitorSession, identity: Any) -> Outcome:
        if not isinstance(identity, dict) or identity.get("type") not in ("anonymous", "claim", "claimed", "verified"):
            return Outcome(
                400,
                errors.emulator_error(
                    "invalid-payload", "userIdentity must be {type: 'anonymous' | 'claim' | 'verified', ...}"
                ),
                "identity_shape",
                f"unknown userIdentity {identity!r}",
            )
        kind = "claim" if identity["type"] == "claimed" else identity["type"]
        if RANK[kind] < RANK[session.identity]:
            message = f"the visitor is {session.identity}: an identity can only be promoted, never demoted ({kind})"
            remedy = "Purge the identity first (DELETE .../identity, the widget's purgeUserIdentity)"
            return Outcome(
                409,
                errors.emulator_error("demotion-refused", message, identity=session.identity),
                "promotion_only",
                message,
                remedy,
            )
        if kind == "anonymous":
            return Outcome(200, message="already anonymous")
        if kind == "claim":
            return self._claim(session, identity)
        return self._verified(messenger, session, identity)

    def _claim(self, session: VisitorSession, identity: dict[str, Any]) -> Outcome:
        name, email = identity.get("name"), identity.get("email")
        if not isinstance(email, str) or not EMAIL.fullmatch(email):
            session.invalid_email = email if isinstance(email, str) else ""
            return Outcome(
                400,
                errors.invalid_email(email),
                "email_valid",
                f"email {email!r} is not a valid address",
                "Use a valid email address",
            )
        if not isinstance(name, str) or not name.strip():
            return Outcome(
                400, dict(errors.UNKNOWN_ERROR), "claim_name", "the claim has no name", "Give the claimed name"
            )
        warnings = []
        if session.identity == "claim" and (session.user.get("name"), session.user.get("email")) != (name, email):
            warnings.append(
                f"a changed claimed name or email starts over: {len(session.conversations)} earlier conversation(s) wiped, as the mobile SDKs do"
            )
            session.conversations.clear()
        self._promote(session, "claim", {"name": name, "email": email})
        return Outcome(200, warnings=warnings)

    def _verified(self, messenger: Messenger, session: VisitorSession, identity: dict[str, Any]) -> Outcome:
        payload = identity.get("payload")
        token = payload.get("token") if isinstance(payload, dict) and payload.get("type") == "jwe" else None
        trace, ctx = self.verify(messenger, token)
        report = {**trace.to_dict(), "claims": ctx.claims or None, "keyId": ctx.key_id}
        if not trace.ok:
            failed = trace.failed
            assert failed is not None
            if failed.name == "email_valid":
                session.invalid_email = ctx.claims.get("email", "")
                error = errors.invalid_email(ctx.claims.get("email"))
            else:
                error = dict(errors.UNKNOWN_ERROR)
            return Outcome(400, error, failed.name, failed.message, failed.remedy, report, ctx.warnings)
        claims = ctx.claims
        self.state.replay[(messenger.token, claims["jti"])] = ctx.now
        user = {"name": claims["name"], "email": claims["email"], "trusted": True}
        external = claims.get("external_id")
        if external is None and session.user.get("email") == claims["email"]:
            external = session.user.get("external_id")  # [DOC] "It will be persisted on the dixa user"
        if isinstance(external, str):
            user["external_id"] = external
        self._promote(session, "verified", user)
        return Outcome(200, trace=report, warnings=ctx.warnings)

    def _promote(self, session: VisitorSession, identity: str, user: dict[str, Any]) -> None:
        session.identity, session.user, session.invalid_email = identity, user, None
        session.history.append({"at": self.runtime.clock.now(), "event": "identity", "identity": identity})

    def purge(self, session: VisitorSession) -> None:
        session.identity, session.user, session.invalid_email = "anonymous", {}, None
        session.history.append({"at": self.runtime.clock.now(), "event": "purged", "identity": "anonymous"})

    def gate(self, messenger: Messenger, session: VisitorSession) -> Outcome:
        """May this visitor start a conversation?"""
        if session.invalid_email is not None:
            message = f"the last identity had an invalid email ({session.invalid_email!r}): set a valid identity first"
            return Outcome(
                403,
                errors.invalid_email(session.invalid_email),
                "valid_identity",
                message,
                "Set an identity with a valid email",
            )
        needed = LEVEL_OF_SETTING[messenger.min_level]
        if RANK[session.identity] < RANK[needed]:
            more: dict[str, Any] = {"minIdentificationLevel": messenger.min_level, "identity": session.identity}
            if needed == "claim":
                more["view"] = "IdentityClaimModal"
                message = (
                    "the messenger requires a claimed identity: the widget shows the claim form (IdentityClaimModal)"
                )
            else:
                message = "the messenger requires a verified identity: the brand must set one (a JWE) first"
            error = errors.emulator_error("identification-required", message, **more)
            return Outcome(403, error, "minimum_level", message, "Set the identity the messenger requires")
        return Outcome(201)

    def can_start(self, messenger: Messenger, session: VisitorSession) -> bool:
        return self.gate(messenger, session).status == 201
