"""Index-advisor quality and speed: TPC-H SF1 at four storage budgets, and Dexter's stress case.

TPC-H (queries 1–22 without 2, 17 and 20; max index width 2; budgets 100 MB, 250 MB, 500 MB,
1 GB): for each budget the *relative workload cost* — the HypoPG-estimated cost of the workload
with the recommended indexes divided by its cost with none — and the advisor's wall time, for

- `perftool`: `indexes recommend --max-width 2 --budget … --min-improvement 0` — like Extend, no
  per-statement savings bar (Extend keeps any step that improves the workload by 0.3 %); partial
  indexes and INCLUDE columns allowed, both counted in the width; a fresh session and cache per
  budget. This is the column compared with the targets;
- `default bar`: the same with the shipped `--min-improvement 0.10` (every index must cut some
  statement's cost by 10 %): fewer marginal indexes, a little less saved;
- `Extend (this run)`: the Extend algorithm re-implemented on the same costing and statistics
  (`bench/extend_baseline.py`), the baseline "in the same run" that DOMAIN.md asks for;
- the published targets: Extend 93.7 / 68.3 / 58.2 / 51.4 % and Anytime (the best known)
  93.6 / 67.6 / 57.4 / 50.8 % (PostgreSQL 15 + HypoPG).

Stress (Dexter's batching test): one table of 100 integer columns and 2 000 rows, and the 4 950
statements `SELECT * FROM t WHERE cI = 0 AND cJ = 1`; Dexter proposes 100 indexes in about 9 s.

Run: `make bench` (every benchmark) or `python -m bench advisor`.
"""

from __future__ import annotations

import sys
import time
from typing import Any

TPCH_DB = "bench_tpch"
STRESS_DB = "bench_advisor_stress"
DEMO_DB = "bench_demo"
QUERIES = [n for n in range(1, 23) if n not in (2, 17, 20)]
BUDGETS_MB = (100, 250, 500, 1024)
EXTEND_TARGET = {100: 93.7, 250: 68.3, 500: 58.2, 1024: 51.4}
ANYTIME_TARGET = {100: 93.6, 250: 67.6, 500: 57.4, 1024: 50.8}
OLTP_BUDGETS_MB = (10, 25, 50, 100)
STRESS_COLUMNS = 100
STRESS_ROWS = 2000


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _database(sb, name: str) -> str:
    """DSN of database `name` in the sandbox, created (from template1) only when missing."""
    import psycopg

    with psycopg.connect(sb.url("postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return sb.create_database(name, replace=False)
    return sb.url(name)


def _statements():
    from bench.tpch import queries
    from perftool.workload.sources import WorkloadStatement

    return [WorkloadStatement(text=text, source="file", origin=f"tpch q{n}") for n, text in queries(QUERIES).items()]


def run_perftool(dsn: str, budget_mb: int, min_improvement: float = 0.0, statements=None,
                 max_width: int = 2) -> tuple[float, float, int, Any]:
    """(relative cost %, seconds, index count, AdvisorResult) of one advisor run in a fresh session.
    The relative cost counts the write cost of the recommended indexes (none on TPC-H)."""
    from perftool.advisor.pipeline import AdvisorOptions, advise
    from perftool.db.connect import connect

    options = AdvisorOptions(budget_bytes=budget_mb * 1024 * 1024, max_width=max_width,
                             min_improvement=min_improvement)
    with connect(dsn) as conn:
        t0 = time.perf_counter()
        result = advise(conn, statements or _statements(), options)
        seconds = time.perf_counter() - t0
    return 100.0 * result.cost_after / result.cost_before, seconds, len(result.recommendations), result


def run_extend(dsn: str, budget_mb: int, statements=None, max_width: int = 2) -> tuple[float, float, int, int]:
    """(relative cost %, seconds, index count, EXPLAINs) of Extend on the same costing: weighted by calls, and
    its result measured like perftool's, with the write cost of its indexes (Extend itself ignores
    writes, as published)."""
    from bench.extend_baseline import extend
    from perftool.advisor.costs import CostModel
    from perftool.advisor.items import build_items, explainable, set_weights, written_rows
    from perftool.advisor.options import AdvisorOptions
    from perftool.advisor.pipeline import read_catalog
    from perftool.advisor.whatif import WhatIf
    from perftool.db.connect import connect, use_workload_search_path

    statements = statements or _statements()
    with connect(dsn) as conn:
        use_workload_search_path(conn)
        t0 = time.perf_counter()
        catalog = read_catalog(conn, statements)
        items = [it for it in build_items(statements, catalog) if it.skip is None]
        whatif = WhatIf(conn, reuse_plans=False)   # the platform's cache: per (query, relevant indexes)
        for it in items:
            it.sid = whatif.add_statement(explainable(it.statement.text), it.tables, it.analysis.params)
            ex = whatif.explain(it.sid)
            it.base = ex.cost
            it.written_rows = written_rows(it, ex.rows)
        items = [it for it in items if it.base is not None]
        set_weights(items, "calls")
        result = extend(items, whatif, budget_mb * 1024 * 1024, max_width=max_width)
        seconds = time.perf_counter() - t0
        writers = [it for it in items if it.analysis.kind.writes and it.analysis.target is not None]
        model = CostModel(items, whatif, AdvisorOptions(max_width=max_width), catalog, writes=writers)
        before = sum(it.weight * it.base for it in items)
        after = sum(it.weight * (whatif.cost(it.costed_sid, frozenset(ix for ix in result.indexes
                                                                       if ix.table_key in set(it.tables)))
                                 or it.base) for it in items)
        after += sum(model.penalty(ix) for ix in result.indexes)
        explains = whatif.stats.explains
        whatif.close()
    return 100.0 * after / before, seconds, len(result.indexes), explains


def breakdown(result) -> None:
    """Where one advisor run spent its time (WhatIfStats.phases): wall time, EXPLAINs, time in
    what-if round trips, and the rest (parsing, Python bookkeeping)."""
    stats = result.selector.model.oracle.stats
    total = sum(p.seconds for p in stats.phases) or 1e-9
    print(f"    {'phase':32} {'seconds':>8} {'share':>6} {'EXPLAINs':>8} {'in what-if':>10} {'rest':>6}")
    for p in stats.phases:
        print(f"    {p.name:32} {p.seconds:8.2f} {100 * p.seconds / total:5.0f}% {p.explains:8d} "
              f"{p.whatif_seconds:9.2f}s {p.seconds - p.whatif_seconds:5.2f}s")
    print(f"    {'total':32} {total:8.2f}   100% {stats.explains:8d} {stats.seconds:9.2f}s "
          f"{total - stats.seconds:5.2f}s   (cache hits {stats.cache_hits:,}, derived from a plan "
          f"{stats.derived:,}, hypothetical indexes created {stats.created:,})")


def compare(title: str, dsn: str, budgets: tuple[int, ...], statements, max_width: int,
            targets: bool) -> None:
    """Per budget: perftool (and its shipped bar) vs the same-run Extend, relative cost and time."""
    print(f"\n{title}")
    header = (f"{'budget':>7}  {'perftool':>9} {'time':>6} {'#':>3}  {'bar 0.10':>8} {'time':>6} {'#':>3}  "
              f"{'Extend(run)':>11} {'time':>6} {'#':>3}  {'time ratio':>10}"
              + (f"  {'Extend*':>7} {'Anytime*':>8}" if targets else "") + "  EXPLAINs (perftool/Extend)  verdict")
    print(header)
    print("-" * len(header))
    ratios = []
    for mb in budgets:
        erel, esec, en, eex = run_extend(dsn, mb, statements, max_width)
        rel, sec, n, result = run_perftool(dsn, mb, 0.0, statements, max_width)
        prel, psec, pn, _ = run_perftool(dsn, mb, 0.10, statements, max_width)
        ratio = sec / esec if esec > 0 else float("inf")
        ratios.append((mb, result))
        # the target: Extend(run)'s cost and time or better; the published figures (other statistics) are shown
        cost_ok, time_ok = rel <= erel + 1e-9, sec <= esec
        verdict = ("≤ Extend in cost and time" if cost_ok and time_ok else
                   "cost ≤ Extend, slower" if cost_ok else "MISSED")
        if targets and cost_ok:
            verdict += (", ≤ Anytime*" if rel <= ANYTIME_TARGET[mb] else
                        ", ≤ Extend*" if rel <= EXTEND_TARGET[mb] else ", above Extend*")
        label = f"{mb} MB" if mb < 1024 else f"{mb // 1024} GB"
        print(f"{label:>7}  {rel:8.1f}% {sec:5.1f}s {n:>3}  {prel:7.1f}% {psec:5.1f}s {pn:>3}  "
              f"{erel:10.1f}% {esec:5.1f}s {en:>3}  {ratio:9.2f}×"
              + (f"  {EXTEND_TARGET[mb]:6.1f}% {ANYTIME_TARGET[mb]:7.1f}%" if targets else "")
              + f"  {result.explains:>12,} / {eex:<12,}  {verdict}",
              flush=True)
    mb, result = ratios[len(ratios) // 2]
    print(f"  where perftool's time goes ({mb} MB run):")
    breakdown(result)


def tpch(sb) -> None:
    from bench.tpch import load

    dsn = _database(sb, TPCH_DB)
    t0 = time.perf_counter()
    load(dsn, 1, progress=_say)
    _say(f"TPC-H SF1 ready in {time.perf_counter() - t0:.0f} s")
    compare("TPC-H SF1, queries 1-22 without 2, 17, 20; max width 2; relative workload cost (lower is better)",
            dsn, BUDGETS_MB, _statements(), 2, targets=True)
    print("* published targets (PostgreSQL 15 + HypoPG). perftool: --min-improvement 0 (no per-statement bar, as "
          "Extend),\n  partial and INCLUDE allowed; bar 0.10: the shipped default --min-improvement 0.10; "
          "Extend(run): bench/extend_baseline.py\n  on the same statistics, run just before perftool; time ratio = "
          "perftool / Extend(run) (the machine may be\n  shared: only same-run ratios mean something).")


def oltp(sb) -> None:
    from bench import oltp as workload

    dsn = _database(sb, workload.DB)
    workload.build(dsn, _say)
    statements = workload.statements()
    writes = sum(s.calls for s in statements if " write " in s.origin)
    compare(f"OLTP web app ({len(statements)} statements, {writes / sum(s.calls for s in statements):.0%} of calls "
            "write); max width 3; relative workload cost incl. index write cost",
            dsn, OLTP_BUDGETS_MB, statements, 3, targets=False)
    print("  Extend(run) is blind to write cost (as published); its result is charged the same write cost.")


def stress(sb) -> None:
    import psycopg
    from psycopg import sql

    from perftool.advisor.pipeline import AdvisorOptions, advise
    from perftool.db.connect import connect
    from perftool.workload.sources import WorkloadStatement

    dsn = _database(sb, STRESS_DB)
    cols = [sql.Identifier(f"c{i:02d}") for i in range(STRESS_COLUMNS)]
    with psycopg.connect(dsn, autocommit=True) as conn:
        have = conn.execute("SELECT to_regclass('public.t') IS NOT NULL").fetchone()[0]
        if not have or conn.execute("SELECT count(*) FROM t").fetchone()[0] != STRESS_ROWS:
            conn.execute("DROP TABLE IF EXISTS t")
            conn.execute(sql.SQL("CREATE TABLE t ({})").format(sql.SQL(", ").join(sql.SQL("{} int").format(c)
                                                                                 for c in cols)))
            conn.execute(sql.SQL("INSERT INTO t SELECT {} FROM generate_series(1, {}) n").format(
                sql.SQL(", ").join(sql.SQL("n") for _ in cols), sql.Literal(STRESS_ROWS)))
            conn.execute("VACUUM ANALYZE t")
    texts = [f"SELECT * FROM t WHERE c{i:02d} = 0 AND c{j:02d} = 1"
             for i in range(STRESS_COLUMNS) for j in range(i + 1, STRESS_COLUMNS)]
    statements = [WorkloadStatement(text=q, source="file", origin=f"stress {k}") for k, q in enumerate(texts)]
    with connect(dsn) as conn:
        t0 = time.perf_counter()
        result = advise(conn, statements, AdvisorOptions())
        seconds = time.perf_counter() - t0
    rel = 100.0 * result.cost_after / result.cost_before
    print(f"\nDexter stress case: {STRESS_COLUMNS} int columns × {STRESS_ROWS:,} rows, {len(texts):,} pair queries")
    print(f"  perftool: {len(result.recommendations)} indexes, relative workload cost {rel:.1f}%, {seconds:.1f} s "
          f"({result.explains:,} EXPLAINs)")
    print("  Dexter:   100 indexes in about 9 s (its batching test); a vertex cover of the 4 950 pairs needs 99")
    print("  where perftool's time goes:")
    breakdown(result)
    # its 25,000 EXPLAINs fill pg_stat_statements (shared by every database of the sandbox) with
    # entries nobody reads, which would evict the workloads other benchmarks run next
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database "
                     "WHERE datname = current_database()), 0)")


def demo(sb) -> None:
    """`indexes recommend` on the demo's pg_stat_statements (target < 0.5 s): the demo schema
    loaded once into `bench_demo` with a short workload, then the advisor three times (the best
    time counts: the first run warms the parser's cache as a long-lived process would not)."""
    from perftool.advisor.pipeline import AdvisorOptions, advise
    from perftool.db.connect import connect
    from perftool.demo import load_demo
    from perftool.demo.setup import reset_statistics
    from perftool.demo.workload import run_workload
    from perftool.workload import sources as ws

    dsn = _database(sb, DEMO_DB)
    with connect(dsn) as conn:
        statements = ws.merge(ws.from_stat_statements(conn, min_calls=1))
    if not statements:
        _say("loading the demo schema and running a short workload into bench_demo (once)")
        load_demo(dsn)
        reset_statistics(dsn)       # the load's own statements are not the workload
        run_workload(dsn, clients=2, iterations=20)
        with connect(dsn) as conn:
            statements = ws.merge(ws.from_stat_statements(conn, min_calls=1))
    runs = []
    for _ in range(3):
        with connect(dsn) as conn:
            t0 = time.perf_counter()
            result = advise(conn, statements, AdvisorOptions())
            runs.append((time.perf_counter() - t0, result))
    seconds, result = min(runs, key=lambda r: r[0])
    print(f"\nDemo recommend: {len(statements)} statements from pg_stat_statements, {len(result.recommendations)} "
          f"indexes, {seconds:.2f} s best of 3 ({', '.join(f'{s:.2f}' for s, _r in runs)} s; target < 0.5 s), "
          f"{result.explains} EXPLAINs")
    breakdown(result)


def main(argv: list[str] | None = None) -> None:
    from perftool.sandbox import Sandbox

    parts = argv if argv else ["tpch", "oltp", "stress", "demo"]
    sb = Sandbox.default()
    sb.start(progress=_say)
    if "tpch" in parts:
        tpch(sb)
    if "oltp" in parts:
        oltp(sb)
    if "stress" in parts:
        stress(sb)
    if "demo" in parts:
        demo(sb)


if __name__ == "__main__":
    main(sys.argv[1:])
