"""Live Assist configuration: the emulator's encryption key (the "public key supplied by Live Assist") and one
authentication connector per account.

The same parser reads ``[[liveassist.connectors]]`` in a config file and the JSON body of
``PUT /_emulator/tenants/liveassist/<accountId>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from emulator.config import ConfigError, emulator_rsa_key, require_known, seconds, tenant_tables
from emulator.core.keys import Key, KeyFormatError, load_key

ACCOUNT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
DEFAULT_REDIRECT_URI = "https://liveperson.net"  # [DOC] P1: the token endpoint's default redirect_uri
DEFAULT_TIMEOUT = 10.0  # [EMU] the outbound exchange's timeout; nothing is documented
DEFAULT_SKEW = 30.0  # [EMU] no leeway is documented
CONNECTOR_FIELDS = {
    "accountId",
    "flow",
    "issuer",
    "jwtPublicKey",
    "jwksUrl",
    "tokenEndpoint",
    "clientId",
    "clientSecret",
    "clientAuth",
    "redirectUri",
    "pkce",
    "timeout",
    "strictKid",
    "clockSkew",
}
_SETTINGS_FIELDS = {"encryptionKey", "encryptionCertificate", "encryptionKid", "connectors"}


def _url(value: Any, name: str) -> str:
    if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc:
        raise ConfigError(f"{name}: an http(s) URL is required, got {value!r}")
    return value


def _text(body: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 2048:
        raise ConfigError(f"{name}: a non-empty string is required")
    return value


@dataclass(frozen=True)
class Connector:
    """The account's "Authenticated Chat" connector, as configured in the Live Assist console."""

    account_id: str
    flow: str  # "code" | "implicit"
    issuer: str
    jwt_public_key: Key | None
    jwks_url: str | None
    token_endpoint: str | None
    client_id: str | None
    client_secret: str | None
    client_auth: str  # "basic" | "body"
    redirect_uri: str
    pkce: bool
    timeout: float
    strict_kid: bool
    clock_skew: float

    @classmethod
    def from_json(cls, account_id: Any, body: Any) -> Connector:
        if not isinstance(account_id, str) or not ACCOUNT_ID.fullmatch(account_id):
            raise ConfigError(f"accountId: 1-64 letters, digits, '-' or '_' are required, got {account_id!r}")
        if not isinstance(body, dict):
            raise ConfigError("the connector must be a JSON object")
        require_known(body, CONNECTOR_FIELDS)
        if "accountId" in body and body["accountId"] != account_id:
            raise ConfigError(f"accountId in the body ({body['accountId']!r}) differs from the one in the path")
        flow = body.get("flow")
        if flow not in ("code", "implicit"):
            raise ConfigError(f'flow: "code" or "implicit" is required, got {flow!r}')
        issuer = _text(body, "issuer", required=True)
        key_material, jwks_url = body.get("jwtPublicKey"), body.get("jwksUrl")
        if (key_material is None) == (jwks_url is None):
            raise ConfigError(
                "give the brand's signing key as jwtPublicKey (base64 SPKI or PEM) or jwksUrl, exactly one"
            )
        key = _brand_key(key_material) if key_material is not None else None
        client_auth = body.get("clientAuth", "basic")
        if client_auth not in ("basic", "body"):
            raise ConfigError(f'clientAuth: "basic" (default) or "body", got {client_auth!r}')
        pkce, strict_kid = body.get("pkce", False), body.get("strictKid", False)
        if not isinstance(pkce, bool) or not isinstance(strict_kid, bool):
            raise ConfigError("pkce and strictKid: true or false")
        code = flow == "code"
        return cls(
            account_id=account_id,
            flow=flow,
            issuer=str(issuer),
            jwt_public_key=key,
            jwks_url=_url(jwks_url, "jwksUrl") if jwks_url is not None else None,
            token_endpoint=_url(body.get("tokenEndpoint"), "tokenEndpoint")
            if code or body.get("tokenEndpoint")
            else None,
            client_id=_text(body, "clientId", required=code),
            client_secret=_text(body, "clientSecret", required=code),
            client_auth=client_auth,
            redirect_uri=_url(body.get("redirectUri", DEFAULT_REDIRECT_URI), "redirectUri"),
            pkce=pkce,
            timeout=seconds(body, "timeout", DEFAULT_TIMEOUT, 0.1, 60),
            strict_kid=strict_kid,
            clock_skew=seconds(body, "clockSkew", DEFAULT_SKEW, 0, 3600),
        )

    def public_view(self) -> dict[str, Any]:
        return {
            "accountId": self.account_id,
            "flow": self.flow,
            "issuer": self.issuer,
            "jwtPublicKey": self.jwt_public_key.public_spki_b64() if self.jwt_public_key else None,
            "jwtPublicKeyInfo": self.jwt_public_key.describe() if self.jwt_public_key else None,
            "jwksUrl": self.jwks_url,
            "tokenEndpoint": self.token_endpoint,
            "clientId": self.client_id,
            "clientSecretSet": self.client_secret is not None,
            "clientAuth": self.client_auth,
            "redirectUri": self.redirect_uri,
            "pkce": self.pkce,
            "timeout": self.timeout,
            "strictKid": self.strict_kid,
            "clockSkew": self.clock_skew,
        }


def _brand_key(material: Any) -> Key:
    if not isinstance(material, str | dict):
        raise ConfigError("jwtPublicKey: a single-line base64 SPKI (as the console takes it), a PEM or a JWK")
    try:
        key = load_key(material, source="jwtPublicKey")
    except KeyFormatError as exc:
        raise ConfigError(f"jwtPublicKey: {exc}") from exc
    if key.is_private:
        raise ConfigError("jwtPublicKey: this is a private key; give Live Assist only the public key")
    if not isinstance(key.public, rsa.RSAPublicKey) or key.bits < 2048:
        raise ConfigError("jwtPublicKey: Live Assist verifies RS256 only: an RSA public key of at least 2048 bits")
    return key


@dataclass(frozen=True)
class LiveAssistSettings:
    encryption_key: Key
    certificate_pem: str
    connectors: tuple[Connector, ...]

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> LiveAssistSettings:
        require_known(section, _SETTINGS_FIELDS, "[liveassist]")
        kid = section.get("encryptionKid", "lpsso2026")
        if not isinstance(kid, str) or not kid:
            raise ConfigError("[liveassist] encryptionKid: a non-empty string")
        key = emulator_rsa_key(section.get("encryptionKey"), "[liveassist] encryptionKey")
        key = Key(kid=kid, public=key.public, private=key.private, source=key.source)
        certificate = section.get("encryptionCertificate")
        if not isinstance(certificate, str):
            raise ConfigError(
                "[liveassist] encryptionCertificate: the X.509 certificate (PEM) of encryptionKey is required"
            )
        try:
            cert = x509.load_pem_x509_certificate(certificate.encode())  # text around the PEM is skipped
        except ValueError as exc:
            raise ConfigError(f"[liveassist] encryptionCertificate: not a PEM certificate: {exc}") from exc
        if cert.public_key().public_numbers() != key.public.public_numbers():  # type: ignore[union-attr]
            raise ConfigError("[liveassist] encryptionCertificate: it is not the certificate of encryptionKey")
        connectors = tenant_tables(
            section,
            "liveassist",
            "connectors",
            lambda raw: Connector.from_json(raw.get("accountId"), raw),
            lambda c: c.account_id,
        )
        return cls(key, cert.public_bytes(serialization.Encoding.PEM).decode("ascii"), connectors)
