"""Brand-side minting for offline work: the id_token a brand's identity provider hands to Live Assist.

An RS256 JWS (brand private key) with iss, iat, exp, sub and any visitor claims, optionally encrypted (JWE
RSA-OAEP-256 / A256GCM, with the key's kid) to Live Assist's public key, here the emulator's. The emulator's
verification never uses this module, and its tests build tokens with independent code.
"""

from __future__ import annotations

import time
from typing import Any

from emulator.core.jose import jwe_encrypt, jws_sign
from emulator.core.keys import Key


def liveassist_claims(
    sub: str, *, issuer: str, ttl: float = 3600, now: float | None = None, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    issued = int(time.time() if now is None else now)
    return {"iss": issuer, "iat": issued, "exp": issued + int(ttl), "sub": sub, **(extra or {})}


def liveassist_id_token(claims: dict[str, Any], *, brand_key: Key, encrypt_to: Key | None = None) -> str:
    token = jws_sign(claims, brand_key, "RS256", headers={"typ": "JWT"})
    if encrypt_to is None:
        return token
    return jwe_encrypt(token.encode("ascii"), encrypt_to, "RSA-OAEP-256", "A256GCM", cty="JWT", kid=encrypt_to.kid)
