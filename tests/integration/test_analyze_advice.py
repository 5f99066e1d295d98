"""One answer (issue 15, item 4): `analyze`'s index fixes (T201) are `indexes recommend`'s
recommendations for the same statements — what-if costed with HypoPG, the labelled heuristic
without it — so the two commands never disagree on a statement."""

from __future__ import annotations

import psycopg

from perftool.advisor.options import AdvisorOptions
from perftool.advisor.pipeline import recommend_report
from perftool.analyze.options import AnalyzeOptions
from perftool.analyze.run import analyze_report
from perftool.config import Thresholds
from perftool.workload.statement_text import fingerprint
from tests.integration.test_analyze import run, setup


def _recommended(dsn: str, **options) -> dict[tuple[str, str], set[str]]:
    """(table, statement fingerprint) → names of the recommended indexes on that table its plan uses."""
    doc = recommend_report(dsn, {}, AdvisorOptions(**options)).as_dict()
    out: dict[tuple[str, str], set[str]] = {}
    for r in doc["recommendations"]:
        name = r["definition"].split('"')[1]
        for s in r["statements"]:
            out.setdefault((r["table"], fingerprint(s["query"])), set()).add(name)
    return out


def _suggested(report) -> dict[tuple[str, str], set[str]]:
    """The same from analyze's T201 findings, for every statement they name."""
    out: dict[tuple[str, str], set[str]] = {}
    for f in report.findings:
        if f.code == "T201":
            for s in f.evidence["statement_indexes"]:
                out[(f.object, fingerprint(s["query"]))] = set(s["indexes"])
    return out


def test_analyze_and_recommend_give_the_same_indexes_on_the_demo(demo_db):
    report = analyze_report(demo_db["dsn"])
    suggested = _suggested(report)
    recommended = _recommended(demo_db["dsn"])
    assert len(suggested) >= 4 and any(suggested.values())
    for key, names in suggested.items():       # every statement analyze names: recommend's indexes for it
        assert names == recommended.get(key, set()), key
    named = {table for table, _ in suggested}
    for (table, stmt), names in recommended.items():   # and each of recommend's on a T201 statement
        if table in named and any(s == stmt for _, s in suggested):
            assert suggested.get((table, stmt)) == names, (table, stmt)
    t201 = {f.object: f for f in report.findings if f.code == "T201"}
    # the example: `status = $1 AND created_at > $2 ORDER BY created_at` gets one answer
    listed = [s for s in t201["public.jobs"].evidence["statement_indexes"]
              if "status = $1 AND created_at > $2" in s["query"]]
    assert listed and listed[0]["indexes"] == sorted(recommended[("public.jobs", fingerprint(listed[0]["query"]))])
    for f in t201.values():
        assert f.evidence["index_advice"] == "HypoPG what-if costing"
        if f.evidence["statement_indexes"] and any(s["indexes"] for s in f.evidence["statement_indexes"]):
            assert "-- from the index advisor (HypoPG what-if costing)" in f.fix
            assert f.plan is not None and all(st.sql in f.fix for st in f.plan.steps)


def test_without_hypopg_the_fix_is_the_labelled_heuristic(fresh_db):
    setup(fresh_db)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("DROP EXTENSION hypopg")
    hot = "SELECT id, total FROM orders WHERE status = %s AND created_at > now() - %s::interval"
    run(fresh_db, [(hot, ("paid", "3 days"))] * 25)
    report = analyze_report(fresh_db)
    (f,) = [f for f in report.findings if f.code == "T201"]
    assert f.evidence["index_advice"].startswith("heuristic, not verified by the planner")
    assert "HypoPG is not installed" in f.fix
    # the same as `indexes recommend --no-whatif`
    suggested, recommended = _suggested(report), _recommended(fresh_db, whatif=False)
    assert any(suggested.values())
    for key, names in suggested.items():
        assert names == recommended.get(key, set()), key


def test_a_healthy_database_runs_no_advisor(fresh_db, monkeypatch):
    setup(fresh_db)
    run(fresh_db, [("SELECT * FROM orders WHERE id = %s", (i,)) for i in range(100)])   # index scans only
    import perftool.analyze.sections.tables as tables

    def boom(conn):  # noqa: ANN001
        raise AssertionError("the advisor ran without a seq-scan heavy table")

    monkeypatch.setattr(tables, "workload_advice", boom)
    report = analyze_report(fresh_db)
    assert not [f for f in report.findings if f.code == "T201"]


def test_no_index_advice_skips_the_advisor(fresh_db, monkeypatch):
    setup(fresh_db)
    hot = "SELECT id, total FROM orders WHERE status = %s AND created_at > now() - %s::interval"
    run(fresh_db, [(hot, ("paid", "3 days"))] * 25)
    import perftool.analyze.sections.tables as tables

    def boom(conn):  # noqa: ANN001
        raise AssertionError("the advisor ran with --no-index-advice")

    monkeypatch.setattr(tables, "workload_advice", boom)
    report = analyze_report(fresh_db, AnalyzeOptions(index_advice=False))
    (f,) = [f for f in report.findings if f.code == "T201"]
    assert f.fix == "-- find the index with: perftool indexes recommend (HypoPG what-if costing)"
    assert f.plan is None and f.evidence["index_advice"] is None


def test_slow_statements_get_the_advisors_index_too(fresh_db):
    setup(fresh_db)
    hot = "SELECT id, total FROM orders WHERE status = %s AND created_at > now() - %s::interval"
    run(fresh_db, [(hot, ("paid", "3 days"))] * 25)
    report = analyze_report(fresh_db, AnalyzeOptions(thresholds=Thresholds(slow_ms=0.001, slow_critical_ms=1e9)))
    (t201,) = [f for f in report.findings if f.code == "T201"]
    (slow,) = [f for f in report.findings if f.code == "Q101" and "FROM orders WHERE status" in f.detail]
    (listed,) = [s for s in t201.evidence["statement_indexes"] if "FROM orders WHERE status" in s["query"]]
    assert listed["indexes"] and slow.evidence["indexes"] == listed["indexes"]
    # one report, one index: the second mention names the first (fix_compose)
    assert f'-- "{listed["indexes"][0]}": the same index as the fix of' in slow.fix + t201.fix


def test_the_advisor_leaves_perftools_search_path_pinned(fresh_db, sql):
    setup(fresh_db)
    sql(fresh_db, "CREATE SCHEMA app")
    dbname = fresh_db.rsplit("/", 1)[1].split("?")[0]
    sql(fresh_db, f'ALTER DATABASE "{dbname}" SET search_path = app, public')
    run(fresh_db, [("SELECT id FROM orders WHERE status = %s", ("paid",))] * 5)
    from perftool.advisor.fixes import workload_advice
    from perftool.db.connect import connect

    with connect(fresh_db) as conn:
        pinned = conn.execute("SELECT current_setting('search_path')").fetchone()[0]
        assert "app" not in pinned
        assert workload_advice(conn).fixes
        assert conn.execute("SELECT current_setting('search_path')").fetchone()[0] == pinned


def test_analyze_asks_the_advisor_for_recommends_defaults(fresh_db, monkeypatch):
    """analyze's advice is `indexes recommend`'s defaults, the local search included: left out, it
    moved the indexes of 18 of 214 OLTP statements (two answers for one statement)."""
    setup(fresh_db)
    run(fresh_db, [("SELECT id FROM orders WHERE status = %s", ("paid",))] * 5)
    import perftool.advisor.fixes as fixes
    from perftool.db.connect import connect

    seen = []
    real = fixes.advise

    def spy(conn, statements, options, **kw):  # noqa: ANN001, ANN003
        seen.append(options)
        return real(conn, statements, options, **kw)

    monkeypatch.setattr(fixes, "advise", spy)
    with connect(fresh_db) as conn:
        assert fixes.workload_advice(conn).fixes
    (options,) = seen
    assert options == AdvisorOptions() and options.refine_seconds > 0


READINGS = """
CREATE TABLE readings (sensor_id int NOT NULL, ts timestamptz NOT NULL, v float8) PARTITION BY RANGE (ts);
CREATE TABLE readings_2026_01 PARTITION OF readings FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE readings_2026_02 PARTITION OF readings FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
INSERT INTO readings SELECT g % 500, timestamptz '2026-01-01' + g * interval '30 seconds', g
  FROM generate_series(1, 150000) g;
VACUUM ANALYZE readings;
SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)
"""


def test_a_seq_scanned_partition_gets_the_index_recommend_makes_on_its_partitioned_table(fresh_db):
    """The statements name the partitioned table and the advisor recommends on it (one index, ON
    ONLY the parent, then on each partition, attached); pg_stat_user_tables counts the seq scans on
    the partitions. Each partition's T201 lists the statements on its parent and that index."""
    setup(fresh_db, READINGS)
    hot = "SELECT avg(v) FROM readings WHERE sensor_id = %s"
    run(fresh_db, [(hot, (i % 500,)) for i in range(20)])
    report = analyze_report(fresh_db)
    t201 = {f.object: f for f in report.findings if f.code == "T201"}
    assert set(t201) == {"public.readings_2026_01", "public.readings_2026_02"}
    (rec,) = recommend_report(fresh_db, {}, AdvisorOptions()).as_dict()["recommendations"]
    assert rec["table"] == "public.readings" and rec["columns"] == ["sensor_id"]
    parent = rec["definition"].split('"')[1]
    assert suggested_for(t201) == {(p, fingerprint(hot.replace("%s", "$1"))): {parent} for p in t201}
    for f in t201.values():
        assert "FROM readings WHERE sensor_id = $1" in f.detail
    first, second = t201["public.readings_2026_01"], t201["public.readings_2026_02"]
    assert rec["definition"] in first.fix and first.plan is not None     # the three steps, as recommend writes them
    assert "ON ONLY" in first.fix and first.fix.count("ATTACH PARTITION") == 2
    # one index for both partitions: the second fix names the first (fix_compose)
    assert f'-- "{parent}": the same index as the fix of T201 public.readings_2026_01' in second.fix


def suggested_for(t201: dict) -> dict[tuple[str, str], set[str]]:
    return {(f.object, fingerprint(s["query"])): set(s["indexes"])
            for f in t201.values() for s in f.evidence["statement_indexes"]}
