"""The demo workload: what the job-shop API sends, run by several concurrent clients.

Statements use server-side parameters (`%s`), so pg_stat_statements normalises them to `$n` like
a real application's. Each "page view" is one iteration; the mix exercises every planted problem:

| statement | problem it exercises |
|---|---|
| jobs_by_status_recent, jobs_by_status_due | missing composite indexes jobs(status, created_at) / (status, due_date) |
| dashboard_* (four COUNTs per page) | a dashboard of separate COUNT queries (one pass with FILTER would do) |
| customer_jobs + job_steps_for_job | an N+1 loop: one steps query per listed job |
| job_number_search | LIKE prefix on a default-collation btree (needs text_pattern_ops) |
| unread_notifications | foreign key notifications.user_id without an index: a seq scan per call |
| audit_for_entity | audit_log has no index for its lookup (and no primary key) |
| machine_load | job_steps.machine_id without an index, a join over 400k steps |
| region_report | a join customers → jobs |
| update_job_status, insert_notification, insert_audit, mark_read | write volume |
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

STATEMENTS: dict[str, str] = {
    "jobs_by_status_recent": (
        "SELECT id, job_number, customer_id, status, created_at FROM jobs "
        "WHERE status = %s AND created_at > %s ORDER BY created_at DESC LIMIT 50"),
    "jobs_by_status_due": (
        "SELECT id, job_number, due_date, priority FROM jobs "
        "WHERE status = %s AND due_date < %s ORDER BY due_date LIMIT 50"),
    "dashboard_open": "SELECT count(*) FROM jobs WHERE status = %s",
    "dashboard_overdue": "SELECT count(*) FROM jobs WHERE status = %s AND due_date < current_date",
    "dashboard_urgent": "SELECT count(*) FROM jobs WHERE status = %s AND priority >= %s",
    "dashboard_created_today": "SELECT count(*) FROM jobs WHERE created_at >= %s",
    "customer_jobs": (
        "SELECT id, job_number, status, due_date FROM jobs WHERE customer_id = %s "
        "ORDER BY created_at DESC LIMIT 25"),
    "job_steps_for_job": (
        "SELECT id, seq, machine_id, status, started_at, minutes FROM job_steps WHERE job_id = %s ORDER BY seq"),
    "job_number_search": (
        "SELECT id, job_number, status FROM jobs WHERE job_number LIKE %s ORDER BY job_number LIMIT 20"),
    "unread_notifications": (
        "SELECT id, kind, message, created_at FROM notifications WHERE user_id = %s AND read_at IS NULL "
        "ORDER BY created_at DESC LIMIT 20"),
    "audit_for_entity": (
        "SELECT at, actor_id, action FROM audit_log WHERE entity_type = %s AND entity_id = %s "
        "ORDER BY at DESC LIMIT 20"),
    "machine_load": (
        "SELECT m.name, count(*) AS steps, sum(s.minutes) AS minutes FROM job_steps s "
        "JOIN machines m ON m.id = s.machine_id WHERE m.kind = %s AND s.status = %s GROUP BY m.name"),
    "region_report": (
        "SELECT c.name, count(*) AS open_jobs FROM customers c JOIN jobs j ON j.customer_id = c.id "
        "WHERE c.region = %s AND j.status = %s GROUP BY c.name ORDER BY open_jobs DESC LIMIT 10"),
    "job_by_id": "SELECT * FROM jobs WHERE id = %s",
    "update_job_status": "UPDATE jobs SET status = %s, updated_at = now() WHERE id = %s",
    "insert_notification": (
        "INSERT INTO notifications (user_id, kind, message, created_at) VALUES (%s, %s, %s, now())"),
    "mark_read": "UPDATE notifications SET read_at = now() WHERE user_id = %s AND read_at IS NULL AND id = %s",
    "insert_audit": (
        "INSERT INTO audit_log (at, actor_id, entity_type, entity_id, action, payload) "
        "VALUES (now(), %s, 'job', %s, 'status', %s::jsonb)"),
}

OPEN_STATUSES = ("queued", "in_progress", "on_hold")


@dataclass
class WorkloadResult:
    executions: int
    seconds: float
    per_statement: dict[str, int] = field(default_factory=dict)


def _client(dsn: str, iterations: int, seed: int, counts: Counter, errors: list) -> None:
    import psycopg

    rnd = random.Random(seed)
    local: Counter = Counter()
    now = dt.datetime.now(dt.timezone.utc)
    try:
        with psycopg.connect(dsn, autocommit=True, application_name="perftool-demo") as conn:
            def run(name: str, params: tuple = ()) -> list:
                cur = conn.execute(STATEMENTS[name], params)
                local[name] += 1
                return cur.fetchall() if cur.description else []

            for i in range(iterations):
                status = rnd.choice(OPEN_STATUSES[:2])
                run("jobs_by_status_recent", (status, now - dt.timedelta(days=rnd.randint(7, 90))))
                run("jobs_by_status_due", (status, (now + dt.timedelta(days=rnd.randint(0, 14))).date()))
                # the dashboard: four separate COUNTs on every page view
                run("dashboard_open", ("queued",))
                run("dashboard_overdue", ("in_progress",))
                run("dashboard_urgent", ("queued", 4))
                run("dashboard_created_today", (now - dt.timedelta(days=1),))
                # the N+1 loop: list a customer's jobs, then one query per job for its steps
                for (job_id, *_rest) in run("customer_jobs", (rnd.randint(1, 5000),)):
                    run("job_steps_for_job", (job_id,))
                run("job_by_id", (rnd.randint(1, 100000),))
                run("unread_notifications", (rnd.randint(1, 500),))
                if i % 3 == 0:
                    run("job_number_search", (f"JOB-2024-0{rnd.randint(10, 99)}%",))
                    run("region_report", (rnd.choice(["north", "south", "east", "west", "central"]), "in_progress"))
                if i % 5 == 0:
                    run("audit_for_entity", ("job", rnd.randint(1, 100000)))
                if i % 10 == 0:
                    run("machine_load", (rnd.choice(["lathe", "mill", "press", "laser"]), "running"))
                job = rnd.randint(1, 100000)
                run("update_job_status", (rnd.choice(OPEN_STATUSES + ("completed",)), job))
                run("insert_audit", (rnd.randint(1, 500), job, '{"field": "status"}'))
                user = rnd.randint(1, 500)
                run("insert_notification", (user, "job_assigned", f"Job {job} assigned"))
                if i % 2 == 0:
                    run("mark_read", (user, rnd.randint(1, 100000)))
    except Exception as exc:  # noqa: BLE001 - reported to the caller
        errors.append(exc)
    finally:
        counts.update(local)


def run_workload(dsn: str, *, clients: int = 4, iterations: int = 100, seed: int = 42,
                 progress: Callable[[str], None] | None = None) -> WorkloadResult:
    """Run `iterations` page views on each of `clients` concurrent connections."""
    counts: Counter = Counter()
    errors: list = []
    if progress:
        progress(f"running the demo workload: {clients} clients × {iterations} page views")
    t0 = time.monotonic()
    threads = [threading.Thread(target=_client, args=(dsn, iterations, seed + n, counts, errors), daemon=True)
               for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        from perftool.core.errors import PerftoolError

        raise PerftoolError(f"the demo workload failed: {str(errors[0]).splitlines()[0]}")
    return WorkloadResult(executions=sum(counts.values()), seconds=time.monotonic() - t0,
                          per_statement=dict(sorted(counts.items())))
