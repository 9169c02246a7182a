"""The emulator's one clock.

Every expiry, age and not-before check in the emulator asks this clock, never ``time.time()``: tests and
users freeze it or move it (``POST /_emulator/clock``) to reproduce expiry on demand.

Modes:
    real    the wall clock
    offset  the wall clock plus a fixed offset (``advance`` from real time)
    frozen  a fixed instant that only moves when advanced
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

Mode = Literal["real", "frozen", "offset"]


class Clock:
    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall
        self._offset = 0.0
        self._frozen: float | None = None

    @property
    def mode(self) -> Mode:
        if self._frozen is not None:
            return "frozen"
        return "offset" if self._offset else "real"

    def now(self) -> float:
        """Seconds since the epoch, as the emulator sees them."""
        if self._frozen is not None:
            return self._frozen
        return self._wall() + self._offset

    def freeze(self, at: float | None = None) -> None:
        """Stop the clock at ``at`` (epoch seconds), or at the current emulator time."""
        self._frozen = self.now() if at is None else float(at)
        self._offset = 0.0

    def advance(self, seconds: float) -> None:
        """Move the clock by ``seconds`` (negative moves it back). A running clock keeps running."""
        if self._frozen is not None:
            self._frozen += seconds
        else:
            self._offset += seconds

    def real(self) -> None:
        """Back to the wall clock."""
        self._frozen = None
        self._offset = 0.0

    reset = real

    def snapshot(self) -> dict[str, float | str]:
        return {"now": self.now(), "mode": self.mode}
