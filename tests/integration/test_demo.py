"""The demo database: sizes, the workload mix, and `analyze` naming every planted problem."""

import psycopg

from perftool.core.analyze import analyze_report
from perftool.demo import STATEMENTS


def test_row_counts(demo_db):
    c = demo_db["counts"]
    assert c["jobs"] == 100_000 and c["job_steps"] == 400_000
    assert c["audit_log"] >= 200_000 and c["notifications"] >= 100_000
    assert c["customers"] == 5_000 and c["users"] == 500 and c["machines"] == 200


def test_workload_ran_every_statement(demo_db):
    w = demo_db["workload"]
    assert set(w.per_statement) == set(STATEMENTS)
    assert w.per_statement["dashboard_open"] == 80  # 4 clients × 20 page views
    assert w.per_statement["job_steps_for_job"] >= 1000  # the N+1 loop
    assert w.executions == sum(w.per_statement.values())


def test_planted_schema_problems_are_there(demo_db):
    with psycopg.connect(demo_db["dsn"]) as conn:
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")}
        assert {"users_email_key", "users_email_idx", "jobs_priority_idx"} <= indexes
        assert not any("status" in i for i in indexes if i.startswith("jobs_"))
        assert not any("machine_id" in i for i in indexes)
        has_pk = conn.execute("SELECT count(*) FROM pg_constraint WHERE conrelid = 'audit_log'::regclass "
                              "AND contype = 'p'").fetchone()[0]
        assert has_pk == 0


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
    assert counts.object == "jobs" and len(counts.evidence["statements"]) == 4
    # the seq-scanned big tables, with the missing composite indexes as the fix
    t201 = {f.object: f for f in by_code["T201"]}
    assert {"public.jobs", "public.notifications", "public.audit_log"} <= set(t201)
    assert '("status", "due_date")' in t201["public.jobs"].fix
    assert '("status", "created_at")' in t201["public.jobs"].fix
    assert '("user_id"' in t201["public.notifications"].fix
    # the table without a primary key is visible in the tables section
    rows = {r["table"]: r for r in report.section("tables").rows}
    assert rows["public.audit_log"]["has_pk"] is False
    # JSON carries the same findings
    assert sorted(f["code"] for f in report.as_dict()["findings"]) == sorted(f.code for f in report.findings)
    assert report.data["score"]["score"] < 100
