"""`perftool analyze` at scale: 1 000 distinct statements in pg_stat_statements.

Target (issue): < 30 s with flat memory. Prints, for 100 and 1 000 distinct statements, the wall
time and peak RSS of a whole `perftool analyze --format json` process, and their ratio against a
baseline measured in the same run: a bare Python process that connects with psycopg and fetches
pg_stat_statements (what any tool must at least do). "Flat memory" = the peak RSS ratio between
1 000 and 100 statements stays close to 1.

Run: `make bench` (all benchmarks) or `python -m bench.analyze_scale`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable

import psycopg
from psycopg import sql

from perftool.sandbox import Sandbox

TABLES = 20
COLUMNS = 10
BASELINE = ("import sys, psycopg\n"
            "with psycopg.connect(sys.argv[1]) as c:\n"
            "    rows = c.execute('SELECT * FROM pg_stat_statements').fetchall()\n")


def build(dsn: str, statements: int) -> None:
    """`statements` distinct statement shapes (different tables and column combinations)."""
    cols = [sql.Identifier(f"c{c}") for c in range(COLUMNS)]
    with psycopg.connect(dsn, autocommit=True) as conn:
        for t in range(TABLES):
            table = sql.Identifier(f"bench_t{t}")
            conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (id int PRIMARY KEY, {})").format(
                table, sql.SQL(", ").join(sql.SQL("{} int").format(c) for c in cols)))
            conn.execute(sql.SQL("INSERT INTO {} SELECT g, {} FROM generate_series(1, 2000) g "
                                 "ON CONFLICT DO NOTHING").format(
                table, sql.SQL(", ").join(sql.SQL("g % {}").format(sql.Literal(c + 2)) for c in range(COLUMNS))))
        conn.execute("SELECT pg_stat_statements_reset()")
        made = 0
        shapes = [(t, a, b) for t in range(TABLES) for a in range(COLUMNS) for b in range(COLUMNS) if a != b]
        for t, a, b in shapes[:statements]:
            q = sql.SQL("SELECT count(*) FROM {} WHERE {} = %s AND {} < %s").format(
                sql.Identifier(f"bench_t{t}"), cols[a], cols[b])
            for v in range(3):
                conn.execute(q, (v, v + 1))
            made += 1
    assert made == statements, made


def measure(argv: list[str], runs: int = 3, before: Callable[[], object] | None = None) -> tuple[float, float]:
    """Median wall seconds and max peak RSS (MiB) of a whole process over `runs` runs (`before`, when
    given, runs ahead of each, untimed)."""
    times, peaks = [], []
    for _ in range(runs):
        if before is not None:
            before()
        t0 = time.perf_counter()
        proc = subprocess.run(["/usr/bin/env", "time", "-f", "%M", *argv], capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"failed: {' '.join(argv)}\n{proc.stderr[-2000:]}")
        peaks.append(int(proc.stderr.strip().splitlines()[-1]) / 1024)
    times.sort()
    return times[len(times) // 2], max(peaks)


def main() -> None:
    sb = Sandbox.default()
    sb.start()
    py = sys.executable
    print("analyze at scale (whole-process wall time, median of 3; peak RSS)")
    print(f"{'statements':>10}  {'analyze s':>9}  {'baseline s':>10}  {'ratio':>6}  {'analyze MiB':>11}  "
          f"{'baseline MiB':>12}")
    results = {}
    for n in (100, 1000):
        dsn = sb.create_database(f"bench_analyze_{n}")
        build(dsn, n)
        a_s, a_mb = measure([py, "-m", "perftool", "analyze", "--dsn", dsn, "--format", "json", "-o", os.devnull])
        b_s, b_mb = measure([py, "-c", BASELINE, dsn])
        results[n] = (a_s, a_mb)
        print(f"{n:>10}  {a_s:>9.2f}  {b_s:>10.2f}  {a_s / b_s:>6.1f}  {a_mb:>11.1f}  {b_mb:>12.1f}")
        sb.drop_database(f"bench_analyze_{n}")
    t1000, m1000 = results[1000]
    print(f"1 000 statements: {t1000:.2f} s (target < 30 s: {'met' if t1000 < 30 else 'MISSED'}); "
          f"peak RSS 1 000 vs 100 statements: ×{m1000 / results[100][1]:.2f} (flat ≈ 1)")


if __name__ == "__main__":
    main()
