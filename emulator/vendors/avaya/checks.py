"""The Avaya check pipelines, in the order they run.

    ACCESS_TOKEN   POST .../protocol/openid-connect/token
    GENERATE_JWT   POST /api/digital/chat/v1/accounts/{accountId}/tokens
    CHAT_JWT       every Chat SDK call (/sdk/digital/chat/v1/integrations/{integrationId}/...)
    EXPLAIN        a chat JWT given to /_emulator/explain (tenant = accountId)

Each check's error is a function of the context that returns the vendor's problem body; the first failure picks it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from emulator.core import jsonutil
from emulator.core.checks import Check, Fail, Pass, Pipeline
from emulator.core.jose import Compact, JoseError, json_object, jws_verify, parse_compact
from emulator.core.opaque import OpaqueTokenError, OpaqueTokens
from emulator.vendors.avaya import errors
from emulator.vendors.avaya.config import ACCOUNT_ID, Account, AvayaSettings
from emulator.vendors.avaya.state import AvayaState
from emulator.vendors.avaya.validation import TokenRequest, check_token_request

Body = dict[str, Any]
ErrorOf = Callable[[Any], Body]
ACCESS_TOKEN_KIND = "avaya-access"  # noqa: S105 - opaque-token salt names, not secrets
REFRESH_TOKEN_KIND = "avaya-refresh"  # noqa: S105
JWT_PREFIX = "jwt."


def static(body: Body) -> ErrorOf:
    return lambda ctx: body


def _appkey_remedy(where: str) -> str:
    return (
        f"Send the account's appkey in the 'appkey' header ({where}); GET /_emulator/tenants/avaya/<accountId> shows it"
    )


# -- shared by the backend APIs ----------------------------------------------------------------------------
@dataclass
class ApiContext:
    """A backend API request, read (and capped) before the checks run."""

    settings: AvayaSettings
    state: AvayaState
    opaque: OpaqueTokens
    now: float
    account_id: str
    headers: Mapping[str, str]
    media_type: str
    form: dict[str, str] = field(default_factory=dict)
    body: Any = None
    body_error: str | None = None
    violations: list[Body] = field(default_factory=list)
    token_payload: dict[str, Any] = field(default_factory=dict)
    client_id: str | None = None
    warnings: list[str] = field(default_factory=list)
    # what a check found, for the checks after it
    appkey_account: Account | None = None  # appkey: the account whose appkey was sent
    bearer: str = ""  # access_token_present: the access token
    token_request: TokenRequest | None = None  # body_valid: the normalised body
    integration_owner: Account | None = None  # integration_exists: the account of the integration

    @property
    def account(self) -> Account | None:
        return self.state.accounts.get(self.account_id)


def _account_id_format(ctx: ApiContext) -> Pass:
    if not ACCOUNT_ID.fullmatch(ctx.account_id):
        raise Fail(f"accountId {ctx.account_id!r} is not 6 letters", expected="^[a-zA-Z]{6}$", actual=ctx.account_id)
    return Pass(expected="^[a-zA-Z]{6}$", actual=ctx.account_id)


def _account_known(ctx: ApiContext) -> Pass:
    if ctx.account is None:
        raise Fail(
            f"account {ctx.account_id} is not registered in the emulator",
            expected="a registered account",
            actual=ctx.account_id,
        )
    return Pass(actual=ctx.account_id)


def _appkey_of_account(ctx: ApiContext) -> Pass:
    assert ctx.account is not None
    given = ctx.headers.get("appkey")
    if not given:
        raise Fail("no 'appkey' header", expected="the account's appkey", actual=None)
    if given != ctx.account.appkey:
        raise Fail(
            "the 'appkey' header is not this account's appkey", expected="the account's appkey", actual="another value"
        )
    return Pass(expected="the account's appkey", actual="matches")


# -- ACCESS_TOKEN --------------------------------------------------------------------------------------------
def _form_content_type(ctx: ApiContext) -> Pass:
    if ctx.media_type != "application/x-www-form-urlencoded":
        raise Fail(
            f"Content-Type is {ctx.media_type or 'missing'!r}",
            expected="application/x-www-form-urlencoded",
            actual=ctx.media_type or None,
        )
    return Pass(expected="application/x-www-form-urlencoded", actual=ctx.media_type)


def _grant_type(ctx: ApiContext) -> Pass:
    grant = ctx.form.get("grant_type")
    expected = "client_credentials or refresh_token"
    if not grant:
        ctx.violations.append(errors.violation("grant_type", "must not be null", errors.CODE_NOT_NULL))
        raise Fail("grant_type is missing", expected=expected, actual=None)
    if grant not in ("client_credentials", "refresh_token"):
        ctx.violations.append(
            errors.violation("grant_type", 'must match "client_credentials|refresh_token"', errors.CODE_PATTERN)
        )
        raise Fail(f"grant_type {grant!r} is not supported by the emulator", expected=expected, actual=grant)
    return Pass(expected=expected, actual=grant)


def _client_fields(ctx: ApiContext) -> Pass:
    needed = ["client_id", "client_secret"] + (
        ["refresh_token"] if ctx.form.get("grant_type") == "refresh_token" else []
    )
    missing = [name for name in needed if not ctx.form.get(name)]
    if missing:
        ctx.violations.extend(errors.violation(name, "must not be null", errors.CODE_NOT_NULL) for name in missing)
        raise Fail(
            f"missing form field(s) {missing}",
            expected=needed,
            actual=sorted(k for k in ctx.form if k != "client_secret"),
        )
    return Pass(expected=needed, actual="present")


def _client_credentials(ctx: ApiContext) -> Pass:
    assert ctx.account is not None
    client = ctx.account.clients.get(ctx.form["client_id"])
    if client is None:
        raise Fail(
            f"no client {ctx.form['client_id']!r} in account {ctx.account_id}",
            expected=sorted(ctx.account.clients),
            actual=ctx.form["client_id"],
        )
    if not client.check(ctx.form["client_secret"]):
        raise Fail(
            f"wrong client_secret for client {client.client_id!r}",
            expected="the client's secret",
            actual="another value",
        )
    ctx.client_id = client.client_id
    return Pass(expected="a registered client and its secret", actual=client.client_id)


def _refresh_token(ctx: ApiContext) -> Pass:
    if ctx.form.get("grant_type") != "refresh_token":
        return Pass(message="not a refresh_token grant")
    try:
        payload = ctx.opaque.verify(REFRESH_TOKEN_KIND, ctx.form["refresh_token"], ctx.settings.refresh_token_lifetime)
    except OpaqueTokenError as exc:
        raise Fail(
            f"refresh_token: {exc.message}",
            expected="a refresh_token this emulator issued, unexpired",
            actual=exc.reason,
        ) from exc
    if not isinstance(payload, dict) or (payload.get("a"), payload.get("c")) != (ctx.account_id, ctx.client_id):
        raise Fail(
            "the refresh_token belongs to another account or client",
            expected=[ctx.account_id, ctx.client_id],
            actual=payload,
        )
    return Pass(expected="valid refresh_token", actual="valid")


# -- GENERATE_JWT --------------------------------------------------------------------------------------------
def _appkey_known(ctx: ApiContext) -> Pass:
    given = ctx.headers.get("appkey")
    if not given:
        raise Fail("no 'appkey' header", expected="an appkey", actual=None)
    owner = next((a for a in ctx.state.accounts.values() if a.appkey == given), None)
    if owner is None:
        raise Fail(
            "the 'appkey' header matches no registered account", expected="a registered appkey", actual="unknown"
        )
    ctx.appkey_account = owner
    return Pass(expected="a registered appkey", actual=f"appkey of {owner.account_id}")


def _bearer_present(ctx: ApiContext) -> Pass:
    scheme, _, token = (ctx.headers.get("authorization") or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Fail(
            "no 'Authorization: Bearer <access_token>' header", expected="Bearer <access_token>", actual=scheme or None
        )
    ctx.bearer = token.strip()
    return Pass(expected="Bearer <access_token>", actual="present")


def _access_token_valid(ctx: ApiContext) -> Pass:
    try:
        payload = ctx.opaque.verify(ACCESS_TOKEN_KIND, ctx.bearer, ctx.settings.access_token_lifetime)
    except OpaqueTokenError as exc:
        reason = exc.explain("the access token", ctx.settings.access_token_lifetime)
        raise Fail(
            reason, expected="an unexpired access token from .../openid-connect/token", actual=exc.reason
        ) from exc
    ctx.token_payload = payload if isinstance(payload, dict) else {}
    return Pass(
        expected="valid access token",
        actual=f"account {ctx.token_payload.get('a')}, client {ctx.token_payload.get('c')}",
    )


def _account_access(ctx: ApiContext) -> Pass:
    token_account = ctx.token_payload.get("a")
    appkey_account = ctx.appkey_account.account_id if ctx.appkey_account is not None else None
    if ctx.account is None or token_account != ctx.account_id or appkey_account != ctx.account_id:
        raise Fail(
            f"the path names account {ctx.account_id}, the access token is for {token_account}, the appkey for {appkey_account}",
            expected=ctx.account_id,
            actual={"accessToken": token_account, "appkey": appkey_account},
        )
    return Pass(expected=ctx.account_id, actual=ctx.account_id)


def _json_content_type(ctx: ApiContext) -> Pass:
    if ctx.media_type != "application/json":
        raise Fail(
            f"Content-Type is {ctx.media_type or 'missing'!r}",
            expected="application/json",
            actual=ctx.media_type or None,
        )
    return Pass(expected="application/json", actual=ctx.media_type)


def _body_json(ctx: ApiContext) -> Pass:
    if ctx.body_error is not None:
        raise Fail(ctx.body_error, expected="a JSON object", actual="not JSON")
    if not isinstance(ctx.body, dict):
        raise Fail("the body is JSON but not an object", expected="a JSON object", actual=type(ctx.body).__name__)
    return Pass(expected="a JSON object", actual="object")


def _body_valid(ctx: ApiContext) -> Pass:
    ctx.token_request, ctx.violations, warnings = check_token_request(ctx.body)
    ctx.warnings.extend(warnings)
    if ctx.violations:
        summary = "; ".join(f"{v['field']} {v['message']}" for v in ctx.violations)
        raise Fail(
            f"{len(ctx.violations)} violation(s): {summary}", expected="a valid GenerateJWTToken", actual=ctx.violations
        )
    return Pass(expected="a valid GenerateJWTToken", actual="valid")


def _integration_exists(ctx: ApiContext) -> Pass:
    assert ctx.token_request is not None
    integration = ctx.token_request.integration_id
    ctx.integration_owner = ctx.state.account_of_integration(integration)
    if ctx.integration_owner is None:
        raise Fail(
            f"integration {integration} is not registered", expected="a registered Chat Integration", actual=integration
        )
    return Pass(actual=integration)


def _integration_of_account(ctx: ApiContext) -> Pass:
    owner = ctx.integration_owner
    assert ctx.token_request is not None and owner is not None
    integration = ctx.token_request.integration_id
    if owner.account_id != ctx.account_id:
        raise Fail(
            f"integration {integration} belongs to account {owner.account_id}",
            expected=ctx.account_id,
            actual=owner.account_id,
        )
    return Pass(expected=ctx.account_id, actual=owner.account_id)


def _violations_error(ctx: ApiContext) -> Body:
    return errors.constraint_violation(ctx.violations)


_ACCOUNT_REMEDY = "Use the 6-letter AXP account id (e.g. ABCDEF) in the path"
_REGISTER_ACCOUNT = "Register the account: PUT /_emulator/tenants/avaya/<accountId> or [[avaya.accounts]]"

ACCESS_TOKEN: Pipeline[ApiContext, ErrorOf] = Pipeline(
    [
        Check(
            "account_id_format",
            _account_id_format,
            "accountId is 6 letters",
            _ACCOUNT_REMEDY,
            static(errors.INVALID_ACCOUNT_ID),
        ),
        Check(
            "account_known",
            _account_known,
            "the account is registered",
            _REGISTER_ACCOUNT,
            static(errors.RESOURCE_NOT_FOUND),
        ),
        Check(
            "appkey",
            _appkey_of_account,
            "the appkey header is the account's",
            _appkey_remedy("every AXP request"),
            static(errors.UNAUTHORIZED_APPKEY),
        ),
        Check(
            "content_type",
            _form_content_type,
            "the body is form-encoded",
            "Send Content-Type: application/x-www-form-urlencoded",
            static(errors.UNSUPPORTED_MEDIA_TYPE),
        ),
        Check(
            "grant_type",
            _grant_type,
            "grant_type is client_credentials or refresh_token",
            "grant_type=client_credentials",
            _violations_error,
        ),
        Check(
            "client_fields",
            _client_fields,
            "client_id and client_secret are sent",
            "Send client_id and client_secret in the form",
            _violations_error,
        ),
        Check(
            "client_credentials",
            _client_credentials,
            "the client and its secret are the account's",
            "Use a client of this account (GET /_emulator/tenants/avaya/<accountId> lists them)",
            static(errors.UNAUTHORIZED),
        ),
        Check(
            "refresh_token",
            _refresh_token,
            "the refresh_token is valid for this client",
            "Get a new token with client_credentials",
            static(errors.UNAUTHORIZED),
        ),
    ]
)

GENERATE_JWT: Pipeline[ApiContext, ErrorOf] = Pipeline(
    [
        Check(
            "account_id_format",
            _account_id_format,
            "accountId is 6 letters",
            _ACCOUNT_REMEDY,
            static(errors.INVALID_ACCOUNT_ID),
        ),
        Check(
            "appkey",
            _appkey_known,
            "the appkey header is a registered appkey",
            _appkey_remedy("with the access token"),
            static(errors.UNAUTHORIZED_APPKEY),
        ),
        Check(
            "access_token_present",
            _bearer_present,
            "an access token is sent",
            "Get an access token (POST .../protocol/openid-connect/token) and send 'Authorization: Bearer <access_token>'",
            static(errors.UNAUTHORIZED),
        ),
        Check(
            "access_token_valid",
            _access_token_valid,
            "the access token is valid and unexpired",
            "Get a fresh access token; they live expires_in (900) seconds",
            static(errors.UNAUTHORIZED_ACCESS_TOKEN),
        ),
        Check(
            "account_access",
            _account_access,
            "the access token and appkey are the path account's",
            "Use the access token and appkey of the account named in the path",
            static(errors.FORBIDDEN),
        ),
        Check(
            "content_type",
            _json_content_type,
            "the body is JSON",
            "Send Content-Type: application/json",
            static(errors.UNSUPPORTED_MEDIA_TYPE),
        ),
        Check(
            "body_json",
            _body_json,
            "the body parses as a JSON object",
            "Send a JSON object",
            static(errors.BAD_REQUEST),
        ),
        Check(
            "body_valid",
            _body_valid,
            "the body satisfies GenerateJWTToken",
            "Fix the fields listed in violations (integrationId UUID, customerId 1-256, customerName <= 70, ttl 15-60)",
            _violations_error,
        ),
        Check(
            "integration_exists",
            _integration_exists,
            "the integrationId is a registered Chat Integration",
            "Create the integration: POST /_emulator/tenants/avaya/<accountId>/integrations",
            static(errors.RESOURCE_NOT_FOUND),
        ),
        Check(
            "integration_of_account",
            _integration_of_account,
            "the integration belongs to the path account",
            "Use an integration of this account",
            static(errors.FORBIDDEN),
        ),
    ]
)


# -- CHAT_JWT (SDK calls) and EXPLAIN -------------------------------------------------------------------------
@dataclass
class ChatContext:
    settings: AvayaSettings
    state: AvayaState
    now: float
    token: Any  # the Authorization header value (SDK calls) or the bare token (explain)
    max_token_bytes: int  # [emulator] maxTokenBytes
    integration_id: str | None = None  # from the path (SDK calls)
    account_id: str | None = None  # the tenant (explain)
    appkey: str | None = None
    jws: Compact | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    integration_account: Account | None = None  # the account of integration_id, resolved where the context is built


def _sdk_integration_exists(ctx: ChatContext) -> Pass:
    if ctx.integration_account is None:
        raise Fail(
            f"integration {ctx.integration_id} is not registered",
            expected="a registered Chat Integration",
            actual=ctx.integration_id,
        )
    return Pass(actual=ctx.integration_id)


def _sdk_appkey(ctx: ChatContext) -> Pass:
    account = ctx.integration_account
    assert account is not None
    if not ctx.appkey:
        raise Fail("no 'appkey' header", expected=f"the appkey of account {account.account_id}", actual=None)
    if ctx.appkey != account.appkey:
        raise Fail(
            f"the appkey is not account {account.account_id}'s",
            expected=f"the appkey of {account.account_id}",
            actual="another value",
        )
    return Pass(expected=f"the appkey of {account.account_id}", actual="matches")


_JWT_SHAPE = "jwt.<header>.<payload>.<signature>"


def _jwt_format(ctx: ChatContext) -> Pass:
    value = ctx.token if isinstance(ctx.token, str) else ""
    if ctx.integration_id is not None:  # an SDK call: the Authorization header
        scheme, _, value = value.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise Fail(
                "no 'Authorization: Bearer jwt.…' header", expected=f"Bearer {_JWT_SHAPE}", actual=scheme or None
            )
    value = value.strip()
    if not value.startswith(JWT_PREFIX):
        raise Fail(
            "the token does not start with 'jwt.' (the SDK itself refuses such a token: ACS-302 / ACS-322)",
            expected=_JWT_SHAPE,
            actual=value[:12] + "…" if value else None,
        )
    try:
        ctx.jws = parse_compact(value[len(JWT_PREFIX) :], expect=(3,), max_bytes=ctx.max_token_bytes)
    except JoseError as exc:
        raise Fail(f"after 'jwt.': {exc.message}", expected=_JWT_SHAPE, actual=exc.code) from exc
    return Pass(expected=_JWT_SHAPE, actual=f"header {ctx.jws.header}")


def _jwt_alg(ctx: ChatContext) -> Pass:
    assert ctx.jws is not None
    alg = ctx.jws.header.get("alg")
    if alg != "RS256":
        raise Fail(f"alg is {alg!r}; Avaya chat JWTs are RS256", expected="RS256", actual=alg)
    return Pass(expected="RS256", actual=alg)


def _jwt_signature(ctx: ChatContext) -> Pass:
    assert ctx.jws is not None
    key = ctx.settings.signing_key
    try:
        payload = jws_verify(ctx.jws, key, {"RS256"})
        ctx.claims = json_object(payload, "JWT payload")
    except JoseError as exc:
        raise Fail(
            f"{exc.message}: the JWT was not issued by this emulator",
            expected=f"signed by the emulator's Avaya key (kid {key.kid})",
            actual=exc.code,
        ) from exc
    return Pass(expected=f"kid {key.kid}", actual="verified")


def _jwt_claims(ctx: ChatContext) -> Pass:
    needed = {"integrationId": str, "customerId": str, "exp": (int, float), "accountId": str}
    wrong = [
        name
        for name, kind in needed.items()
        if not isinstance(ctx.claims.get(name), kind) or isinstance(ctx.claims.get(name), bool)
    ]
    if wrong:
        raise Fail(
            f"claims {wrong} are missing or of the wrong type", expected=sorted(needed), actual=sorted(ctx.claims)
        )
    return Pass(expected=sorted(needed), actual="present")


def _jwt_integration(ctx: ChatContext) -> Pass:
    claim = str(ctx.claims["integrationId"]).lower()
    if ctx.integration_id is None:  # explain: the integration must be one of the tenant's
        account = ctx.state.accounts.get(ctx.account_id or "")
        if account is None or claim not in account.integrations:
            raise Fail(
                f"integration {claim} is not one of account {ctx.account_id}'s",
                expected=f"an integration of {ctx.account_id}",
                actual=claim,
            )
        return Pass(expected=f"an integration of {ctx.account_id}", actual=claim)
    if claim != ctx.integration_id.lower():
        raise Fail(
            f"the JWT is for integration {claim}, the request for {ctx.integration_id}",
            expected=ctx.integration_id,
            actual=claim,
        )
    return Pass(expected=ctx.integration_id, actual=claim)


def _jwt_not_expired(ctx: ChatContext) -> Pass:
    exp = jsonutil.to_float(ctx.claims["exp"])  # a huge integer: ±inf, never an OverflowError
    skew = ctx.settings.clock_skew
    if exp <= ctx.now - skew:
        raise Fail(
            f"the chat JWT expired {ctx.now - exp:.0f} s ago (Avaya has no grace: clockSkew {skew:g} s)",
            expected=f"exp > {ctx.now - skew:.0f}",
            actual=exp,
        )
    return Pass(expected=f"exp > {ctx.now - skew:.0f}", actual=exp)


_NEW_JWT = "Get a new chat JWT from your backend (POST .../tokens) and give it to the SDK with setJwtToken()"
_REAL_JWT = "Use the jwtToken exactly as the emulator's POST .../accounts/{accountId}/tokens returned it"


def _chat(name: str, run: Any, description: str, remedy: str, error: Body) -> Check[ChatContext, ErrorOf]:
    return Check(name, run, description, remedy, static(error))


_TOKEN_CHECKS = [
    _chat("jwt_format", _jwt_format, "a 'jwt.'-prefixed compact JWS", _REAL_JWT, errors.FORBIDDEN),
    _chat("jwt_alg", _jwt_alg, "alg is RS256", _REAL_JWT, errors.FORBIDDEN),
    _chat("jwt_signature", _jwt_signature, "signed by the emulator's Avaya key", _REAL_JWT, errors.FORBIDDEN),
    _chat(
        "jwt_claims",
        _jwt_claims,
        "integrationId, customerId, accountId and exp are present",
        _REAL_JWT,
        errors.FORBIDDEN,
    ),
    _chat(
        "jwt_integration", _jwt_integration, "the JWT's integration is the one addressed", _REAL_JWT, errors.FORBIDDEN
    ),
    _chat("jwt_not_expired", _jwt_not_expired, "exp has not passed", _NEW_JWT, errors.UNAUTHORIZED),
]

CHAT_JWT: Pipeline[ChatContext, ErrorOf] = Pipeline(
    [
        _chat(
            "integration_exists",
            _sdk_integration_exists,
            "the integration in the path is registered",
            "Use a registered integrationId in the SDK's init()",
            errors.RESOURCE_NOT_FOUND,
        ),
        _chat(
            "appkey",
            _sdk_appkey,
            "the appkey header is the integration account's",
            "Pass the account's appkey to init()",
            errors.UNAUTHORIZED_APPKEY,
        ),
        *_TOKEN_CHECKS,
    ]
)

EXPLAIN: Pipeline[ChatContext, ErrorOf] = Pipeline(_TOKEN_CHECKS)
