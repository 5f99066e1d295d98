"""The demo: the sandbox's `perftool_demo` database, loaded and exercised (writes: sandbox only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from perftool.sandbox import Sandbox

DEMO_DATABASE = "perftool_demo"


def _quiet(_: str) -> None:
    pass


def reset_statistics(dsn: str) -> None:
    from perftool.db.connect import connect
    from perftool.db.sql import execute

    with connect(dsn, read_only=False, statement_timeout_ms=600_000) as conn:
        execute(conn, "reset_statistics")
        execute(conn, "analyze_all")  # live/dead tuple counts again


def setup_demo(sandbox: Sandbox, *, workload: bool = True, iterations: int = 100, clients: int = 4,
               progress: Callable[[str], None] = _quiet) -> str:
    """Start the sandbox, (re)create and load the demo database, run the workload; return its DSN."""
    import time

    from perftool.demo import load_demo

    sandbox.start(progress=progress)
    dsn = sandbox.create_database(DEMO_DATABASE)
    t0 = time.monotonic()
    counts = load_demo(dsn, progress=progress)
    progress(f"loaded {sum(counts.values()):,} rows in {time.monotonic() - t0:.1f} s: "
             + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    if workload:
        demo_workload(sandbox, iterations=iterations, clients=clients, reset=True, progress=progress)
    return dsn


def demo_workload(sandbox: Sandbox, *, iterations: int = 100, clients: int = 4, reset: bool = False,
                  progress: Callable[[str], None] = _quiet) -> None:
    from perftool.demo import run_workload

    dsn = sandbox.url(DEMO_DATABASE)
    if reset:
        reset_statistics(dsn)
    result = run_workload(dsn, clients=clients, iterations=iterations, progress=progress)
    progress(f"workload: {result.executions:,} statements in {result.seconds:.1f} s with {clients} clients")


def prepare_demo(sandbox: Sandbox, *, reload: bool = True, iterations: int = 100, clients: int = 4,
                 progress: Callable[[str], None] = _quiet) -> str:
    """`setup_demo`, or with reload=False reuse a loaded demo database when there is one."""
    if not reload:
        from perftool.db.connect import connect
        from perftool.db.errors import ConnectionFailed

        sandbox.start(progress=progress)
        try:
            with connect(sandbox.url(DEMO_DATABASE)):
                return sandbox.url(DEMO_DATABASE)
        except ConnectionFailed:
            pass
    return setup_demo(sandbox, iterations=iterations, clients=clients, progress=progress)


def demo_report(dsn: str):
    """The report `make demo` shows: the health report when `analyze` exists, else top statements.
    The demo's statistics are minutes old (reset before the workload), so the statistics window
    I104 waits for (`unused_index_min_stats_days`, 7 days) is 0 here — the workload is the whole
    history of this database — and the report says so."""
    try:
        from perftool.analyze.options import AnalyzeOptions
        from perftool.analyze.run import analyze_report
    except ImportError:
        from perftool.workload.queries import QueryOptions, queries_report

        return queries_report(dsn, QueryOptions(limit=10))
    from perftool.config import Thresholds

    report = analyze_report(dsn, AnalyzeOptions(thresholds=Thresholds(unused_index_min_stats_days=0)))
    report.notes.append("demo: I104 (unused index) reported although the statistics are minutes old — the demo "
                        "sets unused_index_min_stats_days to 0 (default 7 days), its workload being the database's "
                        "whole history")
    return report
