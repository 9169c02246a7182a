"""Avaya tokens: the A&A access tokens of the brand's backend and the chat JWTs handed to the Chat SDK.

Pure of HTTP: routes.py and sdk.py read requests and shape answers; this module decides.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from emulator.core.checks import Trace
from emulator.core.jose import jws_sign
from emulator.core.runtime import Runtime
from emulator.vendors.avaya.checks import (
    ACCESS_TOKEN_KIND,
    CHAT_JWT,
    EXPLAIN,
    JWT_PREFIX,
    REFRESH_TOKEN_KIND,
    ChatContext,
    ErrorOf,
)
from emulator.vendors.avaya.config import AvayaSettings
from emulator.vendors.avaya.state import AvayaState, Customer
from emulator.vendors.avaya.validation import TokenRequest

# The Chat SDK decodes the payload segment with window.atob, which knows only standard base64: a base64url '-'
# or '_' in it makes init() fail with ACS-305. For ASCII JSON, base64url only yields those two characters from
# a '>', '?', '~' or DEL byte at a position = 2 (mod 3); escaping those inside strings as \\uXXXX (valid JSON)
# makes every payload atob-safe, whatever the customer's name or identifiers.
_ATOB_UNSAFE = {">": "\\u003e", "?": "\\u003f", "~": "\\u007e", "\x7f": "\\u007f"}


def atob_safe_json(claims: dict[str, Any]) -> bytes:
    text = json.dumps(claims, separators=(",", ":"), ensure_ascii=True)
    for char, escape in _ATOB_UNSAFE.items():
        text = text.replace(char, escape)
    return text.encode("ascii")


@dataclass
class ChatIdentity:
    """Who a verified chat JWT speaks for."""

    account_id: str
    integration_id: str
    customer_id: str
    customer_name: str | None

    @property
    def customer(self) -> Customer:
        return (self.account_id, self.integration_id, self.customer_id)


class AvayaService:
    def __init__(self, settings: AvayaSettings, state: AvayaState, runtime: Runtime) -> None:
        self.settings = settings
        self.state = state
        self.runtime = runtime

    # -- A&A: access tokens ----------------------------------------------------------------------------------
    def issue_access_token(self, account_id: str, client_id: str) -> dict[str, Any]:
        opaque = self.runtime.opaque
        payload = {"a": account_id, "c": client_id}
        return {
            "access_token": opaque.issue(ACCESS_TOKEN_KIND, {**payload, "n": secrets.token_hex(4)}),
            "expires_in": int(self.settings.access_token_lifetime),
            "refresh_token": opaque.issue(REFRESH_TOKEN_KIND, {**payload, "n": secrets.token_hex(4)}),
            "token_type": "Bearer",
        }

    # -- Generate JWT Token --------------------------------------------------------------------------------
    def chat_claims(self, account_id: str, request: TokenRequest) -> dict[str, Any]:
        now = int(self.runtime.clock.now())
        claims: dict[str, Any] = {
            "iss": self.settings.issuer,
            "sub": "userchatIntegration",  # [S1] the documented token's sub
            "integrationId": request.integration_id,
            "iat": now,  # [EMU] lets brands check lifetimes
            "exp": now + request.ttl * 60,
            "jti": str(uuid.uuid4()),
            # [EMU] who the token is for; Avaya does not document how it carries the customer
            "accountId": account_id,
            "customerId": request.customer_id,
            "verifiedCustomer": request.verified,
        }
        if request.customer_name is not None:
            claims["customerName"] = request.customer_name
        if request.identifiers:
            claims["customerIdentifiers"] = request.identifiers
        return claims

    def sign_chat_jwt(self, claims: dict[str, Any]) -> str:
        """'jwt.' + an RS256 JWS whose header is exactly {"alg":"RS256"}, as documented."""
        return JWT_PREFIX + jws_sign(atob_safe_json(claims), self.settings.signing_key, "RS256")

    # -- chat JWT verification -------------------------------------------------------------------------------
    def verify_sdk_call(
        self, integration_id: str, authorization: str | None, appkey: str | None
    ) -> tuple[Trace[ErrorOf], ChatContext]:
        ctx = ChatContext(
            self.settings,
            self.state,
            self.runtime.clock.now(),
            authorization,
            self.runtime.settings.max_token_bytes,
            integration_id=integration_id,
            appkey=appkey,
            integration_account=self.state.account_of_integration(integration_id),
        )
        return CHAT_JWT.run(ctx, ctx.warnings), ctx

    def explain(self, account_id: str, token: Any) -> tuple[Trace[ErrorOf], ChatContext]:
        ctx = ChatContext(
            self.settings,
            self.state,
            self.runtime.clock.now(),
            token,
            self.runtime.settings.max_token_bytes,
            account_id=account_id,
        )
        return EXPLAIN.run(ctx, ctx.warnings), ctx

    @staticmethod
    def identity(ctx: ChatContext) -> ChatIdentity:
        claims = ctx.claims
        name = claims.get("customerName")
        return ChatIdentity(
            account_id=str(claims["accountId"]),
            integration_id=str(claims["integrationId"]).lower(),
            customer_id=str(claims["customerId"]),
            customer_name=name if isinstance(name, str) else None,
        )
