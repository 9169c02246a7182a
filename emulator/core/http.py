"""HTTP helpers shared by vendors and the control plane: capped body reading, JSON, diagnosis headers."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from emulator.core import jsonutil

MAX_BODY_BYTES = 1024 * 1024
DIAGNOSIS_HEADER = "X-Emulator-Diagnosis"
_MAX_HEADER_CHARS = 1500


class HTTPProblem(Exception):
    """Raise to answer with ``response`` (already shaped as the vendor or the control plane wants)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is over the {limit}-byte limit")
        self.limit = limit


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refusing (BodyTooLarge) before reading more than ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_form(request: Request, limit: int = 64 * 1024) -> dict[str, str]:
    """An application/x-www-form-urlencoded body as a dict (last value wins), capped."""
    return parse_form(await read_body(request, limit))


def parse_form(body: bytes) -> dict[str, str]:
    """An application/x-www-form-urlencoded body as a dict (last value wins); not UTF-8: read as Latin-1."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("latin-1")
    return dict(parse_qsl(text, keep_blank_values=True))


def parse_json(body: bytes) -> Any:
    """Parse JSON; raises ValueError with a readable message."""
    if not body.strip():
        raise ValueError("the body is empty")
    try:
        return jsonutil.loads(body)
    except UnicodeDecodeError as exc:
        raise ValueError("the body is not UTF-8") from exc
    except ValueError as exc:
        raise ValueError(f"the body is not JSON: {exc}") from exc


async def json_body(request: Request, limit: int = MAX_BODY_BYTES) -> Any:
    """The JSON body, or HTTPProblem (413 over ``limit``, 400 not JSON) for the control plane's handler."""
    try:
        return parse_json(await read_body(request, limit))
    except BodyTooLarge as exc:
        raise HTTPProblem(problem(413, str(exc))) from exc
    except ValueError as exc:
        raise HTTPProblem(problem(400, str(exc))) from exc


def header_safe(text: str, limit: int = _MAX_HEADER_CHARS) -> str:
    """Fold text into one printable-ASCII header value."""
    flat = " ".join(text.split())
    ascii_only = flat.encode("ascii", "backslashreplace").decode("ascii")
    return ascii_only if len(ascii_only) <= limit else ascii_only[: limit - 3] + "..."


def with_diagnosis(response: Response, diagnosis: str | None) -> Response:
    if diagnosis:
        response.headers[DIAGNOSIS_HEADER] = header_safe(diagnosis)
    return response


def problem(status: int, message: str, **extra: Any) -> JSONResponse:
    """The control plane's error shape: {"error": "...", ...}."""
    return JSONResponse({"error": message, **extra}, status_code=status)
