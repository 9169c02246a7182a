"""iAdvize: secured (JWE) visitor authentication through the GraphQL API.

routes.py   the endpoints (/oauth2/token, /_authenticated, /graphql)
schema.py   the GraphQL mutations (strawberry)
checks.py   the credentials pipeline, in order
service.py  verification, sessions, operator login
state.py    projects and operators (registered) apart from visitors (runtime)
config.py   the [iadvize] section / tenant JSON parser
errors.py   every vendor string, verbatim, with its source
mint.py     brand-side minting helpers for offline work
"""

from __future__ import annotations

from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from emulator.config import ConfigError
from emulator.core.http import json_body, problem
from emulator.core.runtime import Runtime
from emulator.vendors.base import Vendor
from emulator.vendors.iadvize import errors
from emulator.vendors.iadvize.config import IAdvizeSettings, Operator, Project, parse_project_id
from emulator.vendors.iadvize.routes import IAdvizeRoutes
from emulator.vendors.iadvize.service import IAdvizeService
from emulator.vendors.iadvize.state import IAdvizeState


class IAdvize(Vendor):
    name: ClassVar[str] = "iadvize"
    hosts: ClassVar[tuple[str, ...]] = ("api.iadvize.com",)
    tenant_noun: ClassVar[str] = "project"

    def __init__(self, section: dict[str, Any], runtime: Runtime) -> None:
        super().__init__(section, runtime)
        self.settings = IAdvizeSettings.from_section(section)
        self.state = IAdvizeState(self.settings)
        self.service = IAdvizeService(self.settings, self.state, runtime)
        self._routes = IAdvizeRoutes(self.service)

    def routes(self) -> list[BaseRoute]:
        return self._routes.routes()

    # -- tenants (projects) -------------------------------------------------------------------------------
    def put_tenant(self, tenant_id: str, body: Any) -> tuple[dict[str, Any], bool]:
        project = Project.from_json(tenant_id, body)
        created = project.project_id not in self.state.projects
        self.state.projects[project.project_id] = project
        return project.public_view(), created

    def get_tenant(self, tenant_id: str) -> dict[str, Any] | None:
        project = self.state.projects.get(_normalise(tenant_id))
        return project.public_view() if project else None

    def delete_tenant(self, tenant_id: str) -> bool:
        return self.state.projects.pop(_normalise(tenant_id), None) is not None

    def list_tenants(self) -> list[dict[str, Any]]:
        return [
            {
                "projectId": p.project_id,
                "authenticationEnabled": p.authentication_enabled,
                "brandKeys": len(p.brand_keys),
            }
            for p in self.state.projects.values()
        ]

    def public_keys(self) -> dict[str, Any]:
        key = self.settings.emulator_key
        return {
            "vendor": self.name,
            "use": "Encrypt the brand JWE to this key (RSA-OAEP-256, A256GCM); it also signs visitor session tokens",
            **key.public_view(),
        }

    def explain(self, tenant_id: str, token: Any) -> dict[str, Any]:
        verification = self.service.verify(_normalise(tenant_id), token)
        report = verification.report()
        report["vendorResponse"] = (
            {"data": {"visitorSessionToken": {"accessToken": "<issued on a real request>"}}}
            if verification.ok
            else {"data": None, "errors": [{"message": errors.CREDENTIALS_REJECTED}]}
        )
        return report

    def reset(self) -> None:
        self.state.reset()

    # -- vendor-specific control plane: operators and visitors -------------------------------------------
    def control_routes(self) -> list[BaseRoute]:
        return [
            Route("/users/iadvize", self._list_users, methods=["GET"]),
            Route("/users/iadvize/{username}", self._user, methods=["PUT", "GET", "DELETE"]),
            Route("/visitors/iadvize", self._visitors, methods=["GET"]),
        ]

    async def _list_users(self, request: Request) -> Response:
        return JSONResponse({"users": [{"username": u} for u in self.state.operators]})

    async def _user(self, request: Request) -> Response:
        username = request.path_params["username"]
        if request.method == "GET":
            if username not in self.state.operators:
                return problem(404, f"no iAdvize operator {username!r}")
            return JSONResponse({"username": username})
        if request.method == "DELETE":
            if self.state.operators.pop(username, None) is None:
                return problem(404, f"no iAdvize operator {username!r}")
            return Response(status_code=204)
        body = await json_body(request, 64 * 1024)
        try:
            if not isinstance(body, dict) or set(body) - {"password"}:
                raise ConfigError('the body must be {"password": "..."}')
            operator = Operator.create(username, body.get("password"))
        except ConfigError as exc:
            return problem(400, str(exc))
        created = username not in self.state.operators
        self.state.operators[username] = operator
        return JSONResponse({"username": username}, status_code=201 if created else 200)

    async def _visitors(self, request: Request) -> Response:
        project = request.query_params.get("projectId")
        return JSONResponse({"visitors": self.state.visitors(project)})


def _normalise(tenant_id: str) -> str:
    try:
        return parse_project_id(tenant_id)
    except ConfigError:
        return tenant_id
