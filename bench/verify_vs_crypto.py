"""IAdvizeService.verify against the bare cryptography on the same token (target: at most 30% over the floor)."""

from __future__ import annotations

import time

from bench.fixtures import PROJECT_ID, Floor, emulator_app, iadvize_token
from bench.harness import Result, compare, loop

TARGET = 1.3


def run() -> Result:
    now = float(int(time.time()))
    _, service = emulator_app(now)
    floor = Floor()
    token = iadvize_token(now)

    verification = service.verify(PROJECT_ID, token)
    if not verification.ok:
        raise RuntimeError(f"the benchmark token does not verify: {verification.trace.summary()}")
    floor.open(token)

    return compare(
        "verify_vs_crypto",
        loop(lambda: service.verify(PROJECT_ID, token)),
        loop(lambda: floor.open(token)),
        target=TARGET,
        number=5,
        rounds=300,
    )
