"""What Live Assist shows when authentication fails or expires, and the brand-side OAuth errors it knows.

[DOC] Live Assist / LivePerson "Authenticated Interactions with OAuth 2.0" pages (research/liveassist.md).
[EMU] an emulator choice: Live Assist documents no HTTP body for these outcomes (README, "Live Assist: emulator
choices").
"""

from __future__ import annotations

# [DOC] "Consumers who are not currently logged in, or whose login effort failed, are unable to start a
# conversation with the designated agent. Instead, they are redirected to the Offline survey." Body: [EMU].
AUTHENTICATION_FAILED = {"error": "authentication_failed", "outcome": "offline-survey"}

# [DOC] "Upon JWT expiration, the customer side will be asked to provide a refreshed JWT." Body: [EMU].
TOKEN_EXPIRED = {"error": "token_expired", "outcome": "reauthenticate"}

# [DOC] the brand token endpoint's documented error values (P1/L2), and the OAuth 2.0 ones real IdPs return.
BRAND_OAUTH_ERRORS = {
    "json_parse_error": "There was a problem with the format of the JSON document provided.",
    "invalid_code": "The code provided is not valid.",
    "unauthorized_client": "The token was valid, but this subscriber is not authorized to use the messaging feature.",
    "invalid_grant": "The authorization code is invalid, expired, already used, or was issued to another client.",
    "invalid_client": "Client authentication failed (client_id / client_secret, Basic or body as configured).",
    "invalid_request": "The request is missing a parameter or is malformed.",
    "unsupported_grant_type": "The token endpoint does not accept grant_type=authorization_code.",
}
