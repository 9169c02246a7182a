"""What the agent sees: the verified claims mapped to Live Assist's secure visitor attributes.

Standard claims map to SDE fields ([DOC] P1 "Standard Claim Set"); ``lp_sdes`` carries SDEs in LivePerson's form,
an array of ``{"type": "ctmrinfo", "info": {...}}`` / ``{"type": "personal", "personal": {...}}`` ([DOC] P1, P12).
A single SDE object, or a JSON string of either, is accepted too (the Power Apps portal sends a string). Types and
fields that are not supported in an authenticated flow are dropped, and each drop is reported with its reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# [DOC] P12 "Supported in Authenticated Flow?" = yes
CTMRINFO_FIELDS = frozenset(
    {
        "type", "ctype", "cstatus", "balance", "currency", "customerId", "socialId", "imei", "userName",
        "companySize", "companyBranch", "accountName", "role", "lastPaymentDate", "registrationDate", "loginStatus",
    }
)  # fmt: skip
PERSONAL_FIELDS = frozenset({"firstname", "lastname", "age", "contacts", "gender", "company", "language"})
_UNSUPPORTED_TYPES = {"mrktInfo", "lead", "service", "error", "searchInfo", "purchase", "cart", "viewedProduct"}

# [DOC] P1 claim -> SDE mapping
STANDARD_CLAIMS = {
    "sub": ("customerInfo", "customerId"),
    "preferred_username": ("customerInfo", "userName"),
    "given_name": ("personalInfo", "firstname"),
    "family_name": ("personalInfo", "lastname"),
    "gender": ("personalInfo", "gender"),
    "email": ("personalInfo", "contacts.email"),
    "phone_number": ("personalInfo", "contacts.phone"),
}


@dataclass
class Attributes:
    customer_info: dict[str, Any] = field(default_factory=dict)
    personal_info: dict[str, Any] = field(default_factory=dict)
    dropped: list[dict[str, str]] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        return {"customerInfo": self.customer_info, "personalInfo": self.personal_info}


def _contact(personal: dict[str, Any]) -> dict[str, Any]:
    contacts = personal.setdefault("contacts", [{}])
    if not contacts or not isinstance(contacts[0], dict):
        personal["contacts"] = contacts = [{}]
    return contacts[0]


def attributes_from(claims: dict[str, Any]) -> Attributes:
    attributes = Attributes()
    for claim, (section, name) in STANDARD_CLAIMS.items():
        value = claims.get(claim)
        if value is None:
            continue
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            attributes.dropped.append({"field": claim, "why": "a standard claim must be a string"})
            continue
        target = attributes.customer_info if section == "customerInfo" else attributes.personal_info
        if name.startswith("contacts."):
            _contact(target)[name.split(".", 1)[1]] = value
        else:
            target[name] = value
    if "lp_sdes" in claims:
        _sdes(claims["lp_sdes"], attributes)
    return attributes


def _sdes(value: Any, attributes: Attributes) -> None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            attributes.dropped.append({"field": "lp_sdes", "why": "a string that is not JSON"})
            return
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        attributes.dropped.append({"field": "lp_sdes", "why": f"a {type(value).__name__}, not an array of SDEs"})
        return
    for index, sde in enumerate(value):
        where = f"lp_sdes[{index}]"
        kind = sde.get("type") if isinstance(sde, dict) else None
        if kind == "ctmrinfo":
            _copy(sde.get("info"), CTMRINFO_FIELDS, attributes.customer_info, f"{where}.info", attributes)
        elif kind == "personal":
            _copy(sde.get("personal"), PERSONAL_FIELDS, attributes.personal_info, f"{where}.personal", attributes)
        elif kind in _UNSUPPORTED_TYPES:
            attributes.dropped.append(
                {"field": where, "why": f"SDE type {kind!r} is not supported in an authenticated flow"}
            )
        else:
            why = f"unknown SDE type {kind!r}" if kind else "not an SDE object with a 'type'"
            hint = " (LivePerson's form is {'type': 'ctmrinfo', 'info': {...}})" if isinstance(sde, dict) else ""
            attributes.dropped.append({"field": where, "why": why + hint})


def _copy(body: Any, allowed: frozenset[str], target: dict[str, Any], where: str, attributes: Attributes) -> None:
    if not isinstance(body, dict):
        attributes.dropped.append({"field": where, "why": "missing or not an object"})
        return
    for name, value in body.items():
        if name == "customerId" and target.get("customerId") not in (None, value):
            why = f"sub already sets customerInfo.customerId ({target['customerId']!r}); sub, the consumer's id, wins"
            attributes.dropped.append({"field": f"{where}.{name}", "why": why})
        elif name in allowed:
            target[name] = value
        elif name in ("storeZipCode", "storeNumber"):
            attributes.dropped.append(
                {"field": f"{where}.{name}", "why": "not supported in an authenticated flow ([DOC] P12)"}
            )
        else:
            attributes.dropped.append(
                {"field": f"{where}.{name}", "why": "not a field of this SDE type in an authenticated flow"}
            )
