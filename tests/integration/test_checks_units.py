"""The pure parts of the health checks, on hand-built catalogs (no server needed): the registry,
prefix and foreign-key logic, sequence arithmetic, thresholds, multi-host usage, and fix SQL with
identifiers quoted by psycopg (never by hand)."""

import pytest

from perftool.catalog.schema import (
    BloatEstimate,
    Catalog,
    ColumnInfo,
    ForeignKeyInfo,
    IndexColumn,
    IndexInfo,
    SequenceInfo,
    TableInfo,
    supports_foreign_key,
)
from perftool.config import Thresholds
from perftool.db.errors import UsageError
from perftool.ddl import IndexSpec, KeyPart
from perftool.health.checks import CheckContext, all_checks, analyze_catalog, normalize_codes, select_checks
from perftool.health.checks.fix_sql import drop_index, index_name, recreate_concurrently
from perftool.health.checks.i103_overlapping import covered_by
from perftool.health.checks.i109_index_bloat import bloat_severity
from perftool.health.checks.s101_sequence_overflow import sequence_usage

MB = 1024 * 1024


def col(name, **kw):
    return IndexColumn(definition=name, name=name, opclass="int4_ops", **kw)


def ix(name, columns, table="t", **kw):
    return IndexInfo(name=name, schema=kw.pop("schema", "public"), table=table, columns=[col(c) for c in columns],
                     **kw)


def test_registry_codes_docs_and_selection():
    checks = all_checks()
    assert [c.code for c in checks] == sorted(c.code for c in checks)
    assert {c.code[:2] for c in checks} == {"I1", "I2", "S1", "T1"}
    for c in checks:
        assert c.doc.count("\n\n") >= 2, c.code  # what / why it hurts / how to fix
        assert "Why it hurts" in c.doc and "How to fix" in c.doc
    assert not any(c.needs_index_set for c in select_checks())
    assert [c.code for c in select_checks(["i2*"], index_set=True)] == ["I201", "I202", "I203"]
    assert [c.code for c in select_checks(["I101,I102"], ["I102"])] == ["I101"]
    assert normalize_codes(None) is None
    with pytest.raises(UsageError, match="unknown check code 'Q101'"):
        normalize_codes(["Q101"])


def test_covered_by():
    a, ab = ix("a", ["a"]), ix("ab", ["a", "b"])
    assert covered_by(a, ab) and not covered_by(ab, a)
    assert not covered_by(a, ix("ab_p", ["a", "b"], predicate="b > 0"))
    assert not covered_by(a, ix("ba", ["b", "a"]))
    assert not covered_by(ix("a_inc", ["a"], include=["z"]), ab)          # INCLUDE column missing from the longer
    assert covered_by(ix("a_inc", ["a"], include=["b"]), ab)
    assert covered_by(ix("a_i1", ["a"], include=["b"]), ix("a_i2", ["a"], include=["b", "c"]))
    assert not covered_by(a, ix("a_same", ["a"]))                         # equal: that is I102
    desc = IndexInfo(name="d", schema="public", table="t", columns=[col("a", descending=True)])
    assert not covered_by(desc, ab)
    # a btree scans backwards: (a DESC NULLS FIRST) serves what (a, b) ASC NULLS LAST serves
    down = IndexInfo(name="d2", schema="public", table="t", columns=[col("a", descending=True, nulls_first=True)])
    assert covered_by(down, ab) and not covered_by(down, ix("ba", ["b", "a"]))
    assert not covered_by(a, ix("ab_gist", ["a", "b"], method="gist"))


def test_supports_foreign_key():
    fk = ForeignKeyInfo(name="fk", schema="public", table="t", columns=["b", "a"], ref_schema="public",
                        ref_table="p", ref_columns=["x", "y"])
    assert supports_foreign_key(ix("ab", ["a", "b", "c"]), fk)
    assert not supports_foreign_key(ix("a", ["a"]), fk)
    assert not supports_foreign_key(ix("cab", ["c", "a", "b"]), fk)
    assert not supports_foreign_key(ix("ab_p", ["a", "b"], predicate="a > 0"), fk)
    assert not supports_foreign_key(ix("ab_bad", ["a", "b"], is_valid=False), fk)
    one = ForeignKeyInfo(name="fk1", schema="public", table="t", columns=["a"], ref_schema="public", ref_table="p",
                         ref_columns=["x"])
    assert supports_foreign_key(ix("a_hash", ["a"], method="hash"), one)


@pytest.mark.parametrize("seq, expected", [
    (SequenceInfo("s", "q", "smallint", 1, 32767, 1, last_value=30000), (30000 - 1) / (32767 - 1)),
    (SequenceInfo("s", "q", "bigint", 1, 2**63 - 1, 1, last_value=2_000_000_000, owner_type="integer"),
     (2_000_000_000 - 1) / (2**31 - 1 - 1)),
    (SequenceInfo("s", "q", "integer", -(2**31), -1, -1, last_value=-(2**30)), 0.5),
])
def test_sequence_usage(seq, expected):
    used, left, _ = sequence_usage(seq)
    assert used == pytest.approx(expected, rel=1e-6) and left >= 0


def test_sequence_usage_skips_unused_and_cycling():
    assert sequence_usage(SequenceInfo("s", "q", last_value=None)) is None
    assert sequence_usage(SequenceInfo("s", "q", "smallint", 1, 32767, 1, cycle=True, last_value=32000)) is None


def test_bloat_thresholds():
    th = Thresholds()
    est = BloatEstimate("s", "t", None, real_bytes=100 * MB, bloat_bytes=30 * MB, bloat_ratio=0.30)
    assert bloat_severity(est, th).value == "warning"
    est.bloat_ratio = 0.6
    assert bloat_severity(est, th).value == "error"
    est.bloat_bytes = 5 * MB  # big share, small amount
    assert bloat_severity(est, th) is None
    est.bloat_bytes, est.reliable = 60 * MB, False
    assert bloat_severity(est, th) is None


def _unused_catalog(age_s):
    t = TableInfo(schema="public", name="t", oid=1, reltuples=1e6,
                  columns={"a": ColumnInfo("a"), "b": ColumnInfo("b")},
                  indexes=[ix("t_a", ["a"], size_bytes=5 * MB, idx_scan=3), ix("t_b", ["b"], size_bytes=5 * MB,
                                                                               idx_scan=500)])
    return Catalog(tables=[t], stats_age_s=age_s)


def test_unused_counts_every_host_and_is_silent_on_young_counters():
    only = select_checks(["I104"])
    # an hour of statistics is shorter than the default window (7 days): silent, one note
    young = CheckContext(_unused_catalog(3600), usage={"replica": {"public.t_a": 10}}, host_name="primary")
    assert analyze_catalog(young, only) == []
    (note,) = young.notes
    assert "1.0 h old" in note and "unused_index_min_stats_days (7 days)" in note and "1 index(es)" in note
    # the window is a threshold: 0 reports at once
    now = CheckContext(_unused_catalog(3600), thresholds=Thresholds(unused_index_min_stats_days=0),
                       usage={"replica": {"public.t_a": 10}}, host_name="primary")
    (f,) = analyze_catalog(now, only)
    assert f.object == "public.t_a" and f.evidence["idx_scan"] == {"primary": 3, "replica": 10}
    assert "1.0 h old" in f.detail and now.notes == []
    busy = CheckContext(_unused_catalog(30 * 86400), usage={"replica": {"public.t_a": 51}})
    assert analyze_catalog(busy, only) == [] and busy.notes == []
    old = CheckContext(_unused_catalog(30 * 86400))
    (f,) = analyze_catalog(old, only)
    assert f.severity == "warning" and "30.0 days old" in f.detail and old.notes == []


def test_unused_small_indexes_are_info():
    only = select_checks(["I104"])
    catalog = _unused_catalog(30 * 86400)
    small = catalog.tables[0].indexes[0]
    small.size_bytes = 16 * 1024
    (f,) = analyze_catalog(CheckContext(catalog), only)
    assert f.object == "public.t_a" and f.severity == "info" and "(16.0 kB)" in f.title
    (f,) = analyze_catalog(CheckContext(catalog, thresholds=Thresholds(unused_index_min_bytes=8 * 1024)), only)
    assert f.severity == "warning"


def test_fix_sql_quotes_identifiers():
    odd = IndexInfo(name='we"ird idx', schema="My Schema", table="T", columns=[col("a")])
    assert drop_index(odd) == 'DROP INDEX CONCURRENTLY IF EXISTS "My Schema"."we""ird idx";'
    pk = IndexInfo(name="t_pkey", schema="public", table="t", columns=[col("id")], constraint_type="p",
                   constraint_name="t_pkey")
    assert drop_index(pk) == 'ALTER TABLE "public"."t" DROP CONSTRAINT "t_pkey";'
    sql = IndexSpec("s", "Tab", (KeyPart(column="Col", descending=True, nulls_first=False),
                                 KeyPart(expression="lower(email)", opclass="text_pattern_ops"),
                                 KeyPart(column="t", collation="C", nulls_first=True)),
                    unique=True, include=("x",), where="a > 0", method="btree").create_sql() + ";"
    assert sql == ('CREATE UNIQUE INDEX CONCURRENTLY "Tab_col_lower_email_t_desc_incl_a_0_eb3ea1c0_idx" ON "s"."Tab" USING btree '
                   '("Col" DESC NULLS LAST, (lower(email)) "text_pattern_ops", "t" COLLATE "C" NULLS FIRST) '
                   'INCLUDE ("x") WHERE a > 0;')
    assert 'USING btree' in IndexSpec("s", "t", (KeyPart(column="a"),), method="btree; DROP TABLE x").create_sql()
    name = index_name("t" * 60, ["column_one", "column_two"])
    assert len(name.encode()) <= 63 and name.endswith("_idx")
    assert recreate_concurrently(IndexInfo(name="i", schema="s", table="t", columns=[], definition=(
        "CREATE UNIQUE INDEX i ON s.t USING btree (a)"))) == "CREATE UNIQUE INDEX CONCURRENTLY i ON s.t USING btree (a);"
