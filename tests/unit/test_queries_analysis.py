import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perftool.config import Thresholds
from perftool.db.errors import UsageError
from perftool.workload.queries import QueryOptions, analyze_statements, estimate_percentiles
from perftool.workload.stats import StatementsMeta, statement_from_row

# Rows as pg_stat_statements returns them on different server versions (recorded column names).
PG12_ROW = {"queryid": 11, "query": "SELECT * FROM jobs WHERE id = $1", "calls": 100, "total_time": 2500.0,
            "mean_time": 25.0, "stddev_time": 5.0, "min_time": 10.0, "max_time": 60.0, "rows": 100,
            "shared_blks_hit": 900, "shared_blks_read": 100, "temp_blks_read": 0, "temp_blks_written": 0,
            "blk_read_time": 1.5, "blk_write_time": 0.0}
PG13_ROW = {"queryid": 12, "query": "SELECT count(*) FROM jobs WHERE status = $1", "calls": 10,
            "total_exec_time": 20000.0, "mean_exec_time": 2000.0, "stddev_exec_time": 500.0,
            "min_exec_time": 1200.0, "max_exec_time": 4000.0, "total_plan_time": 3.0, "rows": 10,
            "shared_blks_hit": 10, "shared_blks_read": 50000, "temp_blks_read": 10, "temp_blks_written": 10,
            "blk_read_time": 300.0, "blk_write_time": 2.0, "wal_bytes": 0}
PG17_ROW = {"queryid": 13, "query": "SELECT * FROM audit_log ORDER BY created_at", "calls": 3, "toplevel": True,
            "total_exec_time": 18000.0, "mean_exec_time": 6000.0, "stddev_exec_time": 100.0,
            "min_exec_time": 5900.0, "max_exec_time": 6100.0, "rows": 3000,
            "shared_blks_hit": 10, "shared_blks_read": 10, "temp_blks_read": 0, "temp_blks_written": 0,
            "shared_blk_read_time": 7.0, "shared_blk_write_time": 1.0}


def test_rows_of_every_version_map_to_the_same_fields():
    a, b, c = (statement_from_row(r) for r in (PG12_ROW, PG13_ROW, PG17_ROW))
    assert (a.total_ms, a.mean_ms, a.io_read_ms) == (2500.0, 25.0, 1.5)
    assert (b.total_ms, b.plan_ms, b.io_ms) == (20000.0, 3.0, 302.0)
    assert (c.mean_ms, c.io_read_ms, c.io_write_ms) == (6000.0, 7.0, 1.0)
    assert a.rows_per_call == 1.0
    assert a.hit_ratio == pytest.approx(0.9)


def test_findings_and_sorting():
    stmts = [statement_from_row(r) for r in (PG12_ROW, PG13_ROW, PG17_ROW)]
    meta = StatementsMeta(entries=3, max_entries=5000, track="all", track_io_timing=True, block_size=8192,
                          dealloc=0, stats_reset=None)
    res = analyze_statements(stmts, QueryOptions(sort="mean"), meta)
    assert [r["queryid"] for r in res.rows] == [13, 12, 11]
    codes = sorted((f.code, f.severity.value, f.object) for f in res.findings)
    assert ("Q101", "error", "queryid:13") in codes  # 6000 ms mean ≥ 5000 critical
    assert ("Q101", "warning", "queryid:12") in codes  # 2000 ms mean ≥ 1000 warning
    assert not any(c[0] == "Q101" and c[2] == "queryid:11" for c in codes)  # 25 ms is not slow
    assert ("Q103", "error", "queryid:12") in codes  # hit ratio 0.02 % with 50 000 blocks read
    assert ("Q104", "warning", "queryid:12") in codes  # temp blocks written
    assert sum(r["share"] for r in res.rows) == pytest.approx(1.0, abs=1e-3)
    assert res.total_ms == pytest.approx(40500.0)


def test_slow_threshold_is_configurable():
    stmts = [statement_from_row(PG12_ROW)]
    res = analyze_statements(stmts, QueryOptions(thresholds=Thresholds(slow_ms=20, slow_critical_ms=100)))
    assert [(f.code, f.severity.value) for f in res.findings] == [("Q101", "warning")]


def test_sort_keys_and_limit():
    stmts = [statement_from_row(r) for r in (PG12_ROW, PG13_ROW, PG17_ROW)]
    assert [r["queryid"] for r in analyze_statements(stmts, QueryOptions(sort="calls")).rows] == [11, 12, 13]
    assert [r["queryid"] for r in analyze_statements(stmts, QueryOptions(sort="rows")).rows] == [13, 11, 12]
    assert [r["queryid"] for r in analyze_statements(stmts, QueryOptions(sort="temp", limit=1)).rows] == [12]
    assert [r["queryid"] for r in analyze_statements(stmts, QueryOptions(sort="io")).rows][0] == 12
    with pytest.raises(UsageError):
        QueryOptions(sort="bogus")


def test_nested_statements_are_excluded_by_default():
    nested = statement_from_row({**PG17_ROW, "queryid": 99, "toplevel": False})
    top = statement_from_row(PG12_ROW)
    assert [r["queryid"] for r in analyze_statements([nested, top], QueryOptions()).rows] == [11]
    assert len(analyze_statements([nested, top], QueryOptions(include_nested=True)).rows) == 2


def test_meta_findings():
    meta = StatementsMeta(entries=4990, max_entries=5000, track="top", track_io_timing=False, block_size=8192,
                          dealloc=12, stats_reset=None)
    res = analyze_statements([], QueryOptions(), meta)
    assert sorted(f.code for f in res.findings) == ["Q105", "Q106"]


def test_percentiles_lognormal_known_values():
    p = estimate_percentiles(100.0, 0.0)
    assert p == {"p50": 100.0, "p95": 100.0, "p99": 100.0}
    p = estimate_percentiles(100.0, 100.0)
    sigma = math.sqrt(math.log(2.0))
    mu = math.log(100.0) - math.log(2.0) / 2
    assert p["p95"] == pytest.approx(math.exp(mu + 1.6449 * sigma), rel=1e-6)
    assert p["p50"] < 100.0 < p["p95"] < p["p99"]
    assert estimate_percentiles(100.0, 100.0, 10.0, 150.0)["p99"] == 150.0  # clamped to max


@given(st.floats(0, 1e7), st.floats(0, 1e7), st.floats(0, 1), st.floats(1, 1e3))
def test_percentiles_are_ordered_and_finite(mean, sd, lo_frac, hi_factor):
    # as pg_stat_statements records them: min <= mean <= max
    p = estimate_percentiles(mean, sd, mean * lo_frac, mean * hi_factor)
    assert all(math.isfinite(v) and v >= 0 for v in p.values())
    assert p["p50"] <= p["p95"] <= p["p99"]


def test_entries_of_the_same_text_are_merged():
    """psycopg binds small ints as int2 and large ones as int8: two queryids, one statement."""
    a = statement_from_row({**PG12_ROW, "queryid": 5, "calls": 60, "total_time": 60.0, "rows": 60})
    b = statement_from_row({**PG12_ROW, "queryid": 4, "calls": 40, "total_time": 100.0, "rows": 40})
    res = analyze_statements([a, b], QueryOptions())
    assert len(res.rows) == 1
    row = res.rows[0]
    assert row["calls"] == 100 and row["total_ms"] == 160.0 and row["mean_ms"] == 1.6
    assert row["queryids"] == [4, 5]


def test_slow_thresholds_must_be_ordered():
    with pytest.raises(UsageError):
        QueryOptions(thresholds=Thresholds(slow_ms=2000, slow_critical_ms=1000))
    with pytest.raises(UsageError):
        QueryOptions(thresholds=Thresholds(slow_ms=0))
