"""`--format html` at scale: the HTML of a 1 000-statement `perftool analyze`.

Target (issue #14): renders in < 1 s and is < 2 MB. Builds the analyze Report of a database with
1 000 distinct statements once (bench.analyze_scale's workload), then renders it — with the default
top 10 statements and with all 1 000 in the statements section (--limit 1000) — as HTML and, as the
baseline of the same run, as JSON. Prints the median render time of 5, the ratio to JSON, the size.

Run: `make bench` (all benchmarks) or `python -m bench html`.
"""

from __future__ import annotations

import time

from bench.analyze_scale import build
from perftool.analyze.options import AnalyzeOptions
from perftool.analyze.run import analyze_report
from perftool.report.render import render_to_string
from perftool.sandbox import Sandbox

STATEMENTS = 1000
SECONDS_TARGET = 1.0
BYTES_TARGET = 2 * 1024 * 1024


def timed(report, fmt: str, runs: int = 5) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        text = render_to_string(report, fmt)
        times.append(time.perf_counter() - t0)
        size = len(text.encode())
    times.sort()
    return times[len(times) // 2], size


def main() -> None:
    sb = Sandbox.default()
    sb.start()
    dsn = sb.create_database("bench_html_1000")
    try:
        build(dsn, STATEMENTS)
        render_to_string(analyze_report(dsn), "html")  # templates compiled once, as in any real run
        print(f"HTML report of a {STATEMENTS:,}-statement analyze (render time median of 5; JSON = baseline)")
        print(f"{'statements shown':>16}  {'html s':>7}  {'json s':>7}  {'ratio':>6}  {'html kB':>8}  {'json kB':>8}")
        verdicts = []
        for limit in (10, STATEMENTS):
            report = analyze_report(dsn, AnalyzeOptions(limit=limit))
            shown = len(report.section("statements").rows)
            h_s, h_b = timed(report, "html")
            j_s, j_b = timed(report, "json")
            print(f"{shown:>16}  {h_s:>7.3f}  {j_s:>7.3f}  {h_s / j_s:>6.1f}  {h_b / 1024:>8.0f}  {j_b / 1024:>8.0f}")
            verdicts.append(h_s < SECONDS_TARGET and h_b < BYTES_TARGET)
            worst = (h_s, h_b)
        print(f"all {STATEMENTS:,} statements shown: {worst[0]:.3f} s, {worst[1] / 1048576:.2f} MB "
              f"(target < 1 s and < 2 MB: {'met' if all(verdicts) else 'MISSED'})")
    finally:
        sb.drop_database("bench_html_1000")


if __name__ == "__main__":
    main()
