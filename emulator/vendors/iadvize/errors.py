"""Every string and error shape iAdvize's side shows, verbatim, with where it comes from.

[DOC]   iAdvize's public documentation (see ../shared/research/iadvize.md for the pages).
[SEED]  the FAQ copy this project was created from (seeds/000_92564edf5ea4bcd0.txt).
[EMU]   an emulator choice where iAdvize documents nothing; listed in the README's "emulator choices".
"""

from __future__ import annotations

from dataclasses import dataclass

# [SEED] FAQ error table, row "JWT not valid". iAdvize answers every credential refusal with this one string.
CREDENTIALS_REJECTED = "Failed to authenticate visitor from credentials : the website is not correctly setup (null)"

# [SEED] the FAQ's "What to do about it" column for that row, used as the remedies of the checks.
REMEDY_CLAIMS = "Ensure you set all the required claims with the right prefixes"
REMEDY_JWS_ALG = 'Ensure the JWT is signed with the right algorithm ("alg": "RS256")'
REMEDY_JWE_ALG = 'Ensure the JWE is encrypted with the right algorithm ("enc": "A256GCM", "alg": "RSA-OAEP-256")'
REMEDY_KEYS = (
    "Ensure you use the right private key and the right iAdvize public key. "
    "Ensure iAdvize setup your public key in your settings."
)

# [DOC] GraphQL API error management: request-level 401 "The token in the Authorization header was invalid
# or expired"; field errors carry extensions {name, retryPolicy}.
UNAUTHENTICATED = "The token in the Authorization header was invalid or expired"

# [DOC] GET /_authenticated with an invalid or expired token. Status 401 is [EMU].
INVALID_TOKEN_BODY = {"error_description": "access token not valid", "error": "invalid_token"}

# [EMU] the project of visitorAuthenticateAnonymously is unknown: iAdvize documents nothing for it.
ANONYMOUS_REJECTED = "Failed to authenticate visitor anonymously : the website is not correctly setup (null)"


@dataclass(frozen=True)
class GraphQLFailure:
    """A GraphQL field error as iAdvize shapes it: message + extensions {name, retryPolicy}."""

    message: str
    name: str  # [EMU] iAdvize's extensions.name for these failures is undocumented
    retry_policy: str = "NO_RETRY"  # [DOC] the documented example's value
    http_status: int = 200


CREDENTIALS_FAILURE = GraphQLFailure(CREDENTIALS_REJECTED, name="BAD_USER_INPUT")
ANONYMOUS_FAILURE = GraphQLFailure(ANONYMOUS_REJECTED, name="BAD_USER_INPUT")
UNAUTHENTICATED_FAILURE = GraphQLFailure(UNAUTHENTICATED, name="UNAUTHENTICATED", http_status=401)


# [DOC] OAuth2 token endpoint: only grant_type=password. Error bodies are undocumented: [EMU] RFC 6749 §5.2.
def oauth_error(error: str, description: str) -> dict[str, str]:
    return {"error": error, "error_description": description}


OAUTH_BAD_CREDENTIALS = oauth_error("invalid_grant", "Bad credentials")
OAUTH_UNSUPPORTED_GRANT = oauth_error("unsupported_grant_type", "Only the password grant type is supported")
