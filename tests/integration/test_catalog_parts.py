"""The health checks over a large scope read the catalog part by part (catalog/schema.py
`catalog_parts`, `run_health_checks`): the parts hold what the one catalog holds, a partitioned
table and every partition under it in one part, and the checks find the same over parts as over
the whole — the same findings, notes (a counted note summed over the parts) and index scans."""

import dataclasses

import pytest

from perftool.catalog import schema as catalog_module
from perftool.catalog.schema import Catalog, TableInfo, catalog_parts, collect_catalog
from perftool.config import Thresholds
from perftool.db.connect import connect
from perftool.health.checks import IndexScans, run_health_checks
from tests.conftest import run_sql

SCHEMA = """
CREATE TABLE a_parent (id bigint PRIMARY KEY, code text UNIQUE, note text);
CREATE TABLE b_child (id bigint PRIMARY KEY, parent_id bigint REFERENCES a_parent, flag boolean, tags int[]);
CREATE INDEX b_child_flag ON b_child (flag);
CREATE INDEX b_child_tags_btree ON b_child (tags);
CREATE INDEX b_child_id_dup ON b_child (id);
CREATE TABLE c_keyless (a int, b text);
CREATE TABLE d_events (id bigint, at date NOT NULL, region int NOT NULL, PRIMARY KEY (id, at, region))
    PARTITION BY RANGE (at);
CREATE TABLE d_events_2025 PARTITION OF d_events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')
    PARTITION BY LIST (region);
CREATE TABLE d_events_2025_r1 PARTITION OF d_events_2025 FOR VALUES IN (1);
CREATE TABLE d_events_2025_r2 PARTITION OF d_events_2025 FOR VALUES IN (2);
CREATE TABLE d_events_2026 PARTITION OF d_events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE INDEX d_events_at ON d_events (at);
CREATE TABLE e_orders (id bigint PRIMARY KEY, parent_id bigint REFERENCES a_parent, total numeric);
CREATE INDEX e_orders_total ON e_orders (total);
CREATE INDEX e_orders_total_id ON e_orders (total, id);
CREATE TABLE f_last (id serial PRIMARY KEY, note text);
INSERT INTO a_parent SELECT g, 'c' || g FROM generate_series(1, 300) g;
INSERT INTO b_child SELECT g, 1 + g % 300, g % 2 = 0, ARRAY[g % 5] FROM generate_series(1, 3000) g;
ALTER TABLE a_parent SET (autovacuum_enabled = off);
ALTER TABLE b_child SET (autovacuum_enabled = off);
"""


@pytest.fixture
def parts_db(fresh_db):
    # VACUUM once, autovacuum off: an autovacuum between two runs of a test would add b_child's
    # free-space and visibility maps (264 → 272 kB) and the runs' findings would differ in size alone
    run_sql(fresh_db, SCHEMA)
    run_sql(fresh_db, "VACUUM ANALYZE")
    return fresh_db


def _key(t: TableInfo) -> tuple[str, str]:
    return t.schema, t.name


def _asdict(tables: list[TableInfo]) -> list[dict]:
    return [dataclasses.asdict(t) for t in sorted(tables, key=_key)]


def test_parts_hold_the_whole_catalog(parts_db):
    with connect(parts_db) as conn:
        whole = collect_catalog(conn, all_columns=False)
        parts = list(catalog_parts(conn, all_columns=False, part_tables=2))
    assert len(parts) >= 4      # 10 tables in parts of about 2 (a partition family kept whole)
    assert _asdict([t for p in parts for t in p.tables]) == _asdict(whole.tables)
    assert [s.name for s in parts[0].sequences] == [s.name for s in whole.sequences] == ["f_last_id_seq"]
    assert all(not p.sequences for p in parts[1:])
    assert sorted(b.index for p in parts for b in p.index_bloat) == sorted(b.index for b in whole.index_bloat)
    assert sorted(b.table for p in parts for b in p.table_bloat) == sorted(b.table for b in whole.table_bloat)
    for p in parts:
        assert (p.database, p.stats_reset, p.sizes_estimated) == (whole.database, whole.stats_reset,
                                                                  whole.sizes_estimated)
    # the partitioned table, its partitioned partition and every leaf in one part
    family = {"d_events", "d_events_2025", "d_events_2025_r1", "d_events_2025_r2", "d_events_2026"}
    holding = [p for p in parts if family & {t.name for t in p.tables}]
    assert len(holding) == 1 and family <= {t.name for t in holding[0].tables}


def test_one_part_when_the_scope_is_small(parts_db):
    with connect(parts_db) as conn:
        parts = list(catalog_parts(conn, all_columns=False, part_tables=100))
    assert len(parts) == 1 and len(parts[0].tables) == 10


def _health(dsn: str) -> tuple[list[dict], list[str], dict[str, int]]:
    notes: list[str] = []
    scans = IndexScans()
    # a counter window no database here has: I104 is silent, with one note counting every part's
    with connect(dsn) as conn:
        findings = run_health_checks(conn, notes=notes, index_scans=scans,
                                     thresholds=Thresholds(unused_index_min_stats_days=10_000))
        loud = run_health_checks(conn, thresholds=Thresholds(unused_index_min_stats_days=0))
    out = [f.as_dict() for f in findings + loud]
    for f in out:
        f["evidence"].pop("stats_age_s", None)     # the counters' age at the time of each run
    return out, notes, dict(scans)


def test_health_checks_over_parts_find_what_the_whole_finds(parts_db, monkeypatch):
    whole = _health(parts_db)
    monkeypatch.setattr(catalog_module, "PART_TABLES", 2)
    split, counts = catalog_module._parts, []
    monkeypatch.setattr(catalog_module, "_parts", lambda *a: counts.append(len(got := split(*a))) or got)
    parted = _health(parts_db)
    assert counts and min(counts) >= 4      # each run_health_checks read its catalog in parts
    assert parted == whole
    findings, notes, scans = whole
    codes = {f["code"] for f in findings}
    assert {"I102", "I103", "I104", "I105", "I107", "T102"} <= codes, codes
    unused = sum(1 for f in findings if f["code"] == "I104")
    silent = [n for n in notes if n.startswith("I104 (unused index) silent")]
    assert len(silent) == 1 and f"; {unused} index(es) have" in silent[0], (silent, unused)
    with connect(parts_db) as conn:
        indexes = collect_catalog(conn, all_columns=False).indexes
    assert scans == {ix.qualified: ix.idx_scan for ix in indexes} and len(scans) == len(indexes) > 10


def test_parts_keep_families_whole():
    """_parts: catalog order, a family (a partitioned table, its partitions, theirs) never split."""
    def table(name: str, *partitions: str) -> TableInfo:
        return TableInfo("s", name, partitions=[("s", p) for p in partitions])

    catalog = Catalog(tables=[table("a"), table("p", "p1", "p2"), table("b"), table("p1"), table("q", "q1"),
                              table("p2"), table("q1"), table("c")])
    parts = catalog_module._parts(catalog, 2)
    names = [[t.name for t in part.tables] for part in parts if part is not None]
    assert names == [["a"], ["p", "p1", "p2"], ["b"], ["q", "q1"], ["c"]]
    assert [t.name for t in catalog_module._parts(catalog, None)[0].tables] == [t.name for t in catalog.tables]
