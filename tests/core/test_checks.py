from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from emulator.core.checks import Check, Fail, Pass, Pipeline


@dataclass
class Ctx:
    value: int
    seen: list[str] = field(default_factory=list)


def positive(ctx: Ctx) -> Pass:
    ctx.seen.append("positive")
    if ctx.value <= 0:
        raise Fail("not positive", expected="> 0", actual=ctx.value)
    return Pass(expected="> 0", actual=ctx.value)


def even(ctx: Ctx) -> None:
    ctx.seen.append("even")
    if ctx.value % 2:
        raise Fail("odd", expected="even", actual=ctx.value, remedy="add one")


def small(ctx: Ctx) -> Pass:
    ctx.seen.append("small")
    return Pass()


PIPE = Pipeline(
    [
        Check("positive", positive, "value > 0", "use a positive number", "E_POS"),
        Check("even", even, "value is even", "use an even number", "E_EVEN"),
        Check("small", small, "always", "n/a", "E_SMALL"),
    ]
)


def test_all_pass() -> None:
    ctx = Ctx(4)
    trace = PIPE.run(ctx)
    assert trace.ok and trace.error is None and trace.failed is None
    assert [o.status for o in trace.outcomes] == ["passed"] * 3
    assert trace.summary() == "ok: all 3 checks passed"


def test_first_failure_stops_and_selects_the_error() -> None:
    ctx = Ctx(-3)
    trace = PIPE.run(ctx)
    assert not trace.ok
    assert trace.error == "E_POS"
    assert ctx.seen == ["positive"]
    assert [o.status for o in trace.outcomes] == ["failed", "not_run", "not_run"]
    data = trace.to_dict()
    assert data["failedCheck"] == "positive"
    assert data["checks"][0] == {
        "check": "positive",
        "status": "failed",
        "description": "value > 0",
        "expected": "> 0",
        "actual": -3,
        "message": "not positive",
        "remedy": "use a positive number",
    }
    assert data["checks"][1] == {"check": "even", "status": "not_run", "description": "value is even"}


def test_fail_may_override_the_remedy() -> None:
    trace = PIPE.run(Ctx(3))
    assert trace.error == "E_EVEN"
    assert trace.failed is not None and trace.failed.remedy == "add one"
    assert trace.summary() == "even: odd"


def test_duplicate_names_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        Pipeline([Check("a", small, "", "", 1), Check("a", small, "", "", 2)])


def test_an_unexpected_exception_fails_the_check_instead_of_escaping(caplog: pytest.LogCaptureFixture) -> None:
    def broken(ctx: Ctx) -> Pass:
        raise KeyError("boom")

    pipe = Pipeline([Check("broken", broken, "raises", "n/a", "E_BROKEN"), Check("small", small, "", "", "E")])
    trace = pipe.run(Ctx(1))
    assert trace.error == "E_BROKEN"
    assert trace.failed is not None and "KeyError" in trace.failed.message
    assert [o.status for o in trace.outcomes] == ["failed", "not_run"]
    assert "raised unexpectedly" in caplog.text


def test_async_checks_run_with_run_async_only() -> None:
    import asyncio

    async def remote(ctx: Ctx) -> Pass:
        await asyncio.sleep(0)
        if ctx.value > 10:
            raise Fail("too big", expected="<= 10", actual=ctx.value)
        return Pass(actual=ctx.value)

    pipe = Pipeline([Check("positive", positive, "", "", "E_POS"), Check("remote", remote, "", "", "E_REMOTE")])
    assert asyncio.run(pipe.run_async(Ctx(4))).ok
    trace = asyncio.run(pipe.run_async(Ctx(12)))
    assert trace.error == "E_REMOTE" and trace.failed is not None and trace.failed.message == "too big"
    sync = pipe.run(Ctx(4))  # an async check in a sync run is a bug, reported as that check's failure
    assert sync.error == "E_REMOTE" and sync.failed is not None and "run_async" in sync.failed.message


def test_non_finite_values_are_serialised_as_javascript_names() -> None:
    """A check may hold inf (a huge claim read as JavaScript reads it): to_dict gives strict JSON, so the journal
    and explain never fail to serialise a trace."""
    import json

    def infinite(ctx: Ctx) -> Pass:
        return Pass(expected=[float("-inf")], actual={"exp": float("inf"), "x": float("nan")})

    trace = Pipeline([Check("infinite", infinite, "d", "r", "E")]).run(Ctx(1))
    checks = json.loads(json.dumps(trace.to_dict(), allow_nan=False))["checks"]
    assert checks[0]["expected"] == ["-Infinity"]
    assert checks[0]["actual"] == {"exp": "Infinity", "x": "NaN"}
