"""iAdvize endpoints, served under /iadvize and on Host api.iadvize.com (research/iadvize.md §8.2).

POST /oauth2/token      operator login: form username, password, grant_type=password
GET  /_authenticated    is this operator access token valid?
POST /graphql           visitor authentication mutations (schema.py); ?platform=sd accepted
"""

from __future__ import annotations

import functools
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, parse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from strawberry.schema.exceptions import CannotGetOperationTypeError

from emulator.core.http import BodyTooLarge, media_type, parse_json, read_body, read_form, with_diagnosis
from emulator.core.journal import Note, note_of
from emulator.vendors.iadvize import errors
from emulator.vendors.iadvize.schema import GraphQLContext, build_schema
from emulator.vendors.iadvize.service import OPERATOR_TOKEN_LIFETIME, IAdvizeService

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _request_error(note: Note, status: int, message: str, check: str, why: str | None = None) -> Response:
    """A request-level GraphQL error (400/413/415): no data, one error. The failed check goes beside it."""
    _rejected(note, check, why or message)
    body = {"errors": [{"message": message, "extensions": {"name": _STATUS_NAMES[status], "retryPolicy": "NO_RETRY"}}]}
    return with_diagnosis(JSONResponse(body, status_code=status), note.summary)


def _rejected(note: Note, check: str, why: str) -> None:
    note.outcome, note.failed_check, note.summary = "rejected", check, f"{check}: {why}"


_STATUS_NAMES = {400: "BAD_REQUEST", 413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE"}

# The named checks of request-level refusals (diagnosis only: the vendor's body does not change).
REQUEST_BODY = "request_body"  # the body has the media type the endpoint reads, and parses
REQUEST_SIZE = "request_size"  # the body is within the endpoint's size cap
GRAPHQL_REQUEST = "graphql_request"  # a GraphQL request: query, variables, operationName; parses and validates
GRANT_TYPE = "grant_type"  # /oauth2/token: grant_type=password
LOGIN_FIELDS = "login_fields"  # /oauth2/token: username and password are given
OPERATOR_CREDENTIALS = "operator_credentials"  # /oauth2/token: they are an operator's


class IAdvizeRoutes:
    def __init__(self, service: IAdvizeService) -> None:
        self.service = service
        self.schema = build_schema()

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/oauth2/token", self.token, methods=["POST"]),
            Route("/_authenticated", self.authenticated, methods=["GET"]),
            Route("/graphql", self.graphql, methods=["POST"]),
        ]

    # -- POST /oauth2/token -------------------------------------------------------------------------------
    async def token(self, request: Request) -> Response:
        note = note_of(request.scope)
        note.operation = "oauth2/token"

        def refuse(status: int, body: dict[str, str], check: str, why: str) -> Response:
            _rejected(note, check, why)
            return with_diagnosis(JSONResponse(body, status_code=status, headers=_NO_STORE), note.summary)

        if media_type(request) != "application/x-www-form-urlencoded":
            return refuse(
                400,
                errors.oauth_error("invalid_request", "The request body must be application/x-www-form-urlencoded"),
                REQUEST_BODY,
                f"Content-Type is {media_type(request) or 'missing'!r}; send application/x-www-form-urlencoded: "
                "username=...&password=...&grant_type=password",
            )
        try:
            form = await read_form(request)
        except BodyTooLarge as exc:
            return refuse(400, errors.oauth_error("invalid_request", "Request body too large"), REQUEST_SIZE, str(exc))
        grant = form.get("grant_type")
        note.details = {"username": form.get("username"), "grant_type": grant}  # never the password
        if not grant:
            missing = errors.oauth_error("invalid_request", "Missing grant_type")
            return refuse(400, missing, GRANT_TYPE, "no grant_type in the form; send grant_type=password")
        if grant != "password":
            why = f"grant_type {grant!r}: only 'password' is supported"
            return refuse(400, errors.OAUTH_UNSUPPORTED_GRANT, GRANT_TYPE, why)
        username, password = form.get("username"), form.get("password")
        if not username or not password:
            missing = [n for n in ("username", "password") if not form.get(n)]
            return refuse(
                400,
                errors.oauth_error("invalid_request", f"Missing {' and '.join(missing)}"),
                LOGIN_FIELDS,
                f"missing {missing}",
            )
        access_token = self.service.login(username, password)
        if access_token is None:
            known = username in self.service.state.operators
            why = "wrong password" if known else f"no operator {username!r} (PUT /_emulator/users/iadvize/<username>)"
            return refuse(400, errors.OAUTH_BAD_CREDENTIALS, OPERATOR_CREDENTIALS, why)
        note.outcome, note.summary = "accepted", f"operator {username} logged in"
        body = {
            "access_token": access_token,
            "expires_in": OPERATOR_TOKEN_LIFETIME,
            "token_type": "Bearer",
            "refresh_token": "none",
        }
        return JSONResponse(body, headers=_NO_STORE)

    # -- GET /_authenticated ------------------------------------------------------------------------------
    async def authenticated(self, request: Request) -> Response:
        note = note_of(request.scope)
        note.operation = "_authenticated"
        operator, reason = self.service.operator_from_header(request.headers.get("authorization"))
        if operator is None:
            note.outcome, note.failed_check, note.summary = "rejected", "operator_token", reason
            return with_diagnosis(JSONResponse(errors.INVALID_TOKEN_BODY, status_code=401), f"operator_token: {reason}")
        note.outcome, note.summary = "accepted", f"operator {operator.username}"
        return JSONResponse({"authenticated": True})

    # -- POST /graphql ------------------------------------------------------------------------------------
    async def graphql(self, request: Request) -> Response:
        note = note_of(request.scope)
        note.operation = "graphql"
        if media_type(request) != "application/json":
            return _request_error(
                note,
                415,
                "Unsupported Media Type: the request must have 'Content-Type: application/json'",
                REQUEST_BODY,
                f"Content-Type is {media_type(request) or 'missing'!r}; iAdvize's GraphQL API requires application/json",
            )
        try:
            body = parse_json(await read_body(request))
        except BodyTooLarge as exc:
            return _request_error(note, 413, "Request body too large", REQUEST_SIZE, str(exc))
        except ValueError as exc:
            return _request_error(note, 400, "Body is not valid JSON", REQUEST_BODY, str(exc))
        problem = _graphql_request_problem(body)
        if problem:
            return _request_error(note, 400, problem, GRAPHQL_REQUEST)
        context = GraphQLContext(self.service, request.headers.get("authorization"), note)
        try:
            result = await self.schema.execute(
                body["query"],
                variable_values=body.get("variables"),
                context_value=context,
                operation_name=body.get("operationName"),
            )
        except Exception as exc:  # strawberry raises for a missing/unknown operation or a bad operation type
            if isinstance(exc, CannotGetOperationTypeError):  # str() "None": a document of fragments only
                why = "the document defines no operation (query or mutation) to run"
            else:
                why = f"strawberry refused the request: {type(exc).__name__}: {exc}"
            return _request_error(note, 400, str(exc) or type(exc).__name__, GRAPHQL_REQUEST, why)
        payload: dict[str, Any] = {"data": result.data}
        status = context.http_status
        if result.errors:
            payload["errors"] = [_format_error(e) for e in result.errors]
            if result.data is None and all(not e.path for e in result.errors):
                status = 400  # syntax, validation or variable errors: the request itself is wrong
                _rejected(note, GRAPHQL_REQUEST, result.errors[0].message)
        response = JSONResponse(payload, status_code=status)
        if context.failures:
            first = context.failures[0]
            diagnosis = first.get("summary", "")
            if first.get("remedy"):
                diagnosis += f" | remedy: {first['remedy']}"
            with_diagnosis(response, diagnosis)
        elif status == 400:
            with_diagnosis(response, note.summary)
        return response


@functools.lru_cache(maxsize=256)
def _operation_names(query: str) -> tuple[str | None, ...] | None:
    """The names of the document's operations, or None when it does not parse (strawberry reports that)."""
    try:
        document = parse(query)
    except GraphQLError:
        return None
    return tuple(
        d.name.value if d.name else None for d in document.definitions if isinstance(d, OperationDefinitionNode)
    )


def _graphql_request_problem(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "The body must be a JSON object with a 'query'"
    if not isinstance(body.get("query"), str) or not body["query"].strip():
        return "Missing 'query' in the request body"
    variables = body.get("variables")
    if variables is not None and not isinstance(variables, dict):
        return "'variables' must be a JSON object"
    name = body.get("operationName")
    if name is not None and not isinstance(name, str):
        return "'operationName' must be a string"
    # The spec's GetOperation(), with graphql-js's messages (strawberry would pick one or raise a bare KeyError).
    operations = _operation_names(body["query"])
    if operations is not None:
        if name is None and len(operations) > 1:
            return "Must provide operation name if query contains multiple operations."
        if name is not None and name not in operations:
            return f"Unknown operation named '{name}'."
    return None


def _format_error(error: GraphQLError) -> dict[str, Any]:
    formatted = error.formatted
    if formatted.get("extensions") is None:
        formatted.pop("extensions", None)
    if "extensions" not in formatted and error.path is None:
        formatted["extensions"] = {"name": "BAD_REQUEST", "retryPolicy": "NO_RETRY"}
    return dict(formatted)
