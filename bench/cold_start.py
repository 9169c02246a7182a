"""Start-up: import the emulator, create_app() on the default fixtures and verify a first token, in a fresh
interpreter, against a fresh interpreter that only imports starlette, strawberry and jose.

Each child measures itself, from the first line of its script (time.perf_counter) to the end of its work, and
prints the seconds; the interpreter's own start-up (the same for both) is left out of both. The children share
a bytecode cache in a temporary directory (PYTHONPYCACHEPREFIX), filled by one warm-up child each: what is
measured is a start with compiled modules, as in an installed deployment, whatever PYTHONDONTWRITEBYTECODE says
and without writing __pycache__ directories into the source tree.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from bench.fixtures import PROJECT_ID, ROOT, iadvize_token
from bench.harness import Batch, Result, compare

# Measured on a 2-core machine (with compiled bytecode), five vendors on the default fixtures: 0.37 s against
# 0.23 s, a ratio of 1.6-1.65. The difference is the emulator's own import graph (its modules, cryptography's
# serialization and x509, python-jose's backends, starlette's application stack, graphql), the three RSA private
# keys (iAdvize, Avaya, Live Assist; checked for consistency, not primality: see core.keys) and the strawberry
# schema build. httpx is imported on Live Assist's first brand call, not here. 2.2 leaves room for the noise of
# other processes on two cores, and still fails on a new heavy import or start-up step (~+150 ms).
TARGET = 2.2

_EMULATOR = f"""\
import time
start = time.perf_counter()
import os
import emulator.app
app = emulator.app.create_app()
app.state.runtime.clock.freeze(float(os.environ["BENCH_NOW"]))
verification = app.state.vendors["iadvize"].service.verify({PROJECT_ID!r}, os.environ["BENCH_TOKEN"])
elapsed = time.perf_counter() - start
if not verification.ok:
    raise SystemExit("first verification failed: " + verification.trace.summary())
print(elapsed)
"""

_BASELINE = """\
import time
start = time.perf_counter()
import starlette, strawberry, jose
print(time.perf_counter() - start)
"""


def child(code: str, env: dict[str, str]) -> Batch:
    def batch(n: int) -> float:
        total = 0.0
        for _ in range(n):
            done = subprocess.run(
                [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                raise RuntimeError(f"cold-start child failed ({done.returncode}): {done.stderr.strip()}")
            total += float(done.stdout.strip().splitlines()[-1])
        return total

    return batch


def run() -> Result:
    now = float(int(time.time()))
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as pycache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(PYTHONPYCACHEPREFIX=pycache, BENCH_NOW=str(now), BENCH_TOKEN=iadvize_token(now))
        return compare("cold_start", child(_EMULATOR, env), child(_BASELINE, env), target=TARGET, number=1, rounds=9)
