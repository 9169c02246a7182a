"""Tiledesk: custom-token sign-in with a per-project shared secret, its rotation, and two profiles.

routes.py   signinWithCustomToken, chat21 createCustomToken, keys/generate (each also under /v3)
checks.py   the sign-in pipeline, for the documented and the server profile
service.py  sign-in answers, project users, secret generation, the chat21 token
state.py    projects and their current secret (registered) apart from project users (runtime)
config.py   the [tiledesk] section / project JSON parser
errors.py   the server's answers, verbatim
mint.py     brand-side token minting for offline work
"""

from __future__ import annotations

from typing import Any, ClassVar

from starlette.routing import BaseRoute

from emulator.core.runtime import Runtime
from emulator.vendors.base import Vendor
from emulator.vendors.tiledesk.config import ProjectSettings, TiledeskSettings
from emulator.vendors.tiledesk.routes import TiledeskRoutes
from emulator.vendors.tiledesk.service import TiledeskService
from emulator.vendors.tiledesk.state import Project, TiledeskState


class Tiledesk(Vendor):
    name: ClassVar[str] = "tiledesk"
    hosts: ClassVar[tuple[str, ...]] = ("api.tiledesk.com",)
    tenant_noun: ClassVar[str] = "project"

    def __init__(self, section: dict[str, Any], runtime: Runtime) -> None:
        super().__init__(section, runtime)
        self.settings = TiledeskSettings.from_section(section)
        self.state = TiledeskState(self.settings)
        self.service = TiledeskService(self.settings, self.state, runtime)

    def routes(self) -> list[BaseRoute]:
        return TiledeskRoutes(self.service).routes()

    def put_tenant(self, tenant_id: str, body: Any) -> tuple[dict[str, Any], bool]:
        """Register or replace a project's profile and admins. Its shared secret, if one was generated, stays:
        replacing settings is not rotating the secret the brand copied."""
        settings = ProjectSettings.from_json(tenant_id, body, allow_secret=False)
        existing = self.state.projects.get(tenant_id)
        if existing is None:
            self.state.projects[tenant_id] = Project(settings, None)
            return self.state.projects[tenant_id].view(), True
        existing.settings = settings
        return existing.view(), False

    def get_tenant(self, tenant_id: str) -> dict[str, Any] | None:
        project = self.state.projects.get(tenant_id)
        return project.view() if project else None

    def delete_tenant(self, tenant_id: str) -> bool:
        removed = self.state.projects.pop(tenant_id, None) is not None
        for key in [k for k in self.state.project_users if k[0] == tenant_id]:
            del self.state.project_users[key]
        return removed

    def list_tenants(self) -> list[dict[str, Any]]:
        return [p.view() for p in self.state.projects.values()]

    def public_keys(self) -> dict[str, Any]:
        return {
            "vendor": self.name,
            "keys": [],
            "use": "Tiledesk signs with per-project shared secrets: POST /<projectId>/keys/generate shows a new one "
            "once, and no endpoint serves it again",
        }

    def explain(self, tenant_id: str, token: Any) -> dict[str, Any]:
        """The sign-in checks on a token (with or without its "JWT " prefix); tenant = the id_project a request body
        would carry. The predicted answer is what signinWithCustomToken would return now (first sign-in or not)."""
        text = token if isinstance(token, str) else ""
        header = text if text[:4].lower() == "jwt " else f"JWT {text}"
        verified = self.service.verify(header, None, tenant_id or None, tenant_id or None)
        ctx = verified.context
        report = verified.trace.to_dict()
        report["profile"] = ctx.profile
        report["decoded"] = {
            "header": ctx.compact.header if ctx.compact else None,
            "claims": ctx.claims or ctx.unverified or None,
        }
        error = verified.trace.error
        report["vendorResponse"] = (
            {"status": 200, "body": self.service.answer(ctx)}
            if verified.trace.ok
            else {"status": error.status, "body": error.body}
            if error
            else None
        )
        return report

    def reset(self) -> None:
        self.state.reset()
