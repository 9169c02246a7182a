"""Live Assist (LivePerson-style OpenID Connect): code flow (the emulator calls the brand), implicit flow, expiry.

routes.py   the service endpoints (visitor authentication request, chat request, chat)
checks.py   the authentication pipeline, in order (code exchange, decryption, signature, claims)
brand.py    the calls to the brand: code exchange with its token endpoint, its JWKS
service.py  conversations, resume, expiry, PKCE verifiers, the agent view
sdes.py     claims and lp_sdes mapped to the agent's secure attributes
state.py    connectors (registered) apart from conversations, codes seen, JWKS cache (runtime)
config.py   the [liveassist] section / connector JSON parser
errors.py   the outcomes and the brand's OAuth error values
"""

from __future__ import annotations

from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from emulator.core.http import problem
from emulator.core.runtime import Runtime
from emulator.vendors.base import Vendor
from emulator.vendors.liveassist import errors
from emulator.vendors.liveassist.config import Connector, LiveAssistSettings
from emulator.vendors.liveassist.routes import LiveAssistRoutes
from emulator.vendors.liveassist.sdes import attributes_from
from emulator.vendors.liveassist.service import LiveAssistService
from emulator.vendors.liveassist.state import LiveAssistState


class LiveAssist(Vendor):
    name: ClassVar[str] = "liveassist"
    tenant_noun: ClassVar[str] = "connector"

    def __init__(self, section: dict[str, Any], runtime: Runtime) -> None:
        super().__init__(section, runtime)
        self.settings = LiveAssistSettings.from_section(section)
        self.state = LiveAssistState(self.settings)
        self.service = LiveAssistService(self.settings, self.state, runtime)

    def routes(self) -> list[BaseRoute]:
        return LiveAssistRoutes(self.service).routes()

    # -- tenants (connectors) ---------------------------------------------------------------------------------
    def put_tenant(self, tenant_id: str, body: Any) -> tuple[dict[str, Any], bool]:
        connector = Connector.from_json(tenant_id, body)
        created = connector.account_id not in self.state.connectors
        self.state.connectors[connector.account_id] = connector
        return connector.public_view(), created

    def get_tenant(self, tenant_id: str) -> dict[str, Any] | None:
        connector = self.state.connectors.get(tenant_id)
        return connector.public_view() if connector else None

    def delete_tenant(self, tenant_id: str) -> bool:
        return self.state.connectors.pop(tenant_id, None) is not None

    def list_tenants(self) -> list[dict[str, Any]]:
        return [{"accountId": c.account_id, "flow": c.flow, "issuer": c.issuer} for c in self.state.connectors.values()]

    def public_keys(self) -> dict[str, Any]:
        key = self.settings.encryption_key
        return {
            "vendor": self.name,
            "use": "Encrypt id_tokens to this key (JWE, alg RSA-OAEP-256, enc A256GCM, kid as given): the public key "
            "supplied by Live Assist, here the emulator's TEST-ONLY one",
            **key.public_view(alg="RSA-OAEP-256", use="enc"),
            "certificate": self.settings.certificate_pem,
        }

    async def explain(self, tenant_id: str, token: Any) -> dict[str, Any]:
        """The id_token checks (never the code exchange: a code is single-use at the brand)."""
        auth = await self.service.verify(tenant_id, token, exchange=False)
        if auth.trace.ok:
            attributes = attributes_from(auth.context.claims)
            auth.trace.warnings.extend(f"{d['field']} dropped: {d['why']}" for d in attributes.dropped)
        report = auth.report()
        if auth.trace.ok:
            report["secureAttributes"], report["dropped"] = attributes.view(), attributes.dropped
        report["vendorResponse"] = (
            {"participantId": "<issued on a real request>", "conversationId": "<issued on a real request>"}
            if auth.trace.ok
            else {"status": 401, "body": errors.AUTHENTICATION_FAILED}
        )
        return report

    def reset(self) -> None:
        self.state.reset()

    # -- vendor-specific control plane ------------------------------------------------------------------------
    def control_routes(self) -> list[BaseRoute]:
        return [
            Route("/agent/liveassist/{conversation_id}", self._agent, methods=["GET"]),
            Route("/pkce/liveassist/{account_id}", self._pkce, methods=["GET"]),
        ]

    async def _agent(self, request: Request) -> Response:
        conversation = self.state.conversations.get(request.path_params["conversation_id"])
        if conversation is None:
            return problem(404, "no such conversation (never authenticated, or the emulator was reset)")
        return JSONResponse(self.service.agent_view(conversation))

    async def _pkce(self, request: Request) -> Response:
        """What the Live Assist SDK hands the page's JS method with PKCE: the code_challenge (S256) of the verifier
        the service will send at the code exchange. Keyed by the visitor's LETagSessionId."""
        session = request.query_params.get("sessionId")
        if not session:
            return problem(400, "sessionId (the visitor's LETagSessionId) is required")
        account = request.path_params["account_id"]
        return JSONResponse(
            {
                "accountId": account,
                "sessionId": session,
                "codeChallenge": self.service.code_challenge(account, session),
                "codeChallengeMethod": "S256",
            }
        )
