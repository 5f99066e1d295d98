"""The demo database: sizes, the workload mix, the planted problems as the server's own statistics
show them, and `analyze` naming every planted problem. Uses the session's `demo_db` (conftest):
loaded once, statistics reset, then 20 page views × 4 clients."""

import time

import psycopg
import pytest

from perftool.analyze.run import analyze_report
from perftool.demo import STATEMENTS

DASHBOARD = ("dashboard_open", "dashboard_overdue", "dashboard_unassigned", "dashboard_done_today")


def _rows(dsn, text, params=None):
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(text, params).fetchall()


def _stats_settled(dsn, text, ok, seconds=10.0):
    """Rows of a statistics query once `ok(rows)` holds: the workload's backends report their
    counters when they exit, a moment after their clients disconnect."""
    deadline = time.monotonic() + seconds
    while True:
        rows = _rows(dsn, text)
        if ok(rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def test_row_counts(demo_db):
    c = demo_db["counts"]
    assert c["jobs"] >= 100_000 and c["job_steps"] >= 400_000
    assert c["audit_log"] >= 200_000 and c["notifications"] >= 100_000
    assert c["customers"] == 5_000 and c["users"] == 500 and c["machines"] == 200


def test_data_has_a_realistic_skew(demo_db):
    by_status = dict(_rows(demo_db["dsn"], "SELECT status, count(*) FROM jobs GROUP BY status"))
    total = sum(by_status.values())
    assert by_status["completed"] > 0.7 * total
    assert 0 < by_status["in_progress"] < 0.1 * total and 0 < by_status["queued"] < 0.1 * total
    ((numbers,),) = _rows(demo_db["dsn"], "SELECT count(*) FROM jobs WHERE job_number ~ '^JOB-20[0-9]{2}-[0-9]{6}$'")
    assert numbers == total


def test_workload_ran_every_statement(demo_db):
    w = demo_db["workload"]
    assert w.executions > 0 and w.seconds > 0
    assert set(w.per_statement) == set(STATEMENTS)
    assert all(w.per_statement[d] == 80 for d in DASHBOARD)  # 4 clients × 20 page views
    assert w.per_statement["job_steps_for_job"] >= 1000  # the N+1 loop
    assert w.executions == sum(w.per_statement.values())


def test_pg_stat_statements_shows_the_patterns(demo_db):
    rows = _stats_settled(
        demo_db["dsn"],
        "SELECT query, calls, rows FROM pg_stat_statements "
        "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND toplevel",   # not the index advisor's PREPAREs (analyze runs it too: T201's fixes)
        lambda rs: any("FROM job_steps WHERE job_id = $1" in q for q, _c, _r in rs))
    counts = [(q, c) for q, c, _r in rows if q.startswith("SELECT count(*) FROM jobs WHERE status = $1")]
    assert len(counts) == 4 and all(c == 80 for _q, c in counts)  # four separate dashboard statements
    (n1,) = [(c, r) for q, c, r in rows if "FROM job_steps WHERE job_id = $1" in q]  # one entry: bigint ids
    assert n1[0] >= 1000 and 1 <= n1[1] / n1[0] <= 20


def test_planted_schema_problems_are_there(demo_db):
    dsn = demo_db["dsn"]
    indexes = {r[0] for r in _rows(dsn, "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")}
    # 1. no index on jobs.status; 2. the duplicate; 3. the unused ones; 4. no index on the FK columns
    assert not any("status" in i for i in indexes if i.startswith("jobs_"))
    assert {"users_email_key", "users_email_idx", "audit_log_payload_hash_idx", "jobs_priority_idx"} <= indexes
    assert not any("machine_id" in i for i in indexes) and not any("user_id" in i for i in indexes)
    # 5. audit_log has no primary key; the other tables have one
    no_pk = _rows(dsn, "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE n.nspname = 'public' AND c.relkind = 'r' AND NOT EXISTS "
                       "(SELECT FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')")
    assert no_pk == [("audit_log",)]
    (size,) = _rows(dsn, "SELECT pg_relation_size('audit_log_payload_hash_idx')")[0]
    assert size > 1024 * 1024


@pytest.mark.parametrize("index", ["audit_log_payload_hash_idx", "jobs_priority_idx", "users_email_idx",
                                   "users_email_key"])
def test_the_workload_never_uses_the_unused_and_duplicate_indexes(demo_db, index):
    _stats_settled(demo_db["dsn"], "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'jobs'",
                   lambda rs: rs[0][0] >= 5 * 80)
    assert _rows(demo_db["dsn"], "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = %s",
                 (index,)) == [(0,)]


def test_the_hot_job_queries_scan_the_table(demo_db):
    # per page view: the two job lists and three of the dashboard counts have no index to use
    # (dashboard_unassigned can use jobs_assigned_to_idx for `assigned_to IS NULL`)
    rows = _stats_settled(demo_db["dsn"], "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'jobs'",
                          lambda rs: rs[0][0] >= 5 * 80)
    assert rows[0][0] >= 5 * 80


def test_analyze_names_the_planted_problems(demo_db):
    report = analyze_report(demo_db["dsn"])
    by_code = {}
    for f in report.findings:
        by_code.setdefault(f.code, []).append(f)
    # the N+1 loop, with its parent statement
    (n1,) = by_code["Q110"]
    assert n1.evidence["table"] == "job_steps" and n1.evidence["column"] == "job_id"
    assert "FROM jobs WHERE customer_id = $1" in n1.detail
    # the dashboard of COUNT queries
    (counts,) = by_code["Q111"]
    assert counts.object == "jobs" and len(counts.evidence["queryids"]) == 4
    # the seq-scanned big tables, with the index advisor's answer as the fix (the same as
    # `indexes recommend`'s: test_analyze_advice.py) — `status = $1 AND created_at > $2 ORDER BY
    # created_at DESC` gets (created_at), not the (status, created_at) of the old heuristic
    t201 = {f.object: f for f in by_code["T201"]}
    assert {"public.jobs", "public.notifications", "public.audit_log"} <= set(t201)
    assert '("status", "due_date")' in t201["public.jobs"].fix
    assert '("created_at")' in t201["public.jobs"].fix
    assert '("user_id"' in t201["public.notifications"].fix
    # the table without a primary key is visible in the tables section
    rows = {r["table"]: r for r in report.section("tables").rows}
    assert rows["public.audit_log"]["has_pk"] is False
    # JSON carries the same findings
    assert sorted(f["code"] for f in report.as_dict()["findings"]) == sorted(f.code for f in report.findings)
    assert report.data["score"]["score"] < 100


def test_the_demo_report_shows_the_planted_unused_index(demo_db):
    """The demo's statistics are minutes old: `analyze` keeps I104 silent (and says so), the demo's
    own report sets the statistics window to 0 and names the planted unused index."""
    from perftool.demo.setup import demo_report

    plain = analyze_report(demo_db["dsn"])
    assert not any(f.code == "I104" for f in plain.findings)
    assert any(n.startswith("I104 (unused index) silent") for n in plain.notes)
    demo = demo_report(demo_db["dsn"])
    (big,) = [f for f in demo.findings if f.code == "I104" and f.object == "public.audit_log_payload_hash_idx"]
    assert big.severity == "warning"
    assert {f.object for f in demo.findings if f.code == "I104" and f.severity == "info"} >= {"public.jobs_priority_idx"}
    assert any(n.startswith("demo: I104 (unused index) reported") for n in demo.notes)
