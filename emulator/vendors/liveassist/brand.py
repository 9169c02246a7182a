"""Calls to the brand: the code exchange with its token endpoint, and its JWKS.

Never retried by the emulator (the real service does not retry a one-time code either). Every failure is
classified, so the diagnosis says what happened: timeout, connection refused, an HTTP status, a body that is not
JSON, a JSON answer without ``id_token``, or an OAuth error the brand returned.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import ssl
from dataclasses import dataclass, field
from typing import Any

from emulator.core import jsonutil
from emulator.core.keys import Key, KeyFormatError, load_key
from emulator.vendors.liveassist.config import Connector
from emulator.vendors.liveassist.errors import BRAND_OAUTH_ERRORS

MAX_ANSWER_BYTES = 256 * 1024


@dataclass
class BrandAnswer:
    """The outcome of one call to the brand. ``kind`` is "ok" or what went wrong."""

    kind: str
    message: str
    status: int | None = None
    body: Any = None
    sent: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One TLS context for every call to a brand: building one loads the CA bundle (tens of ms)."""
    import httpx

    return httpx.create_ssl_context()


async def _post_or_get(method: str, url: str, timeout: float, **kwargs: Any) -> tuple[BrandAnswer | None, int, bytes]:
    import httpx  # here, not at module level: only a code exchange or a JWKS needs it, and it costs start-up ~50 ms

    try:
        async with (
            httpx.AsyncClient(timeout=timeout, follow_redirects=False, verify=_ssl_context()) as client,
            client.stream(method, url, **kwargs) as response,
        ):
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_ANSWER_BYTES:
                    return (
                        BrandAnswer("too_large", f"the answer is over {MAX_ANSWER_BYTES} bytes", response.status_code),
                        0,
                        b"",
                    )
                chunks.append(chunk)
            return None, response.status_code, b"".join(chunks)
    except httpx.TimeoutException:
        return BrandAnswer("timeout", f"no answer within the connector's timeout ({timeout:g} s)"), 0, b""
    except httpx.ConnectError as exc:
        return BrandAnswer("connection_refused", f"could not connect to {url}: {exc}"), 0, b""
    except httpx.HTTPError as exc:
        return BrandAnswer("transport", f"{type(exc).__name__}: {exc}"), 0, b""


def _shown(name: str, value: str) -> str:
    """What the diagnosis may show of a form field: never a secret, and a code only as a short digest."""
    if name in ("client_secret", "code_verifier"):
        return "<redacted>"
    if name == "code":
        return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:16]
    return value


async def exchange_code(connector: Connector, code: str, redirect_uri: str, code_verifier: str | None) -> BrandAnswer:
    """POST the code to the brand's token endpoint, as Live Assist does ([DOC] P1/L2, research §6.4)."""
    assert connector.token_endpoint and connector.client_id and connector.client_secret
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if code_verifier is not None:
        form["code_verifier"] = code_verifier
    headers = {"Accept": "application/json"}
    if connector.client_auth == "basic":
        credentials = f"{connector.client_id}:{connector.client_secret}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode("ascii")
    else:
        form |= {"client_id": connector.client_id, "client_secret": connector.client_secret}
    sent = {
        "url": connector.token_endpoint,
        "clientAuth": connector.client_auth,
        "form": {k: _shown(k, v) for k, v in form.items()},
    }
    failure, status, raw = await _post_or_get(
        "POST", connector.token_endpoint, connector.timeout, data=form, headers=headers
    )
    if failure is not None:
        failure.sent = sent
        return failure
    try:
        body = jsonutil.loads(raw)
    except ValueError:
        preview = raw[:200].decode("utf-8", "replace")
        if status != 200:  # an error page, a bare 401, a redirect to a login page
            return BrandAnswer(
                "http_status",
                f"HTTP {status} (Live Assist expects 200 with an id_token): {preview!r}",
                status,
                sent=sent,
            )
        return BrandAnswer("not_json", f"HTTP 200 with a body that is not JSON: {preview!r}", status, sent=sent)
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        error = body["error"]
        meaning = BRAND_OAUTH_ERRORS.get(error, "an error value Live Assist does not document")
        description = body.get("error_description")
        detail = f" ({description})" if isinstance(description, str) and description != meaning else ""
        return BrandAnswer("oauth_error", f"HTTP {status}, error {error!r}: {meaning}{detail}", status, body, sent)
    if status != 200:
        return BrandAnswer(
            "http_status", f"HTTP {status} (Live Assist expects 200 with an id_token)", status, body, sent
        )
    if not isinstance(body, dict) or not isinstance(body.get("id_token"), str) or not body["id_token"]:
        fields = sorted(body) if isinstance(body, dict) else type(body).__name__
        return BrandAnswer("no_id_token", f"HTTP 200 but no id_token in the answer (got {fields})", status, sent=sent)
    return BrandAnswer("ok", "id_token received", status, {"id_token": body["id_token"]}, sent)


async def fetch_jwks(url: str, timeout: float) -> tuple[list[Key], BrandAnswer]:
    """The brand's signing keys from its JWKS (RSA keys for signatures; x5c-only keys accepted)."""
    failure, status, raw = await _post_or_get("GET", url, timeout, headers={"Accept": "application/json"})
    if failure is not None:
        return [], failure
    if status != 200:
        return [], BrandAnswer("http_status", f"the JWKS answered HTTP {status}", status)
    try:
        document = jsonutil.loads(raw)
    except ValueError:
        return [], BrandAnswer("not_json", "the JWKS is not JSON", status)
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return [], BrandAnswer("not_jwks", "the JWKS has no 'keys' array", status)
    keys: list[Key] = []
    skipped: list[str] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or entry.get("use") == "enc" or entry.get("alg") not in (None, "RS256"):
            skipped.append(f"keys[{index}] (not an RS256 signing key)")
            continue
        try:
            keys.append(load_key(entry, source=f"{url} keys[{index}]"))
        except KeyFormatError as exc:
            skipped.append(f"keys[{index}] ({exc})")
    message = f"{len(keys)} signing key(s)" + (f"; skipped {skipped}" if skipped else "")
    return keys, BrandAnswer("ok" if keys else "no_keys", message, status)
