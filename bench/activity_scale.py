"""`perftool pool` and `perftool replicas` on a server with 500 connections, pgbouncer in front.

Target (issue #13): each finishes in < 1 s and holds no lock beyond AccessShareLock.

A throwaway cluster (max_connections 600) with a streaming standby and a pgbouncer
(default_pool_size 20); 500 client sessions: 300 idle, 100 idle in transaction, 80 running
pg_sleep, and a lock chain of 20 (one holder, 19 waiters) — half of them through pgbouncer. Prints
for each command the in-process time of the library call (connect, read, report: median of 5)
and of a whole CLI process (median of 3), against a baseline measured in the same run: a bare
psycopg process that connects and reads pg_stat_activity once. Locks: the collection runs once
inside one transaction, and every lock its backend holds before the commit is listed.

Run: `python -m bench activity` (or `make bench`).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from perftool.config import HostConfig, Thresholds
from perftool.sandbox import Pgbouncer, Sandbox

SESSIONS = 500
BASELINE = ("import sys, psycopg\n"
            "with psycopg.connect(sys.argv[1]) as c:\n"
            "    rows = c.execute('SELECT * FROM pg_stat_activity').fetchall()\n")


def open_sessions(direct: str, bounced: str) -> list[psycopg.Connection]:
    """SESSIONS client sessions in their states; statements are sent without waiting for them."""
    conns: list[psycopg.Connection] = []

    def new(dsn: str, autocommit: bool = True) -> psycopg.Connection:
        c = psycopg.connect(dsn, autocommit=autocommit, prepare_threshold=None)
        conns.append(c)
        return c

    with psycopg.connect(direct, autocommit=True) as c:
        c.execute("CREATE TABLE IF NOT EXISTS bench_locked (v int)")
    holder = new(direct, autocommit=False)
    holder.execute("LOCK TABLE bench_locked IN ACCESS EXCLUSIVE MODE")
    for _ in range(19):
        new(direct).pgconn.send_query(b"SELECT count(*) FROM bench_locked")      # waits for the holder
    for _ in range(80):
        new(direct).pgconn.send_query(b"SELECT pg_sleep(600)")
    for _ in range(100):
        new(direct, autocommit=False).execute("SELECT 1")          # idle in transaction
    for i in range(SESSIONS - len(conns)):
        new(bounced if i % 2 else direct).execute("SELECT 1")      # idle; half through pgbouncer
    return conns


def median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def process(argv: list[str]) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(argv)}\n{proc.stderr[-2000:]}")


def locks_held(dsn: str, collect) -> list[str]:
    """The lock modes a session holds after running `collect(conn)` inside one transaction."""
    from perftool.db.connect import connect

    with connect(dsn, autocommit=False) as conn, psycopg.connect(dsn, autocommit=True) as watcher:
        pid = conn.info.backend_pid
        collect(conn)
        rows = watcher.execute("SELECT DISTINCT locktype || ':' || mode FROM pg_locks WHERE pid = %s ORDER BY 1",
                               (pid,)).fetchall()
        conn.rollback()
    return [r[0] for r in rows]


def main() -> None:
    from perftool.activity.pgbouncer import collect_pgbouncer
    from perftool.activity.pool import collect_pool, run_pool
    from perftool.activity.replication import collect_replication, run_replicas
    from perftool.db.connect import server_info

    base = Path(tempfile.mkdtemp(prefix="perftool-bench-activity-", dir="/var/tmp"))
    os.chmod(base, 0o755)
    primary = Sandbox(base / "primary", settings={"max_connections": "600", "shared_buffers": "64MB"})
    standby = bouncer = None
    conns: list[psycopg.Connection] = []
    try:
        primary.start()
        standby = primary.clone_standby(base / "standby", application_name="bench_standby", slot="bench_standby")
        standby.start()
        bouncer = Pgbouncer.start(primary, base / "pgbouncer", pool_size=20, max_client_conn=1000)
        dsn = primary.url()
        admin = bouncer.dsn("pgbouncer")
        t0 = time.perf_counter()
        conns = open_sessions(dsn, bouncer.dsn("postgres"))
        print(f"{len(conns)} sessions opened in {time.perf_counter() - t0:.1f} s "
              f"(pgbouncer default_pool_size 20, a standby streaming)")
        th = Thresholds()
        hosts = [HostConfig("primary", dsn), HostConfig("replica", standby.url(), "replica")]
        report = run_pool(dsn, th, pgbouncer=admin)
        counts = {f.code: 0 for f in report.findings}
        for f in report.findings:
            counts[f.code] += 1
        print(f"pool: {len(report.section('idle_in_transaction').rows)} idle in transaction, "
              f"{len(report.section('lock_tree').rows)} lock-tree rows, findings {counts}")
        py = sys.executable
        results = {
            "pool": (median_time(lambda: run_pool(dsn, th, pgbouncer=admin), 5),
                     median_time(lambda: process([py, "-m", "perftool", "pool", "--dsn", dsn, "--pgbouncer", admin,
                                                  "-f", "json", "-o", os.devnull]), 3)),
            "replicas": (median_time(lambda: run_replicas(hosts, th), 5),
                         median_time(lambda: process([py, "-m", "perftool", "replicas", "--dsn", dsn, "-f", "json",
                                                      "-o", os.devnull]), 3)),
        }
        baseline = median_time(lambda: process([py, "-c", BASELINE, dsn]), 3)
        print(f"{'command':>9}  {'library s':>9}  {'process s':>9}  {'baseline s':>10}  {'ratio':>5}  target < 1 s")
        for name, (lib, proc) in results.items():
            print(f"{name:>9}  {lib:>9.3f}  {proc:>9.2f}  {baseline:>10.2f}  {proc / baseline:>5.1f}  "
                  f"{'met' if lib < 1 else 'MISSED'} (library), {'met' if proc < 1 else 'MISSED'} (process)")

        def pool_collect(conn):
            collect_pool(conn, server_info(conn), host="bench", bouncer=collect_pgbouncer(admin))

        def replicas_collect(conn):
            collect_replication(conn, host="bench", info=server_info(conn))

        for name, fn in (("pool", pool_collect), ("replicas", replicas_collect)):
            held = locks_held(dsn, fn)
            relation = [m for m in held if m.startswith("relation:")]
            ok = all(m == "relation:AccessShareLock" for m in relation)
            print(f"{name} locks held: {', '.join(held)} — {'only AccessShare on relations' if ok else 'MORE'}")
    finally:
        for c in conns:   # no cancel(): pgbouncer leaves a cancel request for an idle client unanswered;
            c.close()     # the fast shutdown below ends the sleeping and waiting backends
        if bouncer:
            bouncer.stop()
        if standby:
            standby.stop(purge=True)
        primary.stop(purge=True)
        import shutil

        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
