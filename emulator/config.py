"""Configuration: the embedded defaults (``fixtures/default.toml``) or a user TOML file.

A user file replaces the defaults, unless it starts with ``extends = "default"``: then its tables are merged
over the defaults (tables merge key by key, arrays of tables are appended, and a tenant that appears twice
keeps its last definition).

Key material may be written inline (PEM, JWK, single-line base64) or as a path relative to the file that
names it. Paths are read when the file is loaded, so after merging every key is inline text; the vendors then
parse each key once into key objects (``emulator.core.keys``). Fields that hold keys are those whose name ends
in ``Key``, ``Keys``, ``Cert`` or ``Certificate``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric import rsa

from emulator.core.jose import MAX_TOKEN_BYTES
from emulator.core.keys import Key, KeyFormatError, load_key

T = TypeVar("T")

FIXTURES_ENV = "CHAT_EMULATOR_FIXTURES"
_KEY_FIELD = re.compile(r"(Key|Keys|Cert|Certificate)$")
_INLINE_B64 = re.compile(r"^[A-Za-z0-9+/_\-=\s]+$")
_EMULATOR_FIELDS = {"journalSize", "journalTokens", "secret", "maxTokenBytes"}


class ConfigError(ValueError):
    """Configuration (file or control-plane body) that cannot be used. The message names the field."""


def require_known(fields: Any, known: set[str], where: str = "") -> None:
    """Refuse unknown fields: a typo such as 'tokenMaxage' must not be silently ignored."""
    unknown = set(fields) - known
    if unknown:
        prefix = f"{where}: " if where else ""
        raise ConfigError(f"{prefix}unknown field(s) {sorted(unknown)}; known: {sorted(known)}")


@dataclass(frozen=True)
class SecretHash:
    """A password or client secret kept only as a salted SHA-256, compared in constant time, never shown."""

    salt: bytes = field(repr=False)
    digest: bytes = field(repr=False)

    @classmethod
    def of(cls, secret: str) -> SecretHash:
        salt = secrets.token_bytes(16)
        return cls(salt, hashlib.sha256(salt + secret.encode("utf-8")).digest())

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.digest, hashlib.sha256(self.salt + secret.encode("utf-8")).digest())


def seconds(fields: dict[str, Any], name: str, default: float, low: float, high: float, where: str = "") -> float:
    """A duration setting: a number (not a boolean) of seconds within [low, high]."""
    value = fields.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        prefix = f"{where} " if where else ""
        raise ConfigError(f"{prefix}{name}: a number of seconds between {low:g} and {high:g}, got {value!r}")
    return float(value)


def tenant_tables(
    section: dict[str, Any], vendor: str, name: str, parse: Callable[[dict[str, Any]], T], key: Callable[[T], str]
) -> tuple[T, ...]:
    """A vendor's ``[[<vendor>.<name>]]`` tables, each parsed by ``parse``; errors name the table by its position.
    A later table with the same id replaces the earlier one: that is how a file that ``extends`` the default
    configuration overrides one of its tenants."""
    items = section.get(name, [])
    if not isinstance(items, list):
        raise ConfigError(f"[{vendor}] {name}: a list of tables is required ([[{vendor}.{name}]])")
    parsed: dict[str, T] = {}
    for i, raw in enumerate(items):
        where = f"[[{vendor}.{name}]] #{i + 1}"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: a table is required")
        try:
            value = parse(raw)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from exc
        parsed[key(value)] = value
    return tuple(parsed.values())


def emulator_rsa_key(material: Any, where: str, min_bits: int = 2048) -> Key:
    """The emulator's own RSA private key for a vendor (parsed once, here)."""
    if not isinstance(material, str | dict):
        raise ConfigError(f"{where}: the emulator's RSA private key (PEM, JWK or a file path) is required")
    try:
        key = load_key(material, source=where)
    except KeyFormatError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    if not key.is_private or not isinstance(key.public, rsa.RSAPublicKey) or key.bits < min_bits:
        raise ConfigError(f"{where}: an RSA private key of at least {min_bits} bits is required")
    return key


def fixtures_dir() -> Path:
    """Where the default fixtures live: $CHAT_EMULATOR_FIXTURES, the wheel's copy, or the source tree."""
    override = os.environ.get(FIXTURES_ENV)
    if override:
        return Path(override)
    packaged = Path(__file__).parent / "_fixtures"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "fixtures"


def default_config_path() -> Path:
    return fixtures_dir() / "default.toml"


@dataclass(frozen=True)
class EmulatorSettings:
    secret: str
    journal_size: int = 1000
    journal_tokens: bool = True
    max_token_bytes: int = MAX_TOKEN_BYTES


@dataclass(frozen=True)
class Config:
    emulator: EmulatorSettings
    vendors: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: tuple[str, ...] = ()


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{path} is a directory, not a TOML file") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (TOML files are UTF-8)") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    _materialise_keys(data, path.parent, str(path))
    return data


def _is_inline(value: str) -> bool:
    text = value.strip()
    return "-----BEGIN" in text or text.startswith("{") or (len(text) >= 64 and bool(_INLINE_B64.match(text)))


def _read_key_value(value: str, base: Path, where: str) -> str:
    candidate = (base / value).expanduser() if not Path(value).is_absolute() else Path(value)
    if len(value) < 4096 and "\n" not in value and candidate.is_file():
        try:
            return candidate.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{where}: cannot read key file {candidate}: {exc}") from exc
    if _is_inline(value):
        return value
    raise ConfigError(f"{where}: key file not found: {candidate} (nor is the value inline PEM, JWK or base64)")


def _materialise_keys(node: Any, base: Path, where: str) -> None:
    """Replace key-file paths by their content, relative to the file that names them."""
    if isinstance(node, dict):
        for name, value in node.items():
            path = f"{where}: {name}"
            if isinstance(name, str) and _KEY_FIELD.search(name):
                if isinstance(value, str):
                    node[name] = _read_key_value(value, base, path)
                elif isinstance(value, list):
                    node[name] = [_read_key_value(v, base, path) if isinstance(v, str) else v for v in value]
                continue
            _materialise_keys(value, base, where)
    elif isinstance(node, list):
        for item in node:
            _materialise_keys(item, base, where)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for name, value in over.items():
        old = merged.get(name)
        if isinstance(old, dict) and isinstance(value, dict):
            merged[name] = _merge(old, value)
        elif isinstance(old, list) and isinstance(value, list) and all(isinstance(v, dict) for v in old + value):
            merged[name] = old + value
        else:
            merged[name] = value
    return merged


def _emulator_settings(section: Any) -> EmulatorSettings:
    if not isinstance(section, dict):
        raise ConfigError("[emulator] must be a table")
    require_known(section, _EMULATOR_FIELDS, "[emulator]")
    secret = section.get("secret")
    if not isinstance(secret, str) or len(secret) < 16:
        raise ConfigError("[emulator] secret: a string of at least 16 characters is required")
    size = section.get("journalSize", 1000)
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 1_000_000:
        raise ConfigError("[emulator] journalSize: an integer between 1 and 1000000")
    tokens = section.get("journalTokens", True)
    if not isinstance(tokens, bool):
        raise ConfigError("[emulator] journalTokens: true or false")
    cap = section.get("maxTokenBytes", MAX_TOKEN_BYTES)
    if not isinstance(cap, int) or isinstance(cap, bool) or not 1024 <= cap <= 1024 * 1024:
        raise ConfigError("[emulator] maxTokenBytes: an integer between 1024 and 1048576")
    return EmulatorSettings(secret=secret, journal_size=size, journal_tokens=tokens, max_token_bytes=cap)


def config_from_dict(data: dict[str, Any], sources: tuple[str, ...] = ()) -> Config:
    """Build a Config from already-merged TOML data (key material inline)."""
    data = dict(data)
    data.pop("extends", None)
    emulator = _emulator_settings(data.pop("emulator", None) or {})
    vendors: dict[str, dict[str, Any]] = {}
    for name, section in data.items():
        if not isinstance(section, dict):
            raise ConfigError(f"top-level '{name}' must be a table ([{name}])")
        vendors[name] = section
    return Config(emulator=emulator, vendors=vendors, sources=sources)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load the defaults, or a user file (replacing them, or extending them with ``extends = "default"``)."""
    default_path = default_config_path()
    if path is None:
        return config_from_dict(_read_toml(default_path), (str(default_path),))
    user_path = Path(path)
    user = _read_toml(user_path)
    extends = user.get("extends")
    if extends is None:
        return config_from_dict(user, (str(user_path),))
    if extends != "default":
        raise ConfigError(f'{user_path}: extends must be "default" (or absent to replace the defaults)')
    merged = _merge(_read_toml(default_path), user)
    return config_from_dict(merged, (str(default_path), str(user_path)))
