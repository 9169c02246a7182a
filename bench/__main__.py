"""python -m bench [NAME ...]: run the benchmarks (all by default), one line each; exit 1 if a target is missed."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from bench.harness import Result

# name -> module with run() -> Result; imported only when that benchmark runs
BENCHMARKS = {
    "verify_vs_crypto": "bench.verify_vs_crypto",
    "avaya_token_vs_bare": "bench.avaya_token_vs_bare",
    "graphql_vs_bare": "bench.graphql_vs_bare",
    "cold_start": "bench.cold_start",
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(BENCHMARKS)}")
    names = parser.parse_args(argv).names or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; known: {', '.join(BENCHMARKS)}")
    failed: list[str] = []
    for name in names:
        try:
            result: Result = importlib.import_module(BENCHMARKS[name]).run()
        except Exception as exc:  # a broken benchmark fails the run, after the others have printed
            print(f"{name} error: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            failed.append(name)
            continue
        print(result.line(), flush=True)
        if not result.ok:
            failed.append(name)
    if failed:
        print(f"missed or failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
