"""Catalog sizes: exact (pg_relation_size / pg_table_size) on ordinary schemas, the page counts of
pg_class above EXACT_SIZES_MAX relations (which would otherwise each be opened), said in a note."""

import psycopg

from perftool.catalog import schema as catalog_module
from perftool.catalog.schema import collect_catalog
from perftool.db.connect import connect


def _setup(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        # no autovacuum: its visibility map and free space map would add pages between the catalog
        # read and the exact size the test compares it with
        conn.execute("CREATE TABLE grow (id int PRIMARY KEY, v text) WITH (autovacuum_enabled = off)")
        conn.execute("CREATE INDEX grow_v ON grow (v)")
        conn.execute("ANALYZE grow")          # page counts now say: empty
        conn.execute("INSERT INTO grow SELECT g, md5(g::text) FROM generate_series(1, 20000) g")


def test_sizes_are_exact_on_ordinary_schemas(fresh_db):
    _setup(fresh_db)
    with connect(fresh_db) as conn:
        cat = collect_catalog(conn)
        exact = conn.execute("SELECT pg_relation_size('grow_v'), pg_table_size('grow')").fetchone()
    grow = cat.table("public", "grow")
    assert not cat.sizes_estimated and cat.sizes_note() is None
    assert next(i.size_bytes for i in grow.indexes if i.name == "grow_v") == exact[0] > 100_000
    assert grow.size_bytes == exact[1] > 100_000


def test_very_large_schemas_use_page_counts_and_say_so(fresh_db, monkeypatch):
    _setup(fresh_db)
    monkeypatch.setattr(catalog_module, "EXACT_SIZES_MAX", 1)
    with connect(fresh_db) as conn:
        cat = collect_catalog(conn)
    grow = cat.table("public", "grow")
    assert cat.sizes_estimated and "estimates from the catalog's page counts" in cat.sizes_note()
    assert next(i.size_bytes for i in grow.indexes if i.name == "grow_v") <= 8192 * 2   # as of the ANALYZE
