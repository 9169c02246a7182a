"""Timing: a subject and its baseline in short interleaved batches; the median of the paired ratios."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

# A batch runs its workload ``n`` times and returns the seconds that took. Setup that must not be timed
# (resetting state) happens inside the batch, before its clock starts.
Batch = Callable[[int], float]


@dataclass(frozen=True)
class Result:
    name: str
    ratio: float  # median over rounds of subject time / baseline time
    subject: float  # median seconds per iteration
    baseline: float
    target: float

    @property
    def ok(self) -> bool:
        return self.ratio <= self.target

    def line(self) -> str:
        return (
            f"{self.name} ratio={self.ratio:.2f} target<={self.target:g} "
            f"abs={_ms(self.subject)} baseline={_ms(self.baseline)}"
        )


def _ms(seconds: float) -> str:
    ms = seconds * 1e3
    return f"{ms:.0f}ms" if ms >= 100 else f"{ms:.3g}ms"


def loop(work: Callable[[], object]) -> Batch:
    """A batch that calls ``work()`` n times."""

    def batch(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            work()
        return time.perf_counter() - start

    return batch


def compare(
    name: str,
    subject: Batch,
    baseline: Batch,
    *,
    target: float,
    number: int,
    rounds: int,
    warmup: int = 1,
) -> Result:
    """After ``warmup`` untimed batches of each, run ``rounds`` rounds of one batch of ``number`` iterations of
    each side, the order alternating from round to round, and take the median of the rounds' ratios.

    Short batches side by side see the same machine (frequency, other processes), so each round's ratio is
    fair even when absolute times drift; the median drops the rounds another process disturbed. The garbage
    collector stays on: collecting is part of what the work costs, and the rare full collection is dropped
    with the other outliers.
    """
    for _ in range(warmup):
        subject(number)
        baseline(number)
    subject_times: list[float] = []
    baseline_times: list[float] = []
    for index in range(rounds):
        if index % 2:
            baseline_times.append(baseline(number) / number)
            subject_times.append(subject(number) / number)
        else:
            subject_times.append(subject(number) / number)
            baseline_times.append(baseline(number) / number)
    ratio = statistics.median(s / b for s, b in zip(subject_times, baseline_times, strict=True))
    return Result(name, ratio, statistics.median(subject_times), statistics.median(baseline_times), target)
