"""`make bench` / `python -m bench [NAME …]`: run the benchmarks, each a module with `main()`.

Names: see BENCHMARKS (default: all, in that order). Add a benchmark by writing a module with a
`main(argv)` (or `main()`) and one line below.
"""

from __future__ import annotations

import compileall
import importlib
import inspect
import sys
import time
from pathlib import Path

import perftool

BENCHMARKS: dict[str, str] = {
    "advisor": "bench.advisor",          # index advisor: TPC-H budgets vs Extend/Anytime, Dexter stress case
    "analyze": "bench.analyze_scale",    # perftool analyze with 1 000 statements
    "schema": "bench.schema_scale",      # indexes health and analyze on 10 000 tables / 30 000 indexes
    "activity": "bench.activity_scale",  # pool and replicas with 500 connections, pgbouncer, a standby
    "plans": "bench.plans",              # perftool explain: parse + tips on a 10 000-node plan (< 1 s)
    "html": "bench.html_report",         # --format html of a 1 000-statement analyze: < 1 s, < 2 MB
}


def main(argv: list[str]) -> int:
    """`python -m bench [NAME …] [-- ARGS …]`: ARGS go to each named benchmark's main (e.g.
    `python -m bench schema -- --tables 2500`)."""
    extra: list[str] = []
    if "--" in argv:
        argv, extra = argv[:argv.index("--")], argv[argv.index("--") + 1:]
    names = [a for a in argv if not a.startswith("-")] or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    # timings are of an installed tool: its bytecode compiled, as `pip install` of a wheel does
    # (where PYTHONDONTWRITEBYTECODE is set, each perftool process would compile every module again)
    compileall.compile_dir(str(Path(perftool.__file__).parent), quiet=1)
    for name in names:
        module = importlib.import_module(BENCHMARKS[name])
        print(f"\n=== bench {name} ===", flush=True)
        t0 = time.perf_counter()
        run = module.main
        run(extra) if inspect.signature(run).parameters else run()
        print(f"=== bench {name}: {time.perf_counter() - t0:.0f} s ===", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
