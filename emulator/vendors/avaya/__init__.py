"""Avaya Experience Platform: access tokens, the Generate JWT Token API, and the Chat SDK's endpoints.

routes.py      the brand backend's APIs (access token, generate JWT)
sdk.py         the Chat SDK's REST surface; chat.py its logic (sessions, long poll, engagements, echo agent)
checks.py      the pipelines (access token, generate JWT, chat JWT); validation.py the token body rules
service.py     tokens: access tokens, chat JWT issue and verification
state.py       accounts (registered) apart from sessions, engagements and events (runtime)
config.py      the [avaya] section / tenant JSON parser
errors.py      every problem body, verbatim, with its source
"""

from __future__ import annotations

from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from emulator.config import ConfigError
from emulator.core.http import json_body, problem
from emulator.core.runtime import Runtime
from emulator.vendors.avaya.chat import ChatService
from emulator.vendors.avaya.config import Account, AvayaSettings, parse_integration_name
from emulator.vendors.avaya.routes import BackendRoutes
from emulator.vendors.avaya.sdk import SdkRoutes
from emulator.vendors.avaya.service import AvayaService
from emulator.vendors.avaya.state import AvayaState
from emulator.vendors.base import Vendor


class Avaya(Vendor):
    name: ClassVar[str] = "avaya"
    hosts: ClassVar[tuple[str, ...]] = ("{region}.api.avayacloud.com", "{region}.cc.avayacloud.com")
    tenant_noun: ClassVar[str] = "account"

    def __init__(self, section: dict[str, Any], runtime: Runtime) -> None:
        super().__init__(section, runtime)
        self.settings = AvayaSettings.from_section(section)
        self.state = AvayaState(self.settings)
        self.service = AvayaService(self.settings, self.state, runtime)
        self.chat = ChatService(self.settings, self.state, runtime)

    def routes(self) -> list[BaseRoute]:
        return [*BackendRoutes(self.service).routes(), *SdkRoutes(self.service, self.chat).routes()]

    # -- tenants (accounts) ---------------------------------------------------------------------------------
    def put_tenant(self, tenant_id: str, body: Any) -> tuple[dict[str, Any], bool]:
        account = Account.from_json(tenant_id, body)
        created = self.state.put_account(account)
        return account.public_view(), created

    def get_tenant(self, tenant_id: str) -> dict[str, Any] | None:
        account = self.state.accounts.get(tenant_id)
        return account.public_view() if account else None

    def delete_tenant(self, tenant_id: str) -> bool:
        return self.state.accounts.pop(tenant_id, None) is not None

    def list_tenants(self) -> list[dict[str, Any]]:
        return [{"accountId": a.account_id, "integrations": list(a.integrations)} for a in self.state.accounts.values()]

    def public_keys(self) -> dict[str, Any]:
        key = self.settings.signing_key
        return {
            "vendor": self.name,
            "use": "Verifies the chat JWTs the emulator issues (RS256; strip the 'jwt.' prefix first). An emulator extra.",
            **key.public_view(alg="RS256", use="sig"),
        }

    def explain(self, tenant_id: str, token: Any) -> dict[str, Any]:
        trace, ctx = self.service.explain(tenant_id, token)
        report = trace.to_dict()
        report["decoded"] = {"jwsHeader": ctx.jws.header if ctx.jws else None, "claims": ctx.claims or None}
        report["now"] = ctx.now
        if trace.ok:
            report["vendorResponse"] = "accepted by the Chat SDK endpoints"
        else:
            assert trace.error is not None  # a failed check always sets it
            report["vendorResponse"] = trace.error(ctx)
        return report

    def reset(self) -> None:
        self.state.reset()

    # -- vendor-specific control plane ------------------------------------------------------------------------
    def control_routes(self) -> list[BaseRoute]:
        return [
            Route("/tenants/avaya/{account_id}/integrations", self._create_integration, methods=["POST"]),
            Route("/chats/avaya", self._chats, methods=["GET"]),
        ]

    async def _create_integration(self, request: Request) -> Response:
        account = self.state.accounts.get(request.path_params["account_id"])
        if account is None:
            return problem(404, f"no avaya account {request.path_params['account_id']!r}")
        body = await json_body(request, 16 * 1024)
        try:
            name = parse_integration_name(body)
        except ConfigError as exc:
            return problem(400, str(exc))
        updated, integration_id = account.with_integration(name)
        self.state.accounts[account.account_id] = updated
        return JSONResponse({"integrationId": integration_id, "name": name}, status_code=201)

    async def _chats(self, request: Request) -> Response:
        """Emulator-only view of the chat runtime: sessions, their pending events, engagements and messages."""
        sessions = [
            {
                "sessionId": s.session_id,
                "customer": list(s.customer),
                "pendingEvents": len(s.events),
                "deliveredEvents": s.delivered,
            }
            for s in self.state.sessions.values()
        ]
        engagements = [
            {
                **e.view(),
                "customer": list(e.customer),
                "status": e.status,
                "sessions": sorted(e.sessions),
                "messages": [m.view() for m in e.messages],
            }
            for e in self.state.engagements.values()
        ]
        return JSONResponse({"sessions": sessions, "engagements": engagements})
