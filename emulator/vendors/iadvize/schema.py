"""The slice of iAdvize's GraphQL schema that visitor authentication uses (strawberry).

Mutations, as the Android SDK sends them (research §2.4) and as the FAQ's "How can I test my JWE?" curl does:

    visitorAuthenticateFromCredentials(input: {projectId: LegacyId!, credentials: String!, currentVuid: String})
    visitorAuthenticateAnonymously(input: {projectId: LegacyId!, vuid: String})
    testVisitorAuthenticateFromCredentials(input: {projectId: LegacyId!, credentials: String!})  # operator Bearer

Each returns ``{ visitorSessionToken { accessToken } }``. The payload fields are non-null, so a refusal
answers ``{"data": null, "errors": [...]}``, the envelope iAdvize documents.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, NewType

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types import Info

from emulator.config import ConfigError
from emulator.core.journal import Note
from emulator.vendors.iadvize import errors
from emulator.vendors.iadvize.config import parse_project_id
from emulator.vendors.iadvize.errors import GraphQLFailure
from emulator.vendors.iadvize.service import IAdvizeService, Session

log = logging.getLogger("emulator.iadvize")


def _parse_legacy_id(value: Any) -> str:
    try:
        return parse_project_id(value)
    except ConfigError as exc:
        raise ValueError(f"LegacyId cannot represent {value!r}: a positive integer is expected") from exc


LegacyId = NewType("LegacyId", str)
_LEGACY_ID = strawberry.scalar(
    name="LegacyId",
    description="iAdvize's legacy integer identifier (a project/website id), given as an Int or a String.",
    serialize=int,
    parse_value=_parse_legacy_id,
)


@dataclass
class GraphQLContext:
    service: IAdvizeService
    authorization: str | None
    note: Note
    http_status: int = 200
    failures: list[dict[str, Any]] = field(default_factory=list)


@strawberry.type
class VisitorSessionToken:
    access_token: str


@strawberry.type
class VisitorAuthenticateFromCredentialsPayload:
    visitor_session_token: VisitorSessionToken


@strawberry.type
class TestVisitorAuthenticateFromCredentialsPayload:
    visitor_session_token: VisitorSessionToken


@strawberry.type
class VisitorAuthenticateAnonymouslyPayload:
    visitor_session_token: VisitorSessionToken


@strawberry.input
class VisitorAuthenticateFromCredentialsInput:
    project_id: LegacyId
    credentials: str
    current_vuid: str | None = None


@strawberry.input
class TestVisitorAuthenticateFromCredentialsInput:
    project_id: LegacyId
    credentials: str


@strawberry.input
class VisitorAuthenticateAnonymouslyInput:
    project_id: LegacyId
    vuid: str | None = None


def _refuse(ctx: GraphQLContext, failure: GraphQLFailure, diagnosis: dict[str, Any]) -> GraphQLError:
    ctx.http_status = max(ctx.http_status, failure.http_status)
    diagnosis = {**diagnosis, "journalId": ctx.note.entry_id, "explain": "POST /_emulator/explain"}
    ctx.failures.append(diagnosis)
    extensions = {"name": failure.name, "retryPolicy": failure.retry_policy, "emulator": diagnosis}
    return GraphQLError(failure.message, extensions=extensions)


def _reject(ctx: GraphQLContext, failure: GraphQLFailure, check: str, message: str, remedy: str) -> GraphQLError:
    """A refusal decided outside the credentials pipeline (operator token, anonymous project)."""
    note = ctx.note
    note.outcome, note.failed_check, note.summary = "rejected", check, f"{check}: {message}"
    return _refuse(ctx, failure, {"failedCheck": check, "summary": note.summary, "remedy": remedy})


def _session_token(session: Session) -> VisitorSessionToken:
    return VisitorSessionToken(access_token=session.access_token)


def _authenticate(
    info: Info, operation: str, project_id: str, credentials: str, vuid: str | None
) -> VisitorSessionToken:
    ctx: GraphQLContext = info.context
    verification = ctx.service.verify(project_id, credentials)
    note = ctx.note
    note.tenant, note.operation, note.token = project_id, operation, credentials
    note.trace = verification.report()
    if not verification.ok:
        trace = verification.trace
        failed = trace.failed
        note.outcome, note.summary = "rejected", trace.summary()
        note.failed_check = failed.name if failed else None
        assert trace.error is not None
        raise _refuse(ctx, trace.error, trace.to_dict())
    session = ctx.service.open_authenticated_session(verification, vuid)
    note.outcome, note.summary = (
        "accepted",
        f"visitor {session.claims['https://iadvize.com/vuid']} authenticated",
    )
    note.details = {"visitorProfileId": session.profile.profile_id, "sessionExp": session.claims["exp"]}
    return _session_token(session)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Authenticate a visitor from the brand's JWE (what the web tag and SDKs call).")
    def visitor_authenticate_from_credentials(
        self, info: Info, input: VisitorAuthenticateFromCredentialsInput
    ) -> VisitorAuthenticateFromCredentialsPayload:
        token = _authenticate(
            info,
            "visitorAuthenticateFromCredentials",
            input.project_id,
            input.credentials,
            input.current_vuid,
        )
        return VisitorAuthenticateFromCredentialsPayload(visitor_session_token=token)

    @strawberry.mutation(description="Test a JWE (the FAQ's 'How can I test my JWE?'); needs an operator Bearer.")
    def test_visitor_authenticate_from_credentials(
        self, info: Info, input: TestVisitorAuthenticateFromCredentialsInput
    ) -> TestVisitorAuthenticateFromCredentialsPayload:
        ctx: GraphQLContext = info.context
        operation = "testVisitorAuthenticateFromCredentials"
        ctx.note.tenant, ctx.note.operation = input.project_id, operation
        operator, reason = ctx.service.operator_from_header(ctx.authorization)
        if operator is None:
            raise _reject(ctx, errors.UNAUTHENTICATED_FAILURE, "operator_token", reason, _BEARER_REMEDY)
        token = _authenticate(info, operation, input.project_id, input.credentials, None)
        return TestVisitorAuthenticateFromCredentialsPayload(visitor_session_token=token)

    @strawberry.mutation(description="Start an anonymous visitor session.")
    def visitor_authenticate_anonymously(
        self, info: Info, input: VisitorAuthenticateAnonymouslyInput
    ) -> VisitorAuthenticateAnonymouslyPayload:
        ctx: GraphQLContext = info.context
        note = ctx.note
        note.tenant, note.operation = input.project_id, "visitorAuthenticateAnonymously"
        project = ctx.service.state.projects.get(input.project_id)
        if project is None:
            message = f"project {input.project_id} is not registered in the emulator"
            raise _reject(ctx, errors.ANONYMOUS_FAILURE, "project_known", message, _PROJECT_REMEDY)
        session = ctx.service.open_anonymous_session(project, input.vuid)
        note.outcome, note.summary = (
            "accepted",
            f"anonymous visitor {session.claims['https://iadvize.com/vuid']}",
        )
        return VisitorAuthenticateAnonymouslyPayload(visitor_session_token=_session_token(session))


_BEARER_REMEDY = (
    "Get an access token with POST /oauth2/token (username, password, grant_type=password) and send it as "
    "'Authorization: Bearer <access_token>'"
)
_PROJECT_REMEDY = "Register the project: PUT /_emulator/tenants/iadvize/<projectId> or [[iadvize.projects]]"


@strawberry.type
class EmulatorInfo:
    name: str
    version: str


@strawberry.type
class Query:
    @strawberry.field(description="Emulator-only: which emulator answers (iAdvize's query fields are not emulated).")
    def emulator(self) -> EmulatorInfo:
        from emulator import __version__

        return EmulatorInfo(name="chat-auth-emulator", version=__version__)


class _QuietSchema(strawberry.Schema):
    """Vendor refusals are answers, not server errors: log only unexpected exceptions."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        for error in errors:
            original = error.original_error
            if original is not None and not isinstance(original, GraphQLError | ValueError):
                log.error("unexpected error in GraphQL resolver", exc_info=original)


def build_schema() -> strawberry.Schema:
    return _QuietSchema(
        query=Query,
        mutation=Mutation,
        extensions=[lambda: ParserCache(maxsize=256), lambda: ValidationCache(maxsize=256)],
        config=StrawberryConfig(scalar_map={LegacyId: _LEGACY_ID}),
    )
