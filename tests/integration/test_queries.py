"""`queries` numbers checked against a workload the test itself runs on the sandbox."""

import psycopg
import pytest

from perftool.config import Thresholds
from perftool.db.connect import connect, server_info
from perftool.db.errors import MissingExtension
from perftool.workload.queries import QueryOptions, collect_and_analyze, queries_report


def _workload(dsn: str, n: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id int PRIMARY KEY, kind text, qty int)")
        conn.execute("INSERT INTO items SELECT g, 'k' || (g % 5), g FROM generate_series(1, 2000) g")
        for i in range(n):
            conn.execute("SELECT id, qty FROM items WHERE kind = %s AND qty > %s", (f"k{i % 5}", i))
        for _ in range(3):
            conn.execute("SELECT pg_sleep(0.06)")


def _row(report, needle):
    rows = [r for r in report.section("statements").rows if needle in r["query"]]
    assert len(rows) == 1, [r["query"] for r in report.section("statements").rows]
    return rows[0]


def test_calls_and_rows_match_the_workload(fresh_db):
    _workload(fresh_db, 37)
    report = queries_report(fresh_db, QueryOptions(limit=0))
    row = _row(report, "FROM items WHERE kind = $1 AND qty > $2")
    assert row["calls"] == 37
    # rows returned: for i, ids with g % 5 == i % 5 and g > i
    expected_rows = sum(sum(1 for g in range(1, 2001) if g % 5 == i % 5 and g > i) for i in range(37))
    assert row["rows"] == expected_rows
    sleep = _row(report, "pg_sleep")
    assert sleep["calls"] == 3
    assert sleep["mean_ms"] >= 60
    assert sleep["p95_ms"] >= sleep["p50_ms"]
    # perftool's own queries never show up
    assert not any("perftool" in r["query"] for r in report.section("statements").rows)
    assert report.server["database"] == fresh_db.rsplit("/", 1)[1]
    assert report.data["summary"]["calls"] >= 40


def test_slow_statement_finding_with_threshold(fresh_db):
    _workload(fresh_db, 1)
    report = queries_report(fresh_db, QueryOptions(thresholds=Thresholds(slow_ms=50, slow_critical_ms=10_000)))
    slow = [f for f in report.findings if f.code == "Q101"]
    assert len(slow) == 1 and "pg_sleep" in slow[0].detail
    assert slow[0].severity.value == "warning"


def test_other_databases_are_left_out_unless_asked(fresh_db, sandbox_dsn_factory):
    other = sandbox_dsn_factory("t_queries_other_db")
    with psycopg.connect(other, autocommit=True) as conn:
        conn.execute("SELECT 'only-in-other-db' AS marker_x1")
    mine = queries_report(fresh_db, QueryOptions(limit=0))
    assert not any("marker_x1" in r["query"] for r in mine.section("statements").rows)
    everything = queries_report(fresh_db, QueryOptions(limit=0, all_databases=True))
    assert any("marker_x1" in r["query"] for r in everything.section("statements").rows)


def test_missing_extension_is_a_clear_error(fresh_db):
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("DROP EXTENSION pg_stat_statements")
    with pytest.raises(MissingExtension) as exc:
        queries_report(fresh_db)
    assert "CREATE EXTENSION pg_stat_statements" in exc.value.one_line()
    assert exc.value.exit_code == 3


def test_session_is_read_only_with_timeouts(fresh_db):
    with connect(fresh_db) as conn:
        settings = dict(conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN ('default_transaction_read_only', "
            "'statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout', 'application_name')"
        ).fetchall())
        assert settings["default_transaction_read_only"] == "on"
        assert settings["statement_timeout"] == "30000"
        assert settings["lock_timeout"] == "2000"
        assert settings["application_name"] == "perftool"
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("CREATE TABLE nope (id int)")
        info = server_info(conn)
        assert info.major >= 13 and info.is_superuser and info.has_extension("pg_stat_statements")
        assert "pg_stat_statements" in info.shared_preload_libraries


def test_collect_and_analyze_is_a_library_call(fresh_db):
    _workload(fresh_db, 5)
    with connect(fresh_db) as conn:
        info, meta, result = collect_and_analyze(conn, QueryOptions(sort="calls", limit=1))
    assert result.rows[0]["calls"] == 5
    assert meta.max_entries == 10000 and meta.track_io_timing
