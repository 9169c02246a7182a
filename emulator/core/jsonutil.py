"""Strict JSON parsing for everything that comes from outside.

Python's ``json`` accepts ``NaN``/``Infinity`` (not JSON) and lets ``1e999`` become ``inf``; a NaN ``exp``
compares false with everything and would slip past time checks. It also raises RecursionError (not
ValueError) on deeply nested arrays. ``loads`` turns all of these into ValueError.
"""

from __future__ import annotations

import json
import math
from typing import Any


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite_float)


def loads(data: str | bytes) -> Any:
    """json.loads, refusing NaN/Infinity and out-of-range numbers; any failure is a ValueError.
    Bytes must be UTF-8 (RFC 8259)."""
    try:
        return _DECODER.decode(data.decode("utf-8") if isinstance(data, bytes) else data)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc


def to_float(number: int | float) -> float:
    """A parsed JSON number as a float. Python keeps integers exact, so a 400-digit claim does not fit a float:
    it becomes ±inf, which is how JavaScript's JSON.parse (and so a Node vendor) reads it."""
    try:
        return float(number)
    except OverflowError:
        return math.inf if number > 0 else -math.inf
