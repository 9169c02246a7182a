"""Every Avaya Experience Platform answer the emulator gives on failure, verbatim, with its source.

[S1] "Digital - SDK Auth" OpenAPI v1.0.1 (generateDigitalChatToken)      [S2] "Auth" OpenAPI v1.0.2
[S9] developer portal "Error Handling" page (gateway errors)            [SDK] Chat SDK 0.1.53 code
[EMU] an emulator choice where Avaya documents nothing (README, "Avaya: emulator choices").

All are RFC 7807 problems served as ``application/problem+json``.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

DOCS = "https://developers.avayacloud.com/onecloud-ccaas/docs/error-handling"
DOCS_V1 = "https://developers.avayacloud.com/onecloud-ccaas/v1.0/docs/error-handling"
PROBLEM_JSON = "application/problem+json"


def problem(type_: str, title: str, status: int | str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"type": type_, "title": title, "status": status, "detail": detail, **extra}


# [S1][S2] 400 ErrorConstraintViolation (violations are added per request)
CONSTRAINT_VIOLATION = problem(
    f"{DOCS}#constraint-violation",
    "Constraint Violation",
    400,
    "A problem that indicates a syntactically correct, yet semantically illegal request. The Server can not process "
    "this request until the client resolves the semantic errors described in the violations section.",
)
# [S9] Malformed payload
BAD_REQUEST = problem(
    f"{DOCS_V1}#bad-request",
    "Bad Request",
    400,
    "The request could not be understood by the server due to malformed syntax.",
)
# [S9] Invalid AccountID. The documented example really has "status" as the string "400".
INVALID_ACCOUNT_ID = problem(f"{DOCS}#bad-request", "Bad Request", "400", "Invalid AccountID")
# [S1][S2] 401 ErrorUnauthorized
UNAUTHORIZED = problem(
    f"{DOCS}#unauthorized",
    "Unauthorized",
    401,
    "This operation requires authentication. See https://developers.avayacloud.com/onecloud-ccaas/docs/"
    "how-to-authenticate-with-ccaas-apis",
)
# [S9] Invalid App Key
UNAUTHORIZED_APPKEY = problem(
    f"{DOCS_V1}#unauthorized",
    "Unauthorized",
    401,
    "The client request has not been completed because it lacks valid authentication credentials(Appkey)",
)
# [S9] Invalid Access Token
UNAUTHORIZED_ACCESS_TOKEN = problem(
    f"{DOCS_V1}#unauthorized",
    "Unauthorized",
    401,
    "The client request has not been completed because it lacks valid authentication credentials(Access-Token)",
)
# [S1][S2] 403 ErrorForbidden
FORBIDDEN = problem(
    f"{DOCS}#forbidden",
    "Forbidden",
    403,
    "According to the access control policy the current user and/or accountId does not have permission to access "
    "this resource.",
)
# [S9] Not found (gateway)
RESOURCE_NOT_FOUND = problem(
    f"{DOCS}#resource-not-found",
    "Resource Not Found",
    404,
    "Either there is no API method associated with the URL path of the request, or the request refers to one or "
    "more resources that were not found.",
)
# [SDK] the Chat SDK matches this exact detail on a 404 to stop its event stream (CLIENT_SESSION_INVALIDATED).
SESSION_NOT_FOUND = problem(f"{DOCS}#not-found", "Not Found", 404, "Session not found")
# [EMU] an unknown or terminated engagement (the SDK maps any 404 on engagement calls to ACS-314).
ENGAGEMENT_NOT_FOUND = problem(f"{DOCS}#not-found", "Not Found", 404, "Engagement not found")
# [S2] 415. The spec's title really is "Conflict".
UNSUPPORTED_MEDIA_TYPE = problem(
    f"{DOCS}#conflict", "Conflict", 415, "The media-type in Content-type of the request is not supported by the server."
)

# Bean Validation messages and codes. [S1] documents 20002 and 20006; the others are [EMU].
CODE_TYPE = 20001
CODE_NOT_NULL = 20002
CODE_SIZE = 20003
CODE_MIN = 20004
CODE_MAX = 20005
CODE_PATTERN = 20006


def violation(field: str, message: str, code: int) -> dict[str, Any]:
    return {"field": field, "message": message, "code": code}


def constraint_violation(violations: list[dict[str, Any]]) -> dict[str, Any]:
    return {**CONSTRAINT_VIOLATION, "violations": violations}


def response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    status = int(body["status"])
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)
