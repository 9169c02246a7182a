"""One verification mechanism for every vendor: an ordered list of named checks.

A vendor's ``checks.py`` declares its ``Pipeline``: each ``Check`` has a stable name, the function that runs
it, the remedy shown when it fails and the vendor error it selects. Running the pipeline on a context gives a
``Trace``: one ``Outcome`` per check (passed, failed or not run) with expected and actual values. The first
failure stops the run and picks the vendor's error; the whole trace is the emulator's diagnosis, served beside
the vendor's answer (header, GraphQL extensions, journal, ``/_emulator/explain``).

A check function receives the vendor's mutable context object. It returns ``Pass(...)`` (or None) when the
check holds, and raises ``Fail(...)`` when it does not.
"""

from __future__ import annotations

import inspect
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

log = logging.getLogger("emulator.checks")
Status = Literal["passed", "failed", "not_run"]
C = TypeVar("C")
E = TypeVar("E")


@dataclass(slots=True)
class Pass:
    expected: Any = None
    actual: Any = None
    message: str = ""


class Fail(Exception):
    def __init__(self, message: str, *, expected: Any = None, actual: Any = None, remedy: str | None = None):
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.actual = actual
        self.remedy = remedy


@dataclass(frozen=True)
class Check(Generic[C, E]):
    name: str
    run: Callable[[C], Pass | None]
    description: str
    remedy: str
    error: E


def _json_safe(value: Any) -> Any:
    """A check's expected or actual value as strict JSON allows it: a non-finite float (a huge claim read as
    JavaScript reads it) becomes its JavaScript name, so the journal and explain can always serialise it."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return value


@dataclass(slots=True)
class Outcome:
    name: str
    status: Status
    description: str
    expected: Any = None
    actual: Any = None
    message: str = ""
    remedy: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"check": self.name, "status": self.status, "description": self.description}
        if self.status != "not_run":
            data["expected"] = _json_safe(self.expected)
            data["actual"] = _json_safe(self.actual)
            if self.message:
                data["message"] = self.message
        if self.status == "failed":
            data["remedy"] = self.remedy
        return data


@dataclass
class Trace(Generic[E]):
    outcomes: list[Outcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: E | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(o.status == "passed" for o in self.outcomes)

    @property
    def failed(self) -> Outcome | None:
        return next((o for o in self.outcomes if o.status == "failed"), None)

    def summary(self) -> str:
        """One line: what failed and why, or that every check passed."""
        failed = self.failed
        if failed is None:
            return f"ok: all {len(self.outcomes)} checks passed"
        return f"{failed.name}: {failed.message}"

    def to_dict(self) -> dict[str, Any]:
        failed = self.failed
        return {
            "ok": self.ok,
            "failedCheck": failed.name if failed else None,
            "summary": self.summary(),
            "remedy": failed.remedy if failed else None,
            "checks": [o.to_dict() for o in self.outcomes],
            "warnings": list(self.warnings),
        }


class Pipeline(Generic[C, E]):
    def __init__(self, checks: Iterable[Check[C, E]]) -> None:
        self.checks: tuple[Check[C, E], ...] = tuple(checks)
        names = [c.name for c in self.checks]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate check names in pipeline: {names}")

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.checks]

    def run(self, ctx: C, warnings: list[str] | None = None) -> Trace[E]:
        """Run the checks in order; the first failure stops the run. Every check must be synchronous."""
        trace: Trace[E] = Trace(warnings=warnings if warnings is not None else [])
        for index, check in enumerate(self.checks):
            try:
                result = check.run(ctx)
                if inspect.isawaitable(result):
                    if inspect.iscoroutine(result):
                        result.close()
                    raise TypeError(f"check {check.name!r} is asynchronous: run this pipeline with run_async")
            except Exception as exc:
                return self._stop(trace, index, _as_fail(check, exc))
            self._passed(trace, check, result)
        return trace

    async def run_async(self, ctx: C, warnings: list[str] | None = None) -> Trace[E]:
        """The same, for pipelines where some checks await (an outbound exchange, a JWKS fetch)."""
        trace: Trace[E] = Trace(warnings=warnings if warnings is not None else [])
        for index, check in enumerate(self.checks):
            try:
                result = check.run(ctx)
                if inspect.isawaitable(result):
                    result = await result
            except Exception as exc:
                return self._stop(trace, index, _as_fail(check, exc))
            self._passed(trace, check, result)
        return trace

    @staticmethod
    def _passed(trace: Trace[E], check: Check[C, E], result: Any) -> None:
        result = result or Pass()
        trace.outcomes.append(
            Outcome(check.name, "passed", check.description, result.expected, result.actual, result.message)
        )

    def _stop(self, trace: Trace[E], index: int, fail: Fail) -> Trace[E]:
        check = self.checks[index]
        trace.outcomes.append(
            Outcome(
                check.name,
                "failed",
                check.description,
                fail.expected,
                fail.actual,
                fail.message,
                fail.remedy or check.remedy,
            )
        )
        trace.error = check.error
        trace.outcomes.extend(Outcome(c.name, "not_run", c.description) for c in self.checks[index + 1 :])
        return trace


def _as_fail(check: Check[Any, Any], exc: Exception) -> Fail:
    """A check's Fail as is; anything else is a bug, which must not become a 500 or leak into the vendor answer."""
    if isinstance(exc, Fail):
        return exc
    log.error("check %r raised unexpectedly", check.name, exc_info=exc)
    return Fail(f"the emulator could not evaluate this check ({type(exc).__name__}: {exc}); please report it")


MILLISECONDS_FROM = 1e11  # a NumericDate over this (the year 5138) is taken for milliseconds


def numeric_date(
    claims: dict[str, Any], name: str, *, not_a_number: str, milliseconds: str, seconds: str
) -> float | None:
    """The JWT NumericDate claim ``name`` (RFC 7519 §2) as seconds, or None when absent (or null).

    Raises Fail when it is not a number (a boolean is not), when it is over 1e11 (milliseconds, not seconds),
    or when it is out of float range. ``not_a_number`` and ``milliseconds`` are the vendor's messages, templates
    of ``{name}`` and ``{value}``; ``seconds`` is the expected value shown for milliseconds. There is no isfinite
    check: claims come from jsonutil, which refuses NaN and Infinity, and an integer may be huge.
    """
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Fail(not_a_number.format(name=name, value=value), expected="NumericDate", actual=value)
    if value > MILLISECONDS_FROM:
        raise Fail(milliseconds.format(name=name, value=value), expected=seconds, actual=value)
    try:
        return float(value)
    except OverflowError:  # an integer below -1.8e308
        raise Fail(f"'{name}' is {value}: out of range", expected="NumericDate", actual=value) from None
