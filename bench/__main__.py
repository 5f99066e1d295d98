"""`make bench`: run every benchmark module in turn, or the ones named (`python -m bench analyze_scale`).

Each module has a `main()` that prints its own table, with ratios against a baseline measured in
the same run. Benchmarks never run in the test suite.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

BENCHMARKS = ("analyze_scale", "advisor")  # a module not written yet is reported and skipped


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    for name in names:
        if importlib.util.find_spec(f"bench.{name}") is None:
            print(f"== {name}: not available yet", flush=True)
            continue
        print(f"== {name}", flush=True)
        importlib.import_module(f"bench.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
