"""perftool's own statements never count as workload, on PostgreSQL 15 and 18.

PG18's pg_stat_statements stores statement texts without their leading comments, so the
`/* perftool */` prefix alone is lost there; the marker after the first keyword (`SELECT /* perftool
*/ ...`) survives normalisation on every version. These tests run every read-only command against a
database with a known application workload, then look at pg_stat_statements itself: every entry
that is not the application's carries the marker, and the workload that `queries`, `analyze` and
`recommend` read holds exactly the application's statements.
"""

from __future__ import annotations

import psycopg
import pytest

from perftool.advisor.pipeline import AdvisorOptions, recommend_report
from perftool.analyze.run import analyze_report
from perftool.db.connect import connect
from perftool.db.sql import MARKER
from perftool.health.reports import GateOptions, gate_report, health_report, snapshot_for
from perftool.workload.queries import QueryOptions, queries_report
from perftool.workload.sources import from_stat_statements
from perftool.workload.stats import collect_statements

APP = {
    "SELECT * FROM t WHERE k = $1": 7,
    "SELECT count(*) FROM t WHERE id > $1": 3,
}
RESET = "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)"
INSPECT = ("SELECT s.query, s.toplevel, s.calls::int FROM pg_stat_statements s "
           "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database()")


@pytest.fixture(params=["pg15", "pg18"])
def app_db(request):
    sb = request.getfixturevalue("sandbox" if request.param == "pg15" else "pg18")
    name = f"t_own_{request.param}"
    dsn = sb.create_database(name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE t AS SELECT g AS id, g % 1000 AS k FROM generate_series(1, 20000) g")
        conn.execute("ANALYZE t")
        conn.execute(RESET)
        for i in range(APP["SELECT * FROM t WHERE k = $1"]):
            conn.execute("SELECT * FROM t WHERE k = %s", (i,))
        for i in range(APP["SELECT count(*) FROM t WHERE id > $1"]):
            conn.execute("SELECT count(*) FROM t WHERE id > %s", (i,))
    yield request.param, dsn
    sb.drop_database(name)


def entries(dsn: str) -> list[tuple[str, bool, int]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(INSPECT).fetchall()


def test_every_own_statement_is_marked_and_none_is_workload(app_db):
    label, dsn = app_db
    whatif = label == "pg15"                        # HypoPG only in the PG15 sandbox
    for _ in range(2):                              # a second run sees the first one's entries
        queries_report(dsn, QueryOptions(limit=0, include_nested=True))
        analyze_report(dsn)
        health_report(dsn)
        gate_report(dsn, GateOptions())
        snapshot_for(dsn)
        recommend_report(dsn, {}, AdvisorOptions(whatif=whatif))
    marker = MARKER.strip()
    app = set(APP) | {RESET, INSPECT}   # the reset call is stored as sent (its entry is made after the reset)
    own = [(q, top) for q, top, _calls in entries(dsn) if q not in app]
    # HypoPG's own nested lookup (hypopg_create_index runs it through SPI) is not perftool's text
    own = [(q, top) for q, top in own if not (not top and q.startswith("SELECT max(oid) FROM pg_catalog.pg_class"))]
    assert own, "perftool's statements should be in pg_stat_statements (track = all)"
    assert [q for q, _top in own if marker not in q] == []
    if label == "pg18":   # the reason for the inner marker: PG18 drops the leading comment
        assert not any(q.startswith(marker) for q, top in own if top)
    if whatif:   # a superuser's what-if session turns pg_stat_statements off (whatif_session.sql):
        # the advisor's EXPLAINs take no entry (a role that may not do that gets them marked, above)
        assert not any(f"EXPLAIN {marker}" in q for q, _top in own), own

    with connect(dsn) as conn:
        workload = {s.query: s.calls for s in collect_statements(conn) if s.toplevel}
        advisor = {s.text for s in from_stat_statements(conn)}
    assert {q: c for q, c in workload.items() if q in APP} == APP
    assert set(workload) <= app
    assert advisor <= app
    report = queries_report(dsn, QueryOptions(limit=0))
    assert {r["query"] for r in report.section("statements").rows} <= app
    nested = queries_report(dsn, QueryOptions(limit=0, include_nested=True))   # only HypoPG's SPI lookup besides
    assert {r["query"] for r in nested.section("statements").rows} - app <= {
        "SELECT max(oid) FROM pg_catalog.pg_class WHERE oid < $1"}
    totals = analyze_report(dsn).data["workload"]
    assert totals["calls"] == sum(APP.values()) + 2   # the application, the reset and INSPECT: nothing of perftool
