"""Brand-side minting for offline work: what a brand's backend does to authenticate a visitor.

JWS (RS256, brand private key) with the iAdvize claims, nested in a JWE (RSA-OAEP-256, A256GCM) encrypted to
the iAdvize public key (here: the emulator's). The emulator's verification never uses this module, and its
tests build tokens with independent code, so a bug shared by minting and verifying cannot hide.
"""

from __future__ import annotations

import time
from typing import Any

from emulator.core.jose import jwe_encrypt, jws_sign
from emulator.core.keys import Key
from emulator.vendors.iadvize.checks import JWE_ALG, JWE_ENC, JWS_ALG, USER_ID, VISITOR_DATA


def iadvize_claims(
    user_id: str,
    *,
    visitor_data: dict[str, str] | None = None,
    ttl: float = 60,
    now: float | None = None,
    issuer: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {USER_ID: user_id}
    if visitor_data is not None:
        claims[VISITOR_DATA] = visitor_data
    if issuer is not None:
        claims["iss"] = issuer
    claims["exp"] = issued + int(ttl)
    claims.update(extra or {})
    return claims


def iadvize_jwe(claims: dict[str, Any], *, brand_key: Key, iadvize_key: Key) -> str:
    """Sign ``claims`` with the brand key and encrypt the JWS to the (emulator's) iAdvize public key."""
    jws = jws_sign(claims, brand_key, JWS_ALG)
    return jwe_encrypt(jws.encode("ascii"), iadvize_key, JWE_ALG, JWE_ENC, cty="JWT")
