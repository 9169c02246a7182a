"""Dixa Messenger: anonymous, claimed and verified (JWE, alg dir, A256CBC-HS512) identities and their rules.

routes.py   the visitor API (sessions, identity, purge, conversations): the emulator's design
checks.py   the verified-token pipeline, in order
service.py  the identity rules (promotion only, invalid email blocks, minimum level)
state.py    messengers (registered) apart from sessions and the jti replay store (runtime)
config.py   the [dixa] section / messenger JSON parser (64-byte keys)
errors.py   BackendError, and the emulator's errors beside it
mint.py     brand-side JWE minting for offline work
"""

from __future__ import annotations

import secrets
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from emulator.core.runtime import Runtime
from emulator.vendors.base import Vendor
from emulator.vendors.dixa.config import KEY_BYTES, DixaSettings, Messenger, encode_key
from emulator.vendors.dixa.routes import DixaRoutes
from emulator.vendors.dixa.service import DixaService
from emulator.vendors.dixa.state import DixaState


class Dixa(Vendor):
    name: ClassVar[str] = "dixa"
    tenant_noun: ClassVar[str] = "messenger"

    def __init__(self, section: dict[str, Any], runtime: Runtime) -> None:
        super().__init__(section, runtime)
        self.settings = DixaSettings.from_section(section)
        self.state = DixaState(self.settings)
        self.service = DixaService(self.state, runtime)

    def routes(self) -> list[BaseRoute]:
        return DixaRoutes(self.service).routes()

    def put_tenant(self, tenant_id: str, body: Any) -> tuple[dict[str, Any], bool]:
        """Register or replace a messenger. Without ``keys`` a key is generated and returned once, as Dixa's
        settings page does. Sessions and the replay store stay (configuration is not runtime state)."""
        generated = secrets.token_bytes(KEY_BYTES) if isinstance(body, dict) and body.get("keys") is None else None
        messenger = Messenger.from_json(tenant_id, body, generated=generated)
        created = messenger.token not in self.state.messengers
        self.state.messengers[messenger.token] = messenger
        view = messenger.view()
        if generated is not None:
            view["generatedKey"] = encode_key(generated)
        return view, created

    def get_tenant(self, tenant_id: str) -> dict[str, Any] | None:
        messenger = self.state.messengers.get(tenant_id)
        return messenger.view() if messenger else None

    def delete_tenant(self, tenant_id: str) -> bool:
        """Remove the messenger and what its visitors did (sessions, used jtis): a new one is a new messenger."""
        if self.state.messengers.pop(tenant_id, None) is None:
            return False
        self.state.sessions = {k: s for k, s in self.state.sessions.items() if s.messenger != tenant_id}
        self.state.replay = {k: t for k, t in self.state.replay.items() if k[0] != tenant_id}
        return True

    def list_tenants(self) -> list[dict[str, Any]]:
        return [m.view() for m in self.state.messengers.values()]

    def public_keys(self) -> dict[str, Any]:
        return {
            "vendor": self.name,
            "keys": [],
            "use": "Dixa encrypts with shared 64-byte keys: they are shown once (generatedKey) and never served again",
        }

    def explain(self, tenant_id: str, token: Any) -> dict[str, Any]:
        messenger = self.state.messengers.get(tenant_id)
        if messenger is None:
            return {
                "ok": False,
                "failedCheck": "messenger_known",
                "summary": f"no messenger {tenant_id!r}",
                "checks": [],
            }
        trace, ctx = self.service.verify(messenger, token)
        report = trace.to_dict()
        report["decoded"] = {
            "header": ctx.compact.header if ctx.compact else None,
            "claims": ctx.claims or None,
            "keyId": ctx.key_id,
        }
        failed = trace.failed
        error = (
            {"type": "invalid-email-address", "email": ctx.claims.get("email")}
            if failed and failed.name == "email_valid"
            else {"type": "unknown-error"}
        )
        report["vendorResponse"] = {"identity": "verified"} if trace.ok else {"error": error}
        return report

    def reset(self) -> None:
        self.state.reset()

    def control_routes(self) -> list[BaseRoute]:
        return [Route("/sessions/dixa", self._sessions, methods=["GET"])]

    async def _sessions(self, request: Request) -> Response:
        """What the agent sees of each visitor: identity, name, email, trusted, external_id; plus the history."""
        wanted = request.query_params.get("messengerToken")
        sessions = [
            {
                **s.view(),
                "messengerToken": s.messenger,
                "invalidEmail": s.invalid_email,
                "conversations": s.conversations,
                "history": s.history,
            }
            for s in self.state.sessions.values()
            if wanted is None or s.messenger == wanted
        ]
        return JSONResponse({"sessions": sessions})
