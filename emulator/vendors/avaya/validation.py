"""Bean Validation of the Generate JWT Token body (GenerateJWTToken, [S1]), every violation at once.

Messages are Jakarta Bean Validation's defaults; codes 20002 (NotNull) and 20006 (Pattern) are documented, the
others are emulator choices (see errors.py). Like Jackson with Spring Boot's defaults, numeric strings are accepted
for ``ttl`` (the official sample backend sends ``"30"``) and a fractional number is truncated, "true"/"false" are
accepted for ``verifiedCustomer``, and unknown fields are ignored (each with a warning in the diagnosis). Sizes
count UTF-16 code units, as Java's String.length() does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from emulator.vendors.avaya import errors
from emulator.vendors.avaya.config import UUID

Violation = dict[str, Any]
FIELDS = ("integrationId", "customerId", "verifiedCustomer", "customerName", "customerIdentifiers", "ttl")
TTL_DEFAULT, TTL_MIN, TTL_MAX = 15, 15, 60
_INTEGER = re.compile(r"\s*-?[0-9]+\s*")  # ASCII digits only: str.isdigit() accepts '²'

_UUID_MESSAGE = f'must match "{UUID.pattern}"'


@dataclass(frozen=True)
class TokenRequest:
    integration_id: str
    customer_id: str
    verified: bool
    customer_name: str | None
    identifiers: dict[str, list[str]] | None
    ttl: int


def _length(value: Any) -> int:
    """Bean Validation's @Size counts Java String.length(): UTF-16 code units (an emoji counts 2)."""
    return len(value.encode("utf-16-le")) // 2 if isinstance(value, str) else len(value)


def _size(field: str, value: Any, low: int, high: int, out: list[Violation]) -> None:
    if not low <= _length(value) <= high:
        out.append(errors.violation(field, f"size must be between {low} and {high}", errors.CODE_SIZE))


def _string(field: str, value: Any, out: list[Violation]) -> str | None:
    if isinstance(value, bool | dict | list):
        out.append(errors.violation(field, "must be a string", errors.CODE_TYPE))
        return None
    return str(value) if isinstance(value, int | float) else value


def _boolean(value: Any, out: list[Violation]) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value in ("true", "false"):
        return value == "true"
    out.append(errors.violation("verifiedCustomer", "must be a boolean", errors.CODE_TYPE))
    return False


def _ttl(value: Any, out: list[Violation], warnings: list[str]) -> int:
    if value is None:
        return TTL_DEFAULT
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        value = int(value)
    elif isinstance(value, float):  # finite: the strict JSON parser refuses NaN and infinities
        if not value.is_integer():
            warnings.append(f"ttl {value} truncated to {int(value)} minutes (Jackson's default ACCEPT_FLOAT_AS_INT)")
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        out.append(errors.violation("ttl", "must be an integer (minutes)", errors.CODE_TYPE))
        return TTL_DEFAULT
    if value < TTL_MIN:
        out.append(errors.violation("ttl", f"must be greater than or equal to {TTL_MIN}", errors.CODE_MIN))
    elif value > TTL_MAX:
        out.append(errors.violation("ttl", f"must be less than or equal to {TTL_MAX}", errors.CODE_MAX))
    return value


def _identifiers(value: Any, out: list[Violation]) -> dict[str, list[str]] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        out.append(errors.violation("customerIdentifiers", "must be an object of string arrays", errors.CODE_TYPE))
        return None
    _size("customerIdentifiers", value, 1, 10, out)
    clean: dict[str, list[str]] = {}
    for key, items in value.items():
        field = f"customerIdentifiers.{key}"
        if len(key) > 50:
            out.append(errors.violation(field, "size must be between 1 and 50 (identifier name)", errors.CODE_SIZE))
        if not isinstance(items, list):
            out.append(errors.violation(field, "must be an array of strings", errors.CODE_TYPE))
            continue
        _size(field, items, 0, 5, out)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                out.append(errors.violation(f"{field}[{i}]", "must be a string", errors.CODE_TYPE))
            else:
                _size(f"{field}[{i}]", item, 1, 256, out)
        clean[key] = [i for i in items if isinstance(i, str)]
    return clean


def check_token_request(body: dict[str, Any]) -> tuple[TokenRequest | None, list[Violation], list[str]]:
    """(the normalised request or None, violations, warnings) for a GenerateJWTToken body."""
    out: list[Violation] = []
    warnings: list[str] = []
    integration = body.get("integrationId")
    if integration is None:
        out.append(errors.violation("integrationId", "must not be null", errors.CODE_NOT_NULL))
    else:
        integration = _string("integrationId", integration, out)
        if integration is not None and not UUID.fullmatch(integration):
            out.append(errors.violation("integrationId", _UUID_MESSAGE, errors.CODE_PATTERN))
    customer = body.get("customerId")
    if customer is None:
        out.append(errors.violation("customerId", "must not be null", errors.CODE_NOT_NULL))
    else:
        customer = _string("customerId", customer, out)
        if customer is not None:
            _size("customerId", customer, 1, 256, out)
    verified = _boolean(body.get("verifiedCustomer"), out)
    name = body.get("customerName")
    if name is not None:
        name = _string("customerName", name, out)
        if name is not None:
            _size("customerName", name, 0, 70, out)
    identifiers = _identifiers(body.get("customerIdentifiers"), out)
    ttl = _ttl(body.get("ttl"), out, warnings)
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        hint = " (displayName is an SDK init() parameter, not a token field)" if "displayName" in unknown else ""
        warnings.append(f"unknown field(s) {unknown} ignored{hint}")
    if identifiers and not verified:
        warnings.append("customerIdentifiers are ignored for an unverified customer (verifiedCustomer is false)")
    if out:
        return None, out, warnings
    request = TokenRequest(
        integration_id=str(integration).lower(),
        customer_id=str(customer),
        verified=verified,
        customer_name=name or None,
        identifiers=identifiers if verified else None,
        ttl=ttl,
    )
    return request, out, warnings
