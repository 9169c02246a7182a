"""The Live Assist authentication pipeline (research/liveassist.md §6.4-6.5), in the order it runs.

Code flow: the ssoKey is an authorization code, exchanged with the brand's token endpoint for an id_token.
Implicit flow: the ssoKey is the id_token. Either way the id_token is a JWS (RS256) or a JWE (RSA-OAEP-256 or
RSA-OAEP, A256GCM or a CBC-HS enc) wrapping one, encrypted to the emulator's key. Every failure answers the same
way (the visitor goes to the offline survey); the failed check and its evidence are the diagnosis.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from emulator.core.checks import Check, Fail, Pass, Pipeline, numeric_date
from emulator.core.jose import (
    Compact,
    JoseError,
    check_no_crit,
    json_object,
    jwe_decrypt,
    jws_verify,
    parse_compact,
)
from emulator.core.keys import Key
from emulator.core.runtime import Runtime
from emulator.vendors.liveassist import brand
from emulator.vendors.liveassist.config import Connector, LiveAssistSettings
from emulator.vendors.liveassist.errors import AUTHENTICATION_FAILED
from emulator.vendors.liveassist.state import LiveAssistState

JWE_ALGS = ("RSA-OAEP-256", "RSA-OAEP")
JWE_ENCS = ("A256GCM", "A192GCM", "A128GCM", "A128CBC-HS256", "A192CBC-HS384", "A256CBC-HS512")


@dataclass
class Context:
    settings: LiveAssistSettings
    state: LiveAssistState
    runtime: Runtime
    account_id: str
    sso_key: Any
    redirect_uri: str | None
    code_verifier: str | None
    now: float
    exchange: bool = True  # False for explain: the ssoKey is an id_token whatever the flow
    connector: Connector | None = None
    id_token: str = ""
    exchange_answer: brand.BrandAnswer | None = None
    jwe: Compact | None = None
    jws: Compact | None = None
    signing_keys: list[Key] = field(default_factory=list)
    signer: Key | None = None
    payload: bytes = b""
    claims: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def code_flow(self) -> bool:
        return self.exchange and self.connector is not None and self.connector.flow == "code"

    @property
    def skew(self) -> float:
        return self.connector.clock_skew if self.connector else 0.0


def _connector_known(ctx: Context) -> Pass:
    ctx.connector = ctx.state.connectors.get(ctx.account_id)
    if ctx.connector is None:
        raise Fail(
            f"account {ctx.account_id} has no authentication connector", expected="a configured connector", actual=None
        )
    return Pass(actual=f"{ctx.connector.flow} flow, issuer {ctx.connector.issuer}")


def _sso_key_present(ctx: Context) -> Pass:
    what = "authorization code" if ctx.code_flow else "id_token"
    if not isinstance(ctx.sso_key, str) or not ctx.sso_key.strip():
        raise Fail(
            f"no ssoKey: the page's JS method gave no {what} (callback('', error) or a login that failed)",
            expected=f"ssoKey: the {what}",
            actual=ctx.sso_key,
        )
    return Pass(expected=what, actual=f"{len(ctx.sso_key)} characters")


async def _code_exchange(ctx: Context) -> Pass:
    connector = ctx.connector
    assert connector is not None
    if not ctx.code_flow:
        ctx.id_token = ctx.sso_key.strip()
        return Pass(message="implicit flow: the ssoKey is the id_token")
    code = ctx.sso_key.strip()
    digest = hashlib.sha256(code.encode()).hexdigest()
    seen = ctx.state.codes_seen.get((ctx.account_id, digest))
    if seen is None:
        ctx.state.codes_seen[(ctx.account_id, digest)] = ctx.now
    else:
        ctx.warnings.append(
            f"this code was already exchanged at {seen:.0f} ({ctx.now - seen:.0f} s ago): exchanged again; a brand "
            "token endpoint must refuse a code used twice (the real service does not retry)"
        )
    redirect = ctx.redirect_uri or connector.redirect_uri
    answer = await brand.exchange_code(connector, code, redirect, ctx.code_verifier if connector.pkce else None)
    ctx.exchange_answer = answer
    if not answer.ok:
        again = f" (this code was already exchanged {ctx.now - seen:.0f} s ago)" if seen is not None else ""
        raise Fail(
            f"the code exchange with {connector.token_endpoint} failed ({answer.kind}): {answer.message}{again}",
            expected="HTTP 200 JSON with an id_token",
            actual={"kind": answer.kind, "status": answer.status, "body": answer.body, "sent": answer.sent},
            remedy=_EXCHANGE_REMEDIES.get(answer.kind, _EXCHANGE_REMEDY),
        )
    ctx.id_token = str(answer.body["id_token"]).strip()
    return Pass(expected="an id_token", actual={"status": answer.status, "sent": answer.sent})


_EXCHANGE_REMEDY = 'Make the token endpoint answer 200 application/json with {"id_token": ...}'
_EXCHANGE_REMEDIES = {
    "timeout": "Answer within the connector's timeout, or raise it (timeout, seconds)",
    "connection_refused": "Start the brand token endpoint, or fix tokenEndpoint",
    "oauth_error": "Check the code (one-time, unexpired), redirect_uri and the client credentials (clientAuth)",
}


def _token_format(ctx: Context) -> Pass:
    try:
        compact = parse_compact(ctx.id_token, expect=(3, 5), max_bytes=ctx.runtime.settings.max_token_bytes)
    except JoseError as exc:
        raise Fail(
            f"the id_token is not a compact JWS or JWE: {exc.message}", expected="3 or 5 segments", actual=exc.code
        ) from exc
    if compact.kind == "JWE":
        ctx.jwe = compact
    else:
        ctx.jws = compact
    return Pass(expected="JWS (3) or JWE (5)", actual=f"{compact.kind}, header {compact.header}")


def _jwe_alg(ctx: Context) -> Pass:
    if ctx.jwe is None:
        return Pass(message="not encrypted (a signed JWT)")
    alg = ctx.jwe.header.get("alg")
    if alg not in JWE_ALGS:
        hint = " (the docs' RSA_OAEP_256 is Nimbus's name for RSA-OAEP-256)" if alg == "RSA_OAEP_256" else ""
        raise Fail(f"JWE alg {alg!r} is not accepted{hint}", expected=list(JWE_ALGS), actual=alg)
    return Pass(expected=list(JWE_ALGS), actual=alg)


def _jwe_enc(ctx: Context) -> Pass:
    if ctx.jwe is None:
        return Pass(message="not encrypted")
    header = ctx.jwe.header
    if header.get("enc") not in JWE_ENCS:
        raise Fail(f"JWE enc {header.get('enc')!r} is not accepted", expected=list(JWE_ENCS), actual=header.get("enc"))
    try:
        check_no_crit(header)
    except JoseError as exc:
        raise Fail(exc.message, expected="no 'crit'", actual=header.get("crit")) from exc
    return Pass(expected=list(JWE_ENCS), actual=header["enc"])


def _jwe_kid(ctx: Context) -> Pass:
    if ctx.jwe is None:
        return Pass(message="not encrypted")
    key, kid = ctx.settings.encryption_key, ctx.jwe.header.get("kid")
    if kid is None or kid == key.kid:
        return Pass(expected=key.kid, actual=kid)
    assert ctx.connector is not None
    message = f"the JWE names kid {kid!r}, which is no emulator key (ours: {key.kid!r})"
    if ctx.connector.strict_kid:
        raise Fail(message + " and the connector sets strictKid", expected=key.kid, actual=kid)
    ctx.warnings.append(message + "; decryption is tried with the current key")
    return Pass(expected=key.kid, actual=kid, message="unknown kid: decryption tried with the current key")


def _jwe_decrypt(ctx: Context) -> Pass:
    if ctx.jwe is None:
        return Pass(message="not encrypted")
    key = ctx.settings.encryption_key
    try:
        plaintext = jwe_decrypt(ctx.jwe, key)
    except JoseError as exc:
        hint = (
            ": it was probably encrypted with another public key, e.g. Live Assist's production certificate instead of "
            "the emulator's (GET /_emulator/keys/liveassist)"
            if exc.code == "unwrap_failed"
            else ""
        )
        raise Fail(
            exc.message + hint, expected=f"encrypted to the emulator's key (kid {key.kid})", actual=exc.code
        ) from exc
    try:
        ctx.jws = parse_compact(plaintext.decode("utf-8", "replace"), expect=(3,))
    except JoseError as exc:
        raise Fail(
            f"the JWE does not hold a signed JWT: {exc.message}", expected="a nested JWS (cty JWT)", actual=exc.code
        ) from exc
    return Pass(expected=f"kid {key.kid}", actual=f"decrypted: a JWS, header {ctx.jws.header}")


def _jws_alg(ctx: Context) -> Pass:
    assert ctx.jws is not None
    alg = ctx.jws.header.get("alg")
    if alg != "RS256":
        raise Fail(f"the id_token is signed {alg!r}; Live Assist only supports RS256", expected="RS256", actual=alg)
    return Pass(expected="RS256", actual=alg)


async def _signing_key(ctx: Context) -> Pass:
    connector = ctx.connector
    assert connector is not None and ctx.jws is not None
    if connector.jwt_public_key is not None:
        ctx.signing_keys = [connector.jwt_public_key]
        return Pass(expected="the connector's jwtPublicKey", actual=connector.jwt_public_key.kid)
    assert connector.jwks_url is not None
    kid = ctx.jws.header.get("kid")
    keys, fetched = await _jwks(ctx, refresh=False)
    if kid is not None and not any(k.kid == kid for k in keys) and not fetched:
        keys, _ = await _jwks(ctx, refresh=True)  # re-fetched once on an unknown kid (key rotation)
    if kid is not None:
        chosen = [k for k in keys if k.kid == kid]
        if not chosen:
            raise Fail(
                f"kid {kid!r} is not in the brand's JWKS, even after re-fetching it",
                expected=[k.kid for k in keys],
                actual=kid,
                remedy="Publish the signing key in the JWKS (keep the old key there while rotating)",
            )
        keys = chosen
    ctx.signing_keys = keys
    return Pass(expected=f"kid {kid!r}" if kid else "any JWKS key (no kid)", actual=[k.kid for k in keys])


async def _jwks(ctx: Context, refresh: bool) -> tuple[list[Key], bool]:
    """The JWKS keys, from the cache unless ``refresh``; (keys, fetched now). Never empty: a JWKS without a usable
    signing key is a failed fetch (brand.fetch_jwks answers no_keys), and only successful fetches are cached."""
    connector = ctx.connector
    assert connector is not None and connector.jwks_url is not None
    cached = ctx.state.jwks.get(connector.jwks_url)
    if cached is not None and not refresh:
        return cached, False
    keys, answer = await brand.fetch_jwks(connector.jwks_url, connector.timeout)
    if not answer.ok:
        raise Fail(
            f"fetching the JWKS {connector.jwks_url} failed ({answer.kind}): {answer.message}",
            expected='HTTP 200 JSON {"keys": [...]}',
            actual={"kind": answer.kind, "status": answer.status},
            remedy="Serve the JWKS at jwksUrl, or configure jwtPublicKey instead",
        )
    ctx.state.jwks[connector.jwks_url] = keys
    return keys, True


def _jws_signature(ctx: Context) -> Pass:
    assert ctx.jws is not None
    for key in ctx.signing_keys:
        try:
            ctx.payload = jws_verify(ctx.jws, key, {"RS256"})
        except JoseError:
            continue
        ctx.signer = key
        return Pass(expected=[k.kid for k in ctx.signing_keys], actual=key.kid)
    raise Fail(
        "the RS256 signature verifies with none of the brand keys configured for the connector",
        expected=[k.kid for k in ctx.signing_keys],
        actual="another key",
        remedy="Sign with the private key whose public half is the connector's jwtPublicKey (or in its JWKS)",
    )


def _claims_json(ctx: Context) -> Pass:
    try:
        ctx.claims = json_object(ctx.payload, "id_token payload")
    except JoseError as exc:
        raise Fail(exc.message, expected="a JSON object of claims", actual=exc.code) from exc
    return Pass(actual=sorted(ctx.claims))


def _issuer(ctx: Context) -> Pass:
    assert ctx.connector is not None
    expected, actual = ctx.connector.issuer, ctx.claims.get("iss")
    if actual != expected:
        hint = (
            " (iss is compared exactly, case and trailing slash included)"
            if isinstance(actual, str) and actual.lower().rstrip("/") == expected.lower().rstrip("/")
            else ""
        )
        raise Fail(f"iss is {actual!r}, the connector expects {expected!r}{hint}", expected=expected, actual=actual)
    return Pass(expected=expected, actual=actual)


def _seconds(ctx: Context, name: str, *, required: bool) -> float | None:
    if required and ctx.claims.get(name) is None:
        raise Fail(f"the '{name}' claim is missing", expected=f"{name}: seconds since 1970", actual=None)
    return numeric_date(
        ctx.claims,
        name,
        not_a_number="'{name}' must be a number of seconds",
        milliseconds="'{name}' is {value}: milliseconds, but the claim is seconds from 1970",
        seconds="seconds",
    )


def _iat(ctx: Context) -> Pass:
    iat = _seconds(ctx, "iat", required=True)
    assert iat is not None
    if iat > ctx.now + ctx.skew:
        raise Fail(
            f"iat is {iat - ctx.now:.0f} s in the future: the brand's clock is ahead",
            expected=f"<= {ctx.now + ctx.skew:.0f}",
            actual=iat,
        )
    return Pass(expected="seconds, not in the future", actual=iat)


def _exp(ctx: Context) -> Pass:
    exp = _seconds(ctx, "exp", required=True)
    assert exp is not None
    if exp <= ctx.now - ctx.skew:
        raise Fail(
            f"the id_token expired {ctx.now - exp:.0f} s ago (skew {ctx.skew:g} s)",
            expected=f"exp > {ctx.now - ctx.skew:.0f}",
            actual=exp,
        )
    return Pass(expected=f"exp > {ctx.now - ctx.skew:.0f}", actual=exp)


def _nbf(ctx: Context) -> Pass:
    nbf = _seconds(ctx, "nbf", required=False)
    if nbf is None:
        return Pass(message="no nbf")
    if nbf > ctx.now + ctx.skew:
        raise Fail(
            f"not valid before {nbf:.0f}, {nbf - ctx.now:.0f} s from now",
            expected=f"nbf <= {ctx.now + ctx.skew:.0f}",
            actual=nbf,
        )
    return Pass(expected=f"nbf <= {ctx.now + ctx.skew:.0f}", actual=nbf)


def _sub(ctx: Context) -> Pass:
    sub = ctx.claims.get("sub")
    if not isinstance(sub, str) or not sub.strip():
        raise Fail("'sub' (the consumer's id) is missing or empty", expected="a non-empty string", actual=sub)
    return Pass(expected="a non-empty string", actual=sub)


_KEYS = "Sign with the key configured in the connector (jwtPublicKey or JWKS); encrypt, if at all, to the emulator's"
_CLAIMS = "Put iss (exactly the connector's issuer), iat and exp (seconds) and sub in the id_token"


def _check(name: str, run: Any, description: str, remedy: str) -> Check[Context, dict[str, str]]:
    return Check(name, run, description, remedy, AUTHENTICATION_FAILED)


PIPELINE: Pipeline[Context, dict[str, str]] = Pipeline(
    [
        _check(
            "connector_known",
            _connector_known,
            "the account has an authentication connector",
            "Configure the connector: PUT /_emulator/tenants/liveassist/<accountId>",
        ),
        _check(
            "sso_key_present",
            _sso_key_present,
            "the request carries an ssoKey",
            "Make the page's JS method call callback(code or id_token)",
        ),
        _check(
            "code_exchange", _code_exchange, "code flow: the brand exchanges the code for an id_token", _EXCHANGE_REMEDY
        ),
        _check(
            "token_format",
            _token_format,
            "the id_token is a compact JWS or JWE",
            "Return the id_token as a compact JWT (3 segments) or JWE (5)",
        ),
        _check("jwe_alg", _jwe_alg, "a JWE uses RSA-OAEP-256 (or RSA-OAEP)", 'Encrypt with "alg": "RSA-OAEP-256"'),
        _check("jwe_enc", _jwe_enc, "a JWE uses A256GCM or a CBC-HS enc", 'Encrypt with "enc": "A256GCM"'),
        _check(
            "jwe_kid",
            _jwe_kid,
            "a JWE's kid names the emulator's key (or is absent)",
            "Use the kid of GET /_emulator/keys/liveassist",
        ),
        _check("jwe_decrypt", _jwe_decrypt, "a JWE decrypts with the emulator's key into a signed JWT", _KEYS),
        _check("jws_alg", _jws_alg, "the id_token is signed RS256", "Sign the id_token with RS256"),
        _check(
            "signing_key", _signing_key, "a brand signing key is available (jwtPublicKey, or the JWKS by kid)", _KEYS
        ),
        _check("jws_signature", _jws_signature, "the signature verifies with the brand key", _KEYS),
        _check("claims_json", _claims_json, "the payload is a JSON object", _CLAIMS),
        _check("issuer", _issuer, "iss equals the connector's issuer exactly", _CLAIMS),
        _check("iat", _iat, "iat is a number of seconds, not in the future", _CLAIMS),
        _check(
            "exp",
            _exp,
            "exp is a number of seconds, in the future",
            "Mint a fresh id_token (exp in the future, seconds)",
        ),
        _check("nbf", _nbf, "nbf, if present, has passed", _CLAIMS),
        _check("sub", _sub, "sub identifies the consumer", _CLAIMS),
    ]
)


def context(
    settings: LiveAssistSettings, state: LiveAssistState, runtime: Runtime, account_id: str, sso_key: Any, **more: Any
) -> Context:
    return Context(
        settings=settings,
        state=state,
        runtime=runtime,
        account_id=account_id,
        sso_key=sso_key,
        redirect_uri=more.get("redirect_uri"),
        code_verifier=more.get("code_verifier"),
        now=runtime.clock.now(),
        exchange=more.get("exchange", True),
    )
