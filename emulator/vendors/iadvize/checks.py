"""The iAdvize credentials pipeline (research/iadvize.md §8.3), in the order it runs.

The brand's ``credentials`` are a compact JWE (``alg`` RSA-OAEP-256, ``enc`` A256GCM) encrypted to the
iAdvize public key (here: the emulator's), wrapping a compact JWS signed RS256 with the brand's private key,
whose claims carry ``https://iadvize.com/userId`` and optionally ``https://iadvize.com/visitorData``.

Every failure answers with the same vendor string (errors.CREDENTIALS_REJECTED); the failed check, its
expected and actual values and the FAQ's remedy are the diagnosis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator.core.checks import Check, Fail, Pass, Pipeline, numeric_date
from emulator.core.jose import (
    Compact,
    JoseError,
    check_no_crit,
    check_size,
    json_object,
    jwe_decrypt,
    jws_verify,
    parse_compact,
)
from emulator.core.keys import Key
from emulator.vendors.iadvize import errors
from emulator.vendors.iadvize.config import Project
from emulator.vendors.iadvize.errors import GraphQLFailure
from emulator.vendors.iadvize.state import VISITOR_FIELDS

PREFIX = "https://iadvize.com/"
USER_ID = PREFIX + "userId"
VISITOR_DATA = PREFIX + "visitorData"
JWE_ALG = "RSA-OAEP-256"
JWE_ENC = "A256GCM"
JWS_ALG = "RS256"
MAX_USER_ID = 255  # [DOC] "It should be max 255 characters"


@dataclass
class Context:
    """What the checks read and derive. Built per verification; never shared between requests."""

    project_id: str
    token: Any
    now: float
    project: Project | None
    emulator_key: Key
    max_token_bytes: int
    jwe: Compact | None = None
    plaintext: bytes = b""
    jws: Compact | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    signer: Key | None = None
    payload: bytes = b""
    warnings: list[str] = field(default_factory=list)

    @property
    def skew(self) -> float:
        return self.project.clock_skew if self.project else 0.0


def _project_known(ctx: Context) -> Pass:
    if ctx.project is None:
        raise Fail(
            f"project {ctx.project_id} is not registered in the emulator",
            expected="a registered projectId",
            actual=ctx.project_id,
        )
    return Pass(actual=ctx.project_id)


def _authentication_enabled(ctx: Context) -> Pass:
    assert ctx.project is not None
    if not ctx.project.authentication_enabled:
        raise Fail(
            f"authenticated mode is off for project {ctx.project_id}",
            expected=True,
            actual=False,
        )
    return Pass(expected=True, actual=True)


def _token_size(ctx: Context) -> Pass:
    if not isinstance(ctx.token, str):
        raise Fail("credentials must be a string", expected="string", actual=type(ctx.token).__name__)
    try:
        size = check_size(ctx.token, ctx.max_token_bytes)
    except JoseError as exc:
        raise Fail(
            exc.message, expected=f"<= {ctx.max_token_bytes} bytes", actual=f"{exc.details['size']} bytes"
        ) from exc
    return Pass(expected=f"<= {ctx.max_token_bytes} bytes", actual=f"{size} bytes")


def _jwe_format(ctx: Context) -> Pass:
    expected = "compact JWE: 5 base64url segments (header.encryptedKey.iv.ciphertext.tag)"
    try:
        compact = parse_compact(ctx.token, expect=(3, 5), max_bytes=ctx.max_token_bytes)
    except JoseError as exc:
        message = exc.message
        if exc.code == "segments":
            message = f"the credentials have {exc.details['segments']} dot-separated segment(s); a compact JWE has 5"
        raise Fail(
            message,
            expected=expected,
            actual=exc.details.get("segments", exc.code),
            remedy="Send the compact JWE itself as credentials (five base64url segments separated by dots). "
            + errors.REMEDY_JWE_ALG,
        ) from exc
    if compact.kind == "JWS":
        raise Fail(
            "the credentials are a signed JWT (3 segments) that was not encrypted: iAdvize only accepts the "
            "signed JWT nested inside a JWE encrypted with the iAdvize public key",
            expected=expected,
            actual=f"compact JWS, header {compact.header}",
            remedy=errors.REMEDY_JWE_ALG,
        )
    ctx.jwe = compact
    return Pass(expected=expected, actual=f"JWE, header {compact.header}")


def _jwe_alg(ctx: Context) -> Pass:
    assert ctx.jwe is not None
    alg = ctx.jwe.header.get("alg")
    if alg != JWE_ALG:
        hint = " (RSA-OAEP uses SHA-1; iAdvize requires the SHA-256 variant)" if alg == "RSA-OAEP" else ""
        raise Fail(f"JWE key management algorithm is {alg!r}, not {JWE_ALG}{hint}", expected=JWE_ALG, actual=alg)
    return Pass(expected=JWE_ALG, actual=alg)


def _jwe_enc(ctx: Context) -> Pass:
    assert ctx.jwe is not None
    header = ctx.jwe.header
    enc = header.get("enc")
    if enc != JWE_ENC:
        raise Fail(f"JWE content encryption is {enc!r}, not {JWE_ENC}", expected=JWE_ENC, actual=enc)
    try:
        check_no_crit(header)
    except JoseError as exc:
        raise Fail(exc.message, expected="no 'crit' header", actual=header.get("crit")) from exc
    if "zip" in header and header["zip"] != "DEF":
        raise Fail(f"unknown JWE compression {header['zip']!r}", expected="no 'zip' (or DEF)", actual=header["zip"])
    kid = header.get("kid")
    if kid is not None and kid != ctx.emulator_key.kid:
        ctx.warnings.append(
            f"the JWE header names kid {kid!r}, which is not the emulator's iAdvize key ({ctx.emulator_key.kid!r}); "
            "iAdvize ignores kid, so decryption is tried anyway"
        )
    return Pass(expected=JWE_ENC, actual=enc)


def _jwe_decrypt(ctx: Context) -> Pass:
    assert ctx.jwe is not None
    try:
        ctx.plaintext = jwe_decrypt(ctx.jwe, ctx.emulator_key)
    except JoseError as exc:
        message = exc.message
        if exc.code == "unwrap_failed":
            message += (
                ": it was probably encrypted with another public key, e.g. iAdvize's production key instead of "
                "the emulator's (GET /_emulator/keys/iadvize)"
            )
        raise Fail(
            message,
            expected=f"encrypted to the emulator's iAdvize public key (kid {ctx.emulator_key.kid})",
            actual=exc.code,
        ) from exc
    return Pass(expected=f"decrypts with kid {ctx.emulator_key.kid}", actual=f"{len(ctx.plaintext)} bytes")


def _jws_format(ctx: Context) -> Pass:
    expected = "compact JWS: 3 base64url segments (header.payload.signature)"
    text = ctx.plaintext.decode("utf-8", errors="replace").strip()
    if text.startswith("{"):
        raise Fail(
            "the JWE contains bare JSON claims, not a signed JWT: sign the claims first (JWS, RS256), then "
            "encrypt that JWS",
            expected=expected,
            actual="JSON object",
        )
    try:
        ctx.jws = parse_compact(text, expect=(3,), max_bytes=ctx.max_token_bytes)
    except JoseError as exc:
        raise Fail(f"the decrypted content is not a JWS: {exc.message}", expected=expected, actual=exc.code) from exc
    cty = (ctx.jwe.header.get("cty") if ctx.jwe else None) or None
    if cty is not None and str(cty).upper() != "JWT":
        ctx.warnings.append(f"the JWE header has cty {cty!r}; a nested JWT usually says cty 'JWT' (or omits it)")
    return Pass(expected=expected, actual=f"JWS, header {ctx.jws.header}")


def _jws_alg(ctx: Context) -> Pass:
    assert ctx.jws is not None
    alg = ctx.jws.header.get("alg")
    if alg != JWS_ALG:
        what = "an unsigned JWT ('alg: none')" if str(alg).lower() == "none" else f"alg {alg!r}"
        raise Fail(f"the inner JWT is {what}; iAdvize verifies {JWS_ALG} only", expected=JWS_ALG, actual=alg)
    return Pass(expected=JWS_ALG, actual=alg)


def _brand_key_registered(ctx: Context) -> Pass:
    assert ctx.project is not None
    if not ctx.project.brand_keys:
        raise Fail(
            f"project {ctx.project_id} has no brand public key registered, so no signature can verify",
            expected="at least one brand public key",
            actual=0,
        )
    return Pass(expected=">= 1 brand key", actual=len(ctx.project.brand_keys))


def _jws_signature(ctx: Context) -> Pass:
    assert ctx.jws is not None and ctx.project is not None
    keys = list(ctx.project.brand_keys)
    kid = ctx.jws.header.get("kid")
    if kid is not None:
        keys.sort(key=lambda k: k.kid != kid)  # the named key first; iAdvize does not require kid
    for key in keys:
        try:
            payload = jws_verify(ctx.jws, key, {JWS_ALG})
        except JoseError:
            continue
        ctx.signer = key
        ctx.payload = payload
        return Pass(expected="signed by a registered brand key", actual=f"kid {key.kid}")
    signed_by_emulator = _verifies_with(ctx.jws, ctx.emulator_key)
    hint = (
        " It verifies with the emulator's own iAdvize key: the brand must sign with ITS private key."
        if signed_by_emulator
        else ""
    )
    raise Fail(
        f"the RS256 signature verifies with none of the project's {len(keys)} brand public key(s).{hint}",
        expected=[k.kid for k in ctx.project.brand_keys],
        actual=f"signature by an unknown key{f' (header kid {kid!r})' if kid else ''}",
    )


def _verifies_with(jws: Compact, key: Key) -> bool:
    try:
        jws_verify(jws, key, {JWS_ALG})
    except JoseError:
        return False
    return True


def _claims_json(ctx: Context) -> Pass:
    try:
        ctx.claims = json_object(ctx.payload, "JWT payload")
    except JoseError as exc:
        raise Fail(exc.message, expected="a JSON object of claims", actual=exc.code) from exc
    return Pass(expected="a JSON object of claims", actual=sorted(str(k) for k in ctx.claims))


def _user_id_present(ctx: Context) -> Pass:
    if USER_ID in ctx.claims:
        return Pass(expected=USER_ID, actual="present")
    near = [name for name in ctx.claims if isinstance(name, str) and name.lower().replace("_", "").endswith("userid")]
    hint = f"; found {near} instead: the claim name must be exactly {USER_ID!r}" if near else ""
    raise Fail(
        f"the claim {USER_ID!r} is missing{hint}",
        expected=USER_ID,
        actual=sorted(str(k) for k in ctx.claims),
    )


def _user_id_format(ctx: Context) -> Pass:
    value = ctx.claims[USER_ID]
    expected = f"a non-empty string of at most {MAX_USER_ID} characters"
    if not isinstance(value, str):
        raise Fail(f"{USER_ID} is a {type(value).__name__}, not a string", expected=expected, actual=value)
    if not value.strip():
        raise Fail(f"{USER_ID} is empty", expected=expected, actual=value)
    if len(value) > MAX_USER_ID:
        raise Fail(
            f"{USER_ID} has {len(value)} characters, over the {MAX_USER_ID}-character limit",
            expected=expected,
            actual=f"{len(value)} characters",
        )
    return Pass(expected=expected, actual=value)


def _visitor_data(ctx: Context) -> Pass:
    expected = "absent, or an object whose values are strings"
    prefixed = sorted(name for name in ctx.claims if isinstance(name, str) and name[len(PREFIX) :] in VISITOR_FIELDS)
    if prefixed:
        ctx.warnings.append(
            f"claims {prefixed} are ignored: visitor fields go unprefixed inside the {VISITOR_DATA!r} object"
        )
    if VISITOR_DATA not in ctx.claims:
        return Pass(expected=expected, actual="absent")
    data = ctx.claims[VISITOR_DATA]
    if not isinstance(data, dict):
        raise Fail(f"{VISITOR_DATA} is a {type(data).__name__}, not an object", expected=expected, actual=data)
    wrong = {k: v for k, v in data.items() if not isinstance(v, str)}
    if wrong:
        raise Fail(
            f"{VISITOR_DATA} values must be strings; not strings: {sorted(wrong)}",
            expected=expected,
            actual=wrong,
        )
    unknown = sorted(set(data) - set(VISITOR_FIELDS))
    if unknown:
        ctx.warnings.append(f"visitorData fields {unknown} are not visitor fields iAdvize knows; they are ignored")
    return Pass(expected=expected, actual=sorted(data))


def _number_claim(ctx: Context, name: str) -> float | None:
    return numeric_date(
        ctx.claims,
        name,
        not_a_number="'{name}' must be a number of seconds since the epoch",
        milliseconds="'{name}' is {value}: that looks like milliseconds; JWT times are in seconds",
        seconds="seconds since the epoch",
    )


def _exp_present(ctx: Context) -> Pass:
    exp = _number_claim(ctx, "exp")
    if exp is None:
        raise Fail("the 'exp' claim is missing", expected="exp (seconds since the epoch)", actual=None)
    return Pass(expected="exp present", actual=exp)


def _not_expired(ctx: Context) -> Pass:
    exp = float(ctx.claims["exp"])
    if exp <= ctx.now - ctx.skew:
        raise Fail(
            f"the token expired {ctx.now - exp:.0f} s ago (clock skew allowed: {ctx.skew:g} s)",
            expected=f"exp > now - skew = {ctx.now - ctx.skew:.0f}",
            actual=exp,
        )
    nbf = _number_claim(ctx, "nbf")
    if nbf is not None and nbf > ctx.now + ctx.skew:
        raise Fail(
            f"the token is not valid before {nbf:.0f}, {nbf - ctx.now:.0f} s from now",
            expected=f"nbf <= now + skew = {ctx.now + ctx.skew:.0f}",
            actual=nbf,
        )
    return Pass(expected=f"exp > {ctx.now - ctx.skew:.0f}", actual=exp)


def _token_lifetime(ctx: Context) -> Pass:
    assert ctx.project is not None
    exp = float(ctx.claims["exp"])
    iat = _number_claim(ctx, "iat")
    limit = ctx.project.token_max_age + ctx.skew
    if iat is not None:
        lifetime, basis = exp - iat, "exp - iat"
    else:
        lifetime, basis = exp - ctx.now, "exp - now"
    if lifetime > limit:
        raise Fail(
            f"the token lives {lifetime:.0f} s ({basis}), over the project's tokenMaxAge of "
            f"{ctx.project.token_max_age:g} s (+{ctx.skew:g} s skew)",
            expected=f"{basis} <= {limit:g}",
            actual=lifetime,
            remedy=f"Mint the token with exp at most {ctx.project.token_max_age:g} s after issuance "
            "(iAdvize recommends 1 minute)",
        )
    if iat is not None and iat > ctx.now + ctx.skew:
        raise Fail(
            f"'iat' is {iat - ctx.now:.0f} s in the future: the brand's clock is ahead",
            expected=f"iat <= now + skew = {ctx.now + ctx.skew:.0f}",
            actual=iat,
            remedy="Synchronise the clock of the server that mints the token (NTP)",
        )
    return Pass(expected=f"{basis} <= {limit:g}", actual=lifetime)


def _issuer(ctx: Context) -> Pass:
    assert ctx.project is not None
    expected = ctx.project.issuer
    actual = ctx.claims.get("iss")
    if expected is None:
        return Pass(expected=None, actual=actual, message="no issuer configured for the project: iss not checked")
    if actual != expected:
        raise Fail(f"iss is {actual!r}, the project expects {expected!r}", expected=expected, actual=actual)
    return Pass(expected=expected, actual=actual)


def _check(name: str, run: Any, description: str, remedy: str) -> Check[Context, GraphQLFailure]:
    return Check(name, run, description, remedy, errors.CREDENTIALS_FAILURE)


_SETUP = (
    "Register the project in the emulator (PUT /_emulator/tenants/iadvize/<projectId> or [[iadvize.projects]]); "
    "in production, iAdvize enables authenticated mode for your website"
)

PIPELINE: Pipeline[Context, GraphQLFailure] = Pipeline(
    [
        _check("project_known", _project_known, "the project (website) is known", _SETUP),
        _check(
            "authentication_enabled",
            _authentication_enabled,
            "authenticated mode is on for the project",
            "Ask iAdvize to enable authenticated mode (in the emulator: authenticationEnabled = true)",
        ),
        _check(
            "token_size",
            _token_size,
            "the credentials fit the size cap",
            "Send only the compact JWE as credentials; a brand JWE is about 1 KB (cap: [emulator] maxTokenBytes)",
        ),
        _check("jwe_format", _jwe_format, "the credentials are a compact JWE", errors.REMEDY_JWE_ALG),
        _check("jwe_alg", _jwe_alg, f"the JWE alg is {JWE_ALG}", errors.REMEDY_JWE_ALG),
        _check("jwe_enc", _jwe_enc, f"the JWE enc is {JWE_ENC}", errors.REMEDY_JWE_ALG),
        _check("jwe_decrypt", _jwe_decrypt, "the JWE decrypts with the iAdvize private key", errors.REMEDY_KEYS),
        _check("jws_format", _jws_format, "the JWE holds a compact JWS", errors.REMEDY_JWS_ALG),
        _check("jws_alg", _jws_alg, f"the JWS alg is {JWS_ALG}", errors.REMEDY_JWS_ALG),
        _check(
            "brand_key_registered",
            _brand_key_registered,
            "the project has a brand public key",
            errors.REMEDY_KEYS,
        ),
        _check("jws_signature", _jws_signature, "the JWS verifies with a brand public key", errors.REMEDY_KEYS),
        _check("claims_json", _claims_json, "the JWS payload is a JSON object of claims", errors.REMEDY_CLAIMS),
        _check("user_id_present", _user_id_present, f"the {USER_ID} claim is present", errors.REMEDY_CLAIMS),
        _check(
            "user_id_format",
            _user_id_format,
            f"{USER_ID} is a non-empty string of at most {MAX_USER_ID} characters",
            errors.REMEDY_CLAIMS,
        ),
        _check(
            "visitor_data",
            _visitor_data,
            f"{VISITOR_DATA} is absent or an object of strings",
            errors.REMEDY_CLAIMS,
        ),
        _check("exp_present", _exp_present, "the exp claim is present", errors.REMEDY_CLAIMS),
        _check(
            "not_expired",
            _not_expired,
            "exp has not passed (and nbf has)",
            "Mint a fresh token right before use",
        ),
        _check(
            "token_lifetime",
            _token_lifetime,
            "the token lifetime is within the project's tokenMaxAge",
            "Mint the token with a short lifetime (iAdvize recommends 1 minute)",
        ),
        _check(
            "issuer",
            _issuer,
            "iss matches the project's issuer, when one is configured",
            errors.REMEDY_CLAIMS,
        ),
    ]
)
