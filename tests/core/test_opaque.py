from __future__ import annotations

import pytest

from emulator.core.clock import Clock
from emulator.core.opaque import OpaqueTokenError, OpaqueTokens


def make() -> tuple[Clock, OpaqueTokens]:
    clock = Clock()
    clock.freeze(1_700_000_000)
    return clock, OpaqueTokens("a test secret of some length", clock)


def test_roundtrip_and_expiry_on_the_emulator_clock() -> None:
    clock, tokens = make()
    token = tokens.issue("kind-a", {"u": "x"})
    assert tokens.verify("kind-a", token, max_age=60) == {"u": "x"}
    clock.advance(61)
    with pytest.raises(OpaqueTokenError) as exc:
        tokens.verify("kind-a", token, max_age=60)
    assert exc.value.reason == "expired"


def test_clock_moved_back_is_not_yet_valid() -> None:
    clock, tokens = make()
    token = tokens.issue("kind-a", 1)
    clock.advance(-10)
    with pytest.raises(OpaqueTokenError) as exc:
        tokens.verify("kind-a", token, max_age=60)
    assert exc.value.reason == "not_yet_valid"


def test_kinds_do_not_mix_and_forgeries_fail() -> None:
    _, tokens = make()
    token = tokens.issue("kind-a", 1)
    with pytest.raises(OpaqueTokenError) as exc:
        tokens.verify("kind-b", token, max_age=60)
    assert exc.value.reason == "bad_signature"
    _, other = make()
    other_secret = OpaqueTokens("another secret entirely!", Clock())
    with pytest.raises(OpaqueTokenError):
        other.verify("kind-a", other_secret.issue("kind-a", 1), max_age=60)
    for junk in ["", "abc", None, 42, "a.b", "x" * 9000]:
        with pytest.raises(OpaqueTokenError) as exc:
            tokens.verify("kind-a", junk, max_age=60)
        assert exc.value.reason in {"malformed", "bad_signature"}
