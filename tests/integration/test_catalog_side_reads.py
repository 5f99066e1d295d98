"""The catalog of a large database reads its columns and foreign keys on a sibling session while
the first session's server computes the indexes (catalog/schema.py `_collect_tables`,
perftool/db/beside.py): the same Catalog as one session reads, a fallback when no sibling can be
opened, and the sibling as safe as the first session."""

import dataclasses
import time

import psycopg
import pytest

from perftool.catalog import schema as catalog_module
from perftool.catalog.schema import collect_catalog
from perftool.db import beside as beside_module
from perftool.db.connect import connect, sibling

SCHEMA = """
CREATE TABLE parent (id bigint PRIMARY KEY, code text UNIQUE, note text);
CREATE TABLE child (id bigint PRIMARY KEY, parent_id bigint REFERENCES parent, tags int[], at timestamptz,
                    status int NOT NULL DEFAULT 0);
CREATE INDEX child_lower ON child (lower(status::text), at DESC NULLS LAST) INCLUDE (parent_id);
CREATE INDEX child_partial ON child (at) WHERE status = 1;
CREATE INDEX child_tags ON child USING gin (tags);
CREATE TABLE keyless (a int, "Mixed Case" text);
CREATE INDEX keyless_mixed ON keyless ("Mixed Case" text_pattern_ops);
CREATE TABLE events (id bigint, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE INDEX events_at ON events (at);
INSERT INTO parent SELECT g, 'c' || g FROM generate_series(1, 500) g;
INSERT INTO child SELECT g, 1 + g % 500, ARRAY[g % 7], now() - g * interval '1 min', g % 3
FROM generate_series(1, 2000) g;
ANALYZE;
"""


@pytest.fixture
def schema_db(fresh_db):
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        for statement in SCHEMA.strip().split(";\n"):
            conn.execute(statement)
        # some index scans, so that the tables' idx_scan (summed from their indexes) is not all zeros
        conn.execute("SET enable_seqscan = off")
        for k in range(3):
            conn.execute("SELECT * FROM parent WHERE id = %s", (k,)).fetchall()
            conn.execute("SELECT * FROM child WHERE at > now() - interval '5 min' AND status = 1").fetchall()
        conn.execute("SELECT pg_stat_force_next_flush()")
    return fresh_db


def _read(dsn: str, **kwargs) -> catalog_module.Catalog:
    with connect(dsn) as conn:
        return collect_catalog(conn, **kwargs)


def _tables(cat: catalog_module.Catalog) -> list[dict]:
    return [dataclasses.asdict(t) for t in cat.tables]


@pytest.mark.parametrize("all_columns", [True, False])
def test_side_reads_give_the_same_catalog(schema_db, monkeypatch, all_columns):
    opened: list[psycopg.Connection] = []

    def counting_sibling(conn):
        side = sibling(conn)
        opened.append(side)
        return side

    monkeypatch.setattr(catalog_module, "SIDE_READS_MIN_RELATIONS", 10**9)
    alone = _read(schema_db, all_columns=all_columns)
    assert not opened
    monkeypatch.setattr(catalog_module, "SIDE_READS_MIN_RELATIONS", 0)
    monkeypatch.setattr(beside_module, "sibling", counting_sibling)
    both = _read(schema_db, all_columns=all_columns)
    assert len(opened) == 1 and opened[0] is not None and opened[0].closed   # used, then closed
    assert _tables(both) == _tables(alone)
    child = both.table("public", "child")
    assert {i.name for i in child.indexes} == {"child_pkey", "child_lower", "child_partial", "child_tags"}
    assert [fk.columns for fk in child.foreign_keys] == [["parent_id"]]


def test_no_sibling_reads_on_one_session(schema_db, monkeypatch):
    monkeypatch.setattr(catalog_module, "SIDE_READS_MIN_RELATIONS", 10**9)
    alone = _read(schema_db)
    monkeypatch.setattr(catalog_module, "SIDE_READS_MIN_RELATIONS", 0)
    monkeypatch.setattr(beside_module, "sibling", lambda conn: None)   # max_connections reached, a pooler …
    assert _tables(_read(schema_db)) == _tables(alone)


def test_a_scope_error_stops_the_side_reads_cleanly(schema_db, monkeypatch):
    from perftool.db.errors import UsageError

    monkeypatch.setattr(catalog_module, "SIDE_READS_MIN_RELATIONS", 0)
    with connect(schema_db) as conn:
        with pytest.raises(UsageError, match="does not exist"):
            collect_catalog(conn, schema="nosuch")
        # the sibling went away with the failed read (its backend exits just after the client
        # closes: wait for that, a little): only this session is left
        for _ in range(50):
            others = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                  "AND pid <> pg_backend_pid() AND application_name = 'perftool'").fetchone()[0]
            if others == 0:
                break
            time.sleep(0.05)
    assert others == 0


def test_primary_key_and_index_scans_come_from_the_indexes(schema_db):
    cat = _read(schema_db)
    with psycopg.connect(schema_db) as conn:
        expected = dict(conn.execute(
            "SELECT c.relname, EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p') "
            "FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')").fetchall())
        scans = dict(conn.execute("SELECT relname, coalesce(idx_scan, 0) FROM pg_stat_user_tables").fetchall())
    assert {t.name: t.has_pk for t in cat.tables} == expected
    assert expected["keyless"] is False and expected["events"] is True
    assert {t.name: t.idx_scan for t in cat.tables if t.name in scans} == scans
    assert cat.table("public", "parent").idx_scan >= 3


def test_sibling_is_as_safe_as_the_first_session(sandbox):
    dsn = sandbox.url("postgres")
    with connect(dsn, statement_timeout_ms=4321, lock_timeout_ms=123) as conn:
        side = sibling(conn)
        assert side is not None
        with side:
            got = side.execute("SELECT current_setting('default_transaction_read_only'), "
                               "current_setting('statement_timeout'), current_setting('lock_timeout'), "
                               "current_setting('application_name')").fetchone()
    assert got == ("on", "4321ms", "123ms", "perftool")
    with psycopg.connect(dsn) as plain:
        assert sibling(plain) is None           # not opened by connect(): nothing to copy
    with connect(dsn, read_only=False) as writer:
        assert sibling(writer) is None          # only read-only sessions have siblings


def test_an_error_on_the_sibling_is_the_callers_error(schema_db, monkeypatch):
    from perftool.db.errors import QueryTimeout

    def timing_out(conn, *args):
        raise QueryTimeout("catalog_columns: canceling statement due to statement timeout")

    monkeypatch.setattr(catalog_module, "SIDE_READS_MIN_RELATIONS", 0)
    monkeypatch.setattr(catalog_module, "_read_columns_beside", timing_out)
    with connect(schema_db) as conn:
        with pytest.raises(QueryTimeout, match="catalog_columns"):
            collect_catalog(conn)
        assert conn.execute("SELECT 1").fetchone() == (1,)     # the first session is still usable


@pytest.mark.parametrize("scope", [{"names": ["parent", "child"]}, {"table": "child"}])
def test_small_scopes_read_on_one_session(schema_db, monkeypatch, scope):
    """The advisor's named relations and one --table are a few rows: no sibling is opened for them."""
    opened = []
    monkeypatch.setattr(catalog_module, "SIDE_READS_MIN_RELATIONS", 0)
    monkeypatch.setattr(beside_module, "sibling", lambda conn: opened.append(conn))
    cat = _read(schema_db, **scope)
    assert opened == [] and cat.table("public", "child").indexes
