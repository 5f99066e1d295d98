"""Pure parts of analyze: N+1 and COUNT-dashboard detection, the score, fleet merging, deltas."""

import dataclasses
import datetime as dt
import math
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perftool.analyze.score import health_score
from perftool.report.model import Finding
from perftool.workload.fleet import merge_statements
from perftool.workload.patterns import dashboard_count_findings, n_plus_one_findings
from perftool.workload.statement_text import fingerprint, parse, statement_type, tables
from perftool.workload.stats import StatementStats


def stmt(qid, query, calls, rows, total_ms=None, stddev=0.0):
    total_ms = total_ms if total_ms is not None else calls * 0.1
    return StatementStats(queryid=qid, query=query, calls=calls, total_ms=total_ms, mean_ms=total_ms / calls,
                          stddev_ms=stddev, rows=rows)


PARENT = stmt(1, "SELECT id, number FROM jobs WHERE status = $1 ORDER BY created_at DESC LIMIT $2", 300, 15000)
CHILD = stmt(2, "SELECT id, seq, machine_id FROM job_steps WHERE job_id = $1 ORDER BY seq", 15000, 60000, 900.0)
OTHERS = [stmt(10 + i, f"SELECT * FROM customers WHERE id = $1 AND x{i} = $2", 200, 200) for i in range(5)]


def test_n_plus_one_with_parent():
    found = n_plus_one_findings([PARENT, CHILD, *OTHERS])
    assert len(found) == 1
    f = found[0]
    assert (f.code, f.severity.value, f.object) == ("Q110", "warning", "queryid:2")
    assert f.evidence["parent_queryid"] == 1 and f.evidence["loop_ratio"] == 50.0
    assert "job_steps WHERE job_id = ANY($1)" in f.fix


def test_n_plus_one_without_parent_is_info_and_needs_volume():
    found = n_plus_one_findings([CHILD, *OTHERS])
    assert [(f.code, f.severity.value) for f in found] == [("Q110", "info")]
    # near misses: few calls; many rows per call; a range filter instead of an equality
    assert not n_plus_one_findings([dataclasses.replace(CHILD, calls=400, rows=1600), *OTHERS])
    assert not n_plus_one_findings([dataclasses.replace(CHILD, rows=15000 * 50), *OTHERS])
    ranged = dataclasses.replace(CHILD, query="SELECT * FROM job_steps WHERE job_id > $1")
    assert not n_plus_one_findings([ranged, *OTHERS])


def test_counts_are_not_n_plus_one():
    count = stmt(40, "SELECT count(*) FROM jobs WHERE customer_id = $1", 15000, 15000)
    assert not n_plus_one_findings([PARENT, count, *OTHERS])


def test_dashboard_counts():
    counts = [stmt(20 + i, f"SELECT count(*) FROM jobs WHERE {cond}", 300, 300)
              for i, cond in enumerate(["status = 'queued'", "status = 'running'", "due_date < now()"])]
    found = dashboard_count_findings(counts)
    assert len(found) == 1 and found[0].code == "Q111" and found[0].object == "jobs"
    assert found[0].evidence["queryids"] == [20, 21, 22]
    assert "FILTER" in found[0].fix
    param = stmt(30, "SELECT count(*) AS n FROM jobs WHERE status = $1", 1200, 1200)
    found = dashboard_count_findings([param])
    assert found and found[0].evidence["parameter_columns"] == ["status"] and "GROUP BY status" in found[0].fix
    # a single COUNT with a fixed condition is not a dashboard; a GROUP BY count is already one pass
    assert not dashboard_count_findings([counts[0]])
    assert not dashboard_count_findings([stmt(31, "SELECT status, count(*) FROM jobs GROUP BY status", 900, 4)])


def test_statement_text_helpers():
    assert statement_type("WITH x AS (SELECT 1) SELECT * FROM x") == "SELECT"
    assert statement_type("insert into t(a,b) values ($1,$2)") == "INSERT"
    assert statement_type("UPDATE t SET a = $1 WHERE id = $2") == "UPDATE"
    assert statement_type("delete from t where id in ($1,$2,$3)") == "DELETE"
    assert statement_type("BEGIN") == "OTHER" and statement_type("") == "OTHER"
    assert tables("SELECT * FROM a.b JOIN c ON c.id = b.id") == ("a.b", "c")
    assert tables("WITH x AS (SELECT * FROM t) SELECT * FROM x") == ("t",)
    # the names PostgreSQL resolves: unquoted folded, quoted kept (one table, however it is spelled)
    assert tables('SELECT * FROM Sales.Orders o JOIN "Items" i ON i.id = o.id') == ("sales.orders", "Items")
    assert tables("SELECT * FROM ORDERS") == tables("select * from orders") == ("orders",)
    assert fingerprint("/* app */ SELECT  *\nFROM T;") == "select * from t"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_parsers_never_raise(text):
    parse(text)
    statement_type(text)
    tables(text)
    fingerprint(text)
    s = stmt(1, text, 1000, 10)
    n_plus_one_findings([s, s])
    dashboard_count_findings([s])


def F(code, sev):
    return Finding(code, sev, "t", "o")


def test_score_formula_and_caps():
    assert health_score([])["score"] == 100
    r = health_score([F("Q101", "error"), F("Q101", "warning"), F("T201", "info")])
    assert r["score"] == 100 - 16 - 1
    assert r["areas"]["queries"] == {"findings": 2, "deduction": 16, "cap": 30}
    many = [F("Q101", "error")] * 10 + [F("C101", "error")] * 3
    r = health_score(many)
    assert r["areas"]["queries"]["deduction"] == 30 and r["areas"]["connections"]["deduction"] == 10
    assert r["score"] == 60
    assert health_score(list(reversed(many))) == r  # order does not matter
    every = [F(c, "error") for c in ("Q101", "T201", "I101", "D101", "C101", "R101", "S101", "A101")
             for _ in range(10)]   # one registered code per area, A101 in "other"
    assert health_score(every)["score"] == 0


def test_fleet_merge_pools_exactly():
    a_times = [1.0, 2.0, 3.0, 10.0]
    b_times = [5.0, 5.0, 6.0]

    def from_samples(qid, text, xs):
        return StatementStats(queryid=qid, query=text, calls=len(xs), total_ms=sum(xs), mean_ms=statistics.mean(xs),
                              stddev_ms=statistics.pstdev(xs), min_ms=min(xs), max_ms=max(xs), rows=len(xs))

    a = from_samples(111, "SELECT * FROM t WHERE id = $1", a_times)
    b = from_samples(999, "select *  from t\nwhere id = $1;", b_times)  # other host, other queryid
    merged = merge_statements({"primary": [a], "replica1": [b]})
    assert len(merged) == 1
    m = merged[0]
    both = a_times + b_times
    assert m.calls == 7 and m.mean_ms == pytest.approx(statistics.mean(both))
    assert m.stddev_ms == pytest.approx(statistics.pstdev(both))
    assert (m.min_ms, m.max_ms) == (1.0, 10.0)
    assert m.extra["hosts"] == {"primary": 4, "replica1": 3}


def test_delta_subtracts_counters():
    from perftool.db.connect import ServerInfo
    from perftool.workload.snapshot import Snapshot, delta
    from perftool.workload.stats import StatementsMeta

    info = ServerInfo(150000, "15", "h", 5432, "db", "u", True, True, False)
    meta = StatementsMeta(0, 5000, "all", True, 8192, 0, None)
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    s1 = stmt(1, "SELECT 1", 10, 10, 50.0)
    s2 = stmt(2, "SELECT 2", 5, 5, 5.0)
    before = Snapshot("h", "primary", info, t0, [s1, s2], meta, {"blks_hit": 10, "blks_read": 5},
                      [{"relid": 1, "seq_scan": 3, "n_live_tup": 100}], [])
    after = Snapshot("h", "primary", info, t0 + dt.timedelta(seconds=4),
                     [dataclasses.replace(s1, calls=14, total_ms=70.0, rows=14), s2, stmt(3, "SELECT 3", 2, 2, 1.0)],
                     meta, {"blks_hit": 30, "blks_read": 5}, [{"relid": 1, "seq_scan": 7, "n_live_tup": 120}], [])
    d = delta(before, after)
    assert d.interval_s == 4.0
    by_id = {s.queryid: s for s in d.statements}
    assert set(by_id) == {1, 3}  # statement 2 did not run in between
    assert (by_id[1].calls, by_id[1].total_ms, by_id[1].mean_ms) == (4, 20.0, 5.0)
    assert d.database["blks_hit"] == 20 and d.tables[0]["seq_scan"] == 4 and d.tables[0]["n_live_tup"] == 120
    assert math.isclose(by_id[3].mean_ms, 0.5)


def test_delta_variance_is_exact():
    from perftool.db.connect import ServerInfo
    from perftool.workload.snapshot import Snapshot, delta
    from perftool.workload.stats import StatementsMeta

    def rec(xs):
        return StatementStats(queryid=1, query="SELECT 1", calls=len(xs), total_ms=sum(xs),
                              mean_ms=statistics.mean(xs), stddev_ms=statistics.pstdev(xs), min_ms=min(xs),
                              max_ms=max(xs), rows=len(xs))

    early, window = [1.0, 2.0, 3.0], [10.0, 20.0, 40.0, 50.0]
    info = ServerInfo(150000, "15", "h", 5432, "db", "u", True, True, False)
    meta = StatementsMeta(0, 5000, "all", True, 8192, 0, None)
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    a = Snapshot("h", "primary", info, t0, [rec(early)], meta, {}, [], [])
    b = Snapshot("h", "primary", info, t0 + dt.timedelta(seconds=1), [rec(early + window)], meta, {}, [], [])
    (s,) = delta(a, b).statements
    assert s.calls == 4 and s.mean_ms == pytest.approx(30.0)
    assert s.stddev_ms == pytest.approx(statistics.pstdev(window))
