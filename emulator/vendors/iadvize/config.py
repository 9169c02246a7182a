"""iAdvize configuration: the emulator's own "iAdvize" key, operators, and projects (websites).

The same parser reads ``[iadvize]`` in a config file and the JSON body of
``PUT /_emulator/tenants/iadvize/<projectId>``, so both accept exactly the same fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from emulator.config import ConfigError, SecretHash, emulator_rsa_key, require_known, seconds, tenant_tables
from emulator.core.keys import Key, KeyFormatError, load_key

MIN_RSA_BITS = 2048
DEFAULT_TOKEN_MAX_AGE = 60  # [DOC] "by default, it is set at 1 minute"
DEFAULT_SESSION_LIFETIME = 3600  # [DOC] "by default, it is set at 60 minute"
DEFAULT_CLOCK_SKEW = 30  # [EMU] research §8.1 suggests about 30 s
DEFAULT_SESSION_ISSUER = "https://api.iadvize.com"  # [EMU] the real session token's iss is undocumented
_PROJECT_ID = re.compile(r"^[1-9][0-9]{0,17}$")
_USERNAME = re.compile(r"^[^\s/]{1,254}$")

PROJECT_FIELDS = {
    "projectId",
    "brandPublicKeys",
    "authenticationEnabled",
    "tokenMaxAge",
    "sessionLifetime",
    "clockSkew",
    "issuer",
}
_SETTINGS_FIELDS = {"emulatorKey", "sessionIssuer", "users", "projects"}


def parse_project_id(value: Any) -> str:
    """iAdvize project ids are LegacyId integers; "7011" and 7011 are the same project."""
    text = str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if not _PROJECT_ID.fullmatch(text):
        raise ConfigError(f"projectId: a positive integer (iAdvize LegacyId) is required, got {value!r}")
    return text


def parse_brand_key(material: Any, index: int) -> Key:
    where = f"brandPublicKeys[{index}]"
    if not isinstance(material, str | dict):
        raise ConfigError(f"{where}: a PEM, single-line base64 SPKI or JWK is required")
    try:
        key = load_key(material, source=where)
    except KeyFormatError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    if key.is_private:
        raise ConfigError(
            f"{where}: this is a private key. Give iAdvize (and the emulator) only the public key: "
            "openssl rsa -in rsaPrivateKey.pem -pubout -out rsaPublicKey.pem"
        )
    if not isinstance(key.public, rsa.RSAPublicKey):
        raise ConfigError(f"{where}: iAdvize verifies RS256 signatures, so the brand key must be RSA, got {key.kty}")
    if key.bits < MIN_RSA_BITS:
        raise ConfigError(f"{where}: RSA key of {key.bits} bits; at least {MIN_RSA_BITS} bits are required")
    return key


@dataclass(frozen=True)
class Project:
    project_id: str
    brand_keys: tuple[Key, ...]
    authentication_enabled: bool = True
    token_max_age: float = DEFAULT_TOKEN_MAX_AGE
    session_lifetime: float = DEFAULT_SESSION_LIFETIME
    clock_skew: float = DEFAULT_CLOCK_SKEW
    issuer: str | None = None

    @classmethod
    def from_json(cls, project_id: Any, body: Any) -> Project:
        if not isinstance(body, dict):
            raise ConfigError("the project must be a JSON object")
        require_known(body, PROJECT_FIELDS)
        pid = parse_project_id(project_id)
        if "projectId" in body and parse_project_id(body["projectId"]) != pid:
            raise ConfigError(f"projectId in the body ({body['projectId']!r}) differs from the one in the path ({pid})")
        if "brandPublicKeys" not in body:
            raise ConfigError("brandPublicKeys: required (a list of the brand's RSA public keys; may be empty)")
        keys_in = body["brandPublicKeys"]
        if not isinstance(keys_in, list):
            raise ConfigError("brandPublicKeys: a list is required")
        keys = tuple(parse_brand_key(material, i) for i, material in enumerate(keys_in))
        if len({k.kid for k in keys}) != len(keys):
            raise ConfigError("brandPublicKeys: the same key is listed twice")
        enabled = body.get("authenticationEnabled", True)
        if not isinstance(enabled, bool):
            raise ConfigError("authenticationEnabled: true or false")
        issuer = body.get("issuer")
        if issuer is not None and (not isinstance(issuer, str) or not issuer):
            raise ConfigError("issuer: null (no iss check) or a non-empty string")
        return cls(
            project_id=pid,
            brand_keys=keys,
            authentication_enabled=enabled,
            token_max_age=seconds(body, "tokenMaxAge", DEFAULT_TOKEN_MAX_AGE, 1, 366 * 86400),
            session_lifetime=seconds(body, "sessionLifetime", DEFAULT_SESSION_LIFETIME, 1, 366 * 86400),
            clock_skew=seconds(body, "clockSkew", DEFAULT_CLOCK_SKEW, 0, 3600),
            issuer=issuer,
        )

    def public_view(self) -> dict[str, Any]:
        return {
            "projectId": self.project_id,
            "brandPublicKeys": [key.public_pem() for key in self.brand_keys],
            "brandKeys": [key.describe() for key in self.brand_keys],
            "authenticationEnabled": self.authentication_enabled,
            "tokenMaxAge": self.token_max_age,
            "sessionLifetime": self.session_lifetime,
            "clockSkew": self.clock_skew,
            "issuer": self.issuer,
        }


@dataclass(frozen=True)
class Operator:
    """An iAdvize user allowed on /oauth2/token. Only a salted hash of the password is kept."""

    username: str
    password: SecretHash = field(repr=False)

    @classmethod
    def create(cls, username: Any, password: Any) -> Operator:
        if not isinstance(username, str) or not _USERNAME.fullmatch(username):
            raise ConfigError("username: a non-empty string without spaces or '/' is required")
        if not isinstance(password, str) or not password:
            raise ConfigError("password: a non-empty string is required")
        return cls(username, SecretHash.of(password))

    def check(self, password: str) -> bool:
        return self.password.matches(password)


@dataclass(frozen=True)
class IAdvizeSettings:
    emulator_key: Key
    session_issuer: str
    operators: tuple[Operator, ...]
    projects: tuple[Project, ...]

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> IAdvizeSettings:
        require_known(section, _SETTINGS_FIELDS, "[iadvize]")
        key = emulator_rsa_key(section.get("emulatorKey"), "[iadvize] emulatorKey", MIN_RSA_BITS)
        issuer = section.get("sessionIssuer", DEFAULT_SESSION_ISSUER)
        if not isinstance(issuer, str) or not issuer:
            raise ConfigError("[iadvize] sessionIssuer: a non-empty string")
        if not isinstance(section.get("users", []), list):  # projects: checked by tenant_tables
            raise ConfigError("[iadvize] users: a list of tables is required ([[iadvize.users]])")
        operators: dict[str, Operator] = {}
        for i, user in enumerate(section.get("users", [])):
            if not isinstance(user, dict) or set(user) - {"username", "password"}:
                raise ConfigError(f"[[iadvize.users]] #{i + 1}: a table with username and password")
            try:
                op = Operator.create(user.get("username"), user.get("password"))
            except ConfigError as exc:
                raise ConfigError(f"[[iadvize.users]] #{i + 1}: {exc}") from exc
            operators[op.username] = op
        projects = tenant_tables(
            section,
            "iadvize",
            "projects",
            lambda raw: Project.from_json(raw.get("projectId"), raw),
            lambda p: p.project_id,
        )
        return cls(key, issuer, tuple(operators.values()), projects)
