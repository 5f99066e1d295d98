"""The demo database: a job-shop manufacturing web API with problems planted on purpose.

`load_demo(dsn)` creates the schema (schema.sql), fills it deterministically with generate_series
(data.sql: 5k customers, 500 users, 200 machines, 100k jobs, ~450k job steps, 100k notifications,
200k audit rows), plants the problems (problems.sql) and runs VACUUM ANALYZE (statistics and the
visibility map, as on a database that has been running for a while).
`run_workload(dsn)` (workload.py) sends the application's statement mix from concurrent clients.
This package writes: it is only ever pointed at the sandbox's `perftool_demo` database.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources

from perftool.demo.workload import STATEMENTS, WorkloadResult, run_workload

__all__ = ["DEMO_DATABASE", "STATEMENTS", "TABLES", "WorkloadResult", "load_demo", "run_workload"]

DEMO_DATABASE = "perftool_demo"
TABLES = ("customers", "users", "machines", "jobs", "job_steps", "notifications", "audit_log")


def _script(name: str) -> str:
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def load_demo(dsn: str, *, progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """(Re)create and load the demo schema in the database `dsn` points at; return row counts."""
    import psycopg
    from psycopg import sql

    say = progress or (lambda _msg: None)
    with psycopg.connect(dsn, autocommit=True, application_name="perftool-demo") as conn:
        say("creating the demo schema")
        conn.execute(_script("schema.sql"))
        say("loading demo data")
        with conn.transaction():
            conn.execute(_script("data.sql"))
        say("planting the problems")
        conn.execute(_script("problems.sql"))
        say("VACUUM ANALYZE")
        conn.execute("VACUUM ANALYZE")
        counts = {}
        for t in TABLES:
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))).fetchone()
            counts[t] = row[0] if row else 0
    return counts
