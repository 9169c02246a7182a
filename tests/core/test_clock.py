from __future__ import annotations

from emulator.core.clock import Clock


class FakeWall:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_real_offset_frozen() -> None:
    wall = FakeWall(1000.0)
    clock = Clock(wall)
    assert (clock.now(), clock.mode) == (1000.0, "real")
    clock.advance(50)
    assert (clock.now(), clock.mode) == (1050.0, "offset")
    wall.t = 1010.0
    assert clock.now() == 1060.0  # an offset clock keeps running
    clock.freeze()
    wall.t = 5000.0
    assert (clock.now(), clock.mode) == (1060.0, "frozen")
    clock.advance(-60)
    assert clock.now() == 1000.0
    clock.freeze(42)
    assert clock.snapshot() == {"now": 42.0, "mode": "frozen"}
    clock.real()
    assert (clock.now(), clock.mode) == (5000.0, "real")


def test_advance_back_to_zero_offset_is_real() -> None:
    clock = Clock(FakeWall(10.0))
    clock.advance(5)
    clock.advance(-5)
    assert clock.mode == "real"
