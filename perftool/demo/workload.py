"""The demo workload: what the job-shop API sends, run by several concurrent clients.

Statements use server-side parameters (`%s`), so pg_stat_statements normalises them to `$n` like
a real application's. Integer parameters are sent as bigint (the columns' type) so each statement
keeps one entry instead of one per int2/int4/int8 value width. Each iteration is one round of
"page views" of one user; the mix exercises every planted problem (problems.sql):

| statement | problem it exercises |
|---|---|
| jobs_by_status_recent, jobs_by_status_due | 1: no jobs(status, created_at) / (status, due_date): seq scans on jobs |
| dashboard_open, _overdue, _unassigned, _done_today | four separate COUNTs per page (FILTER would do one pass) |
| customer_jobs + job_steps_for_job | N+1: one steps query per listed job (indexed: fast but frequent) |
| job_number_search | 6: LIKE prefix on a default-collation btree (needs text_pattern_ops) |
| unread_notifications, mark_read | 4: notifications.user_id without an index: a seq scan per call |
| machine_load | 4: job_steps.machine_id without an index: a join over all job steps |
| audit_for_entity | 5: audit_log has no index for its lookup (and no primary key) |
| region_report, job_by_id | ordinary, well-indexed traffic (customers → jobs join, primary-key lookup) |
| update_job_status, insert_audit, insert_notification, mark_read | write volume (audit inserts feed index 3) |

Nothing reads users.email (2: the duplicate pair stays at zero scans), audit_log.payload_hash or
jobs.priority in a filter (3: unused indexes).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

STATEMENTS: dict[str, str] = {
    # the job lists: the hot filters without a composite index
    "jobs_by_status_recent": (
        "SELECT id, job_number, customer_id, assigned_to, status, created_at FROM jobs "
        "WHERE status = %s AND created_at > %s ORDER BY created_at DESC LIMIT 50"),
    "jobs_by_status_due": (
        "SELECT id, job_number, due_date, priority FROM jobs "
        "WHERE status = %s AND due_date < %s ORDER BY due_date LIMIT 50"),
    # the dashboard: four COUNT queries sent one after the other on every page view
    "dashboard_open": "SELECT count(*) FROM jobs WHERE status = %s",
    "dashboard_overdue": "SELECT count(*) FROM jobs WHERE status = %s AND due_date < current_date",
    "dashboard_unassigned": "SELECT count(*) FROM jobs WHERE status = %s AND assigned_to IS NULL",
    "dashboard_done_today": "SELECT count(*) FROM jobs WHERE status = %s AND updated_at >= %s",
    # the customer page: its jobs, then (N+1) one query per job for the job's steps
    "customer_jobs": (
        "SELECT id, job_number, status, due_date FROM jobs WHERE customer_id = %s "
        "ORDER BY created_at DESC LIMIT 25"),
    "job_steps_for_job": (
        "SELECT id, seq, machine_id, status, started_at, minutes FROM job_steps WHERE job_id = %s ORDER BY seq"),
    "job_by_id": "SELECT * FROM jobs WHERE id = %s",
    "job_number_search": (
        "SELECT id, job_number, status FROM jobs WHERE job_number LIKE %s ORDER BY job_number LIMIT 20"),
    "unread_notifications": (
        "SELECT id, kind, message, created_at FROM notifications WHERE user_id = %s AND read_at IS NULL "
        "ORDER BY created_at DESC LIMIT 20"),
    "mark_read": "UPDATE notifications SET read_at = now() WHERE id = %s AND user_id = %s",
    "audit_for_entity": (
        "SELECT at, actor_id, action, payload FROM audit_log WHERE entity_type = %s AND entity_id = %s "
        "ORDER BY at DESC LIMIT 20"),
    "machine_load": (
        "SELECT m.name, count(*) AS steps, sum(s.minutes) AS minutes FROM job_steps s "
        "JOIN machines m ON m.id = s.machine_id WHERE m.kind = %s AND s.status = %s GROUP BY m.name"),
    "region_report": (
        "SELECT c.name, count(*) AS open_jobs FROM customers c JOIN jobs j ON j.customer_id = c.id "
        "WHERE c.region = %s AND j.status = %s GROUP BY c.name ORDER BY open_jobs DESC LIMIT 10"),
    # writes
    "update_job_status": "UPDATE jobs SET status = %s, assigned_to = %s, updated_at = now() WHERE id = %s",
    "insert_audit": (
        "INSERT INTO audit_log (at, actor_id, entity_type, entity_id, action, payload, payload_hash) "
        "VALUES (now(), %s, 'job', %s, 'status', %s, %s)"),
    "insert_notification": (
        "INSERT INTO notifications (user_id, kind, message, created_at) VALUES (%s, %s, %s, now())"),
}

LIST_STATUSES = ("queued", "in_progress")
NEXT_STATUS = {"queued": "in_progress", "in_progress": "completed"}
REGIONS = ("north", "south", "east", "west", "central")
MACHINE_KINDS = ("lathe", "mill", "press", "laser", "paint", "weld", "assembly")
N_CUSTOMERS, N_USERS, N_JOBS = 5000, 500, 100000  # data.sql's sizes
_COUNTS_LOCK = threading.Lock()


@dataclass
class WorkloadResult:
    executions: int
    seconds: float
    per_statement: dict[str, int] = field(default_factory=dict)


def _client(dsn: str, iterations: int, seed: int, counts: Counter, errors: list) -> None:
    import psycopg
    from psycopg.types.json import Jsonb
    from psycopg.types.numeric import Int8

    rnd = random.Random(seed)
    local: Counter = Counter()
    now = dt.datetime.now(dt.timezone.utc)
    today = now.date()
    try:
        with psycopg.connect(dsn, autocommit=True, application_name="perftool-demo") as conn:
            def run(name: str, params: tuple = ()) -> list:
                cur = conn.execute(STATEMENTS[name], params)
                local[name] += 1
                return cur.fetchall() if cur.description else []

            for i in range(iterations):
                me = Int8(rnd.randint(1, N_USERS))
                # job lists (hot, unindexed filters)
                status = rnd.choice(LIST_STATUSES)
                listed = run("jobs_by_status_recent", (status, now - dt.timedelta(days=rnd.randint(7, 90))))
                run("jobs_by_status_due", (rnd.choice(LIST_STATUSES), today + dt.timedelta(days=rnd.randint(0, 14))))
                # the dashboard: four separate COUNTs on every page view
                run("dashboard_open", ("queued",))
                run("dashboard_overdue", ("in_progress",))
                run("dashboard_unassigned", ("queued",))
                run("dashboard_done_today", ("completed", now - dt.timedelta(days=1)))
                # a customer page (big customers are viewed more), then N+1: one query per job
                customer = 1 + int(rnd.random() ** 2 * N_CUSTOMERS)
                for (job_id, *_rest) in run("customer_jobs", (Int8(customer),)):
                    run("job_steps_for_job", (Int8(job_id),))
                job = listed[rnd.randrange(len(listed))] if listed else None
                run("job_by_id", (Int8(job[0] if job else rnd.randint(1, N_JOBS)),))
                # the notification bell; read the newest one every other time
                unread = run("unread_notifications", (me,))
                if unread and i % 2 == 0:
                    run("mark_read", (Int8(unread[0][0]), me))
                if i % 3 == 0:
                    year, digit = rnd.randint(2023, 2026), rnd.randint(0, 9)
                    run("job_number_search", (f"JOB-{year}-00{digit}%",))
                    run("region_report", (rnd.choice(REGIONS), "in_progress"))
                if i % 5 == 0:
                    run("audit_for_entity", ("job", Int8(job[0] if job else rnd.randint(1, N_JOBS))))
                if i % 10 == 0:
                    run("machine_load", (rnd.choice(MACHINE_KINDS), "running"))
                # writes: move a listed job one step forward, audit it, notify its operator
                if job:
                    job_id, old = job[0], job[4]
                    new = NEXT_STATUS[old]
                    operator = Int8(job[3]) if job[3] is not None else me
                    run("update_job_status", (new, operator, Int8(job_id)))
                    payload = {"field": "status", "from": old, "to": new, "request_id": f"{seed}-{i}"}
                    digest = hashlib.md5(json.dumps(payload, sort_keys=True).encode()).hexdigest()
                    run("insert_audit", (me, Int8(job_id), Jsonb(payload), digest))
                    run("insert_notification", (operator, "job_assigned" if new == "in_progress" else "job_done",
                                                f"{job[1]} is now {new}"))
    except Exception as exc:  # noqa: BLE001 - reported to the caller
        errors.append(exc)
    finally:
        with _COUNTS_LOCK:
            counts.update(local)


def run_workload(dsn: str, *, clients: int = 4, iterations: int = 100, seed: int = 42,
                 progress: Callable[[str], None] | None = None) -> WorkloadResult:
    """Run `iterations` rounds of page views on each of `clients` concurrent connections (one
    thread and one connection per client, each with its own seeded random generator)."""
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
        from perftool.db.errors import PerftoolError

        raise PerftoolError(f"the demo workload failed: {str(errors[0]).splitlines()[0]}")
    return WorkloadResult(executions=sum(counts.values()), seconds=time.monotonic() - t0,
                          per_statement=dict(sorted(counts.items())))
