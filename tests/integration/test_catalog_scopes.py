"""The one schema reader's scopes: schema/table (health) and names= (the advisor: the relations a
workload names, the ones their views use, row writes), bloat estimates above a size."""

import psycopg
import pytest

from perftool.catalog.schema import collect_catalog
from perftool.db.connect import connect

SETUP = """
CREATE SCHEMA app;
CREATE TABLE app.orders (id bigint PRIMARY KEY, status text NOT NULL, customer_id int, note text);
INSERT INTO app.orders SELECT g, CASE WHEN g % 10 = 0 THEN 'open' ELSE 'done' END, g % 50, 'it''s "x"'
FROM generate_series(1, 5000) g;
CREATE INDEX orders_status_idx ON app.orders (status DESC NULLS LAST);
CREATE INDEX orders_customer_idx ON app.orders (customer_id);
CREATE TABLE app.unrelated (id int);
CREATE VIEW app.open_orders AS SELECT o.id, o.customer_id FROM app.orders o WHERE o.status = 'open';
CREATE VIEW app.top AS SELECT * FROM app.open_orders WHERE customer_id < 5;
CREATE TABLE app.events (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE app.events_2024 PARTITION OF app.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE app.events_2025 PARTITION OF app.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO app.events SELECT g, date '2024-06-01' + g % 400 FROM generate_series(1, 700) g;
DELETE FROM app.events WHERE id <= 10;
ANALYZE app.orders;
"""


def _setup(dsn):
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SETUP)
        # the row counters the writes are read from: flushed now, not when this backend exits
        # (which the next session may beat: n_tup_ins read as 0 on a loaded machine)
        conn.execute("SELECT pg_stat_force_next_flush()")
        conn.execute("SELECT 1")


def test_names_scope_reads_named_relations_and_what_their_views_use(fresh_db):
    _setup(fresh_db)
    with connect(fresh_db) as conn:
        cat = collect_catalog(conn, names={"top", "events"}, bloat=False, sequences=False, writes=True)
    keys = {t.key for t in cat.tables}
    assert keys == {("app", "top"), ("app", "open_orders"), ("app", "orders"), ("app", "events")}
    top = cat.get(("app", "top"))
    assert top.kind == "v" and "open_orders" in top.view_sql
    orders = cat.get(("app", "orders"))
    assert orders.writes["n_tup_ins"] == 5000 and orders.can_select
    assert orders.columns["status"].distinct_values(orders.rows) == pytest.approx(2)
    assert orders.columns["status"].btree_ok and orders.columns["status"].collation
    status, customer = (next(i for i in orders.indexes if i.name == n)
                        for n in ("orders_status_idx", "orders_customer_idx"))
    assert status.descending == [True] and not status.plain       # DESC NULLS LAST: not the default order
    assert customer.plain and customer.column_names == ["customer_id"]
    events = cat.get(("app", "events"))
    assert sorted(events.partitions) == [("app", "events_2024"), ("app", "events_2025")]
    # a partitioned table's writes are its leaves' (rows in 2024 and in 2025); a view has none
    assert (events.writes["n_tup_ins"], events.writes["n_tup_del"]) == (700, 10)
    assert not top.writes
    assert cat.resolve(None, "orders") is None and "app" not in cat.search_path


def test_schema_scope_is_tables_only(fresh_db):
    _setup(fresh_db)
    with connect(fresh_db) as conn:
        cat = collect_catalog(conn, schema="app")
    assert {t.name for t in cat.tables} == {"orders", "unrelated", "events", "events_2024", "events_2025"}
    assert all(not t.writes for t in cat.tables)             # writes=False


def test_checks_columns_are_index_and_key_columns_and_every_column_of_keyless_tables(fresh_db):
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("""
            CREATE TABLE parent (id int PRIMARY KEY);
            CREATE TABLE child (id int PRIMARY KEY, "User" text, parent_id int REFERENCES parent, email text,
                                note text, flag boolean, tags int[]);
            CREATE INDEX ON child ("User") INCLUDE (email);
            CREATE INDEX ON child (lower(note));
            CREATE TABLE keyless (a int, b text);
            INSERT INTO child SELECT g, 'u' || g, NULL, 'e', 'n', g % 2 = 0, '{}' FROM generate_series(1, 200) g;
            ANALYZE child;
        """)
    with connect(fresh_db) as conn:
        full = collect_catalog(conn, bloat=False, sequences=False)
        some = collect_catalog(conn, bloat=False, sequences=False, all_columns=False)
    assert full.all_columns and not some.all_columns
    assert list(full.get(("public", "child")).columns) == ["id", "User", "parent_id", "email", "note", "flag", "tags"]
    child = some.get(("public", "child"))
    # key and INCLUDE columns, the foreign key's column; not the expression's column, not the rest
    assert list(child.columns) == ["id", "User", "parent_id", "email"]
    assert list(some.get(("public", "keyless")).columns) == ["a", "b"]    # no primary key: every column (T102)
    assert child.columns["User"].n_distinct == full.get(("public", "child")).columns["User"].n_distinct == -1
    index = next(i for i in child.indexes if i.include)
    assert index.columns[0].definition == '"User"' and index.include == ["email"]   # resolved as with every column


def test_bloat_estimates_skip_relations_below_the_minimum(fresh_db):
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE holes (id int PRIMARY KEY, pad text) WITH (autovacuum_enabled = off)")
        conn.execute("INSERT INTO holes SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g")
        conn.execute("DELETE FROM holes WHERE id % 10 <> 0")      # 90 % of every page empty
        conn.execute("VACUUM ANALYZE holes")                         # the index keeps its pages too
        table, index = conn.execute("SELECT pg_table_size('holes'), pg_relation_size('holes_pkey')").fetchone()
    assert index < table
    with connect(fresh_db) as conn:
        both = collect_catalog(conn, bloat_min_bytes=index)
        table_only = collect_catalog(conn, bloat_min_bytes=index + 1)
        neither = collect_catalog(conn, bloat_min_bytes=table + 1)
    assert [b.table for b in both.table_bloat] == ["holes"] and both.table_bloat[0].bloat_ratio > 0.5
    assert [b.index for b in both.index_bloat] == ["holes_pkey"] and both.index_bloat[0].bloat_ratio > 0.5
    assert [b.table for b in table_only.table_bloat] == ["holes"] and table_only.index_bloat == []
    assert neither.table_bloat == [] and neither.index_bloat == []


def test_reading_inside_an_open_transaction_leaves_its_settings_alone(fresh_db):
    _setup(fresh_db)
    with psycopg.connect(fresh_db) as conn:        # not autocommit: a transaction is open
        conn.execute("SELECT 1")
        cat = collect_catalog(conn, names={"orders"})
        assert cat.get(("app", "orders")) is not None
        # catalog_session turned these off for the reads only (a savepoint rolled back)
        assert conn.execute("SHOW enable_nestloop").fetchone()[0] == "on"
        assert conn.execute("SHOW jit").fetchone()[0] == conn.execute("SELECT boot_val FROM pg_settings "
                                                                       "WHERE name = 'jit'").fetchone()[0]


def test_a_session_ended_for_idling_in_a_transaction_is_a_clean_error(fresh_db):
    import time

    from perftool.db.errors import ConnectionFailed
    from perftool.db.sql import execute, fetch_one

    with connect(fresh_db) as conn:
        conn.execute("SET idle_in_transaction_session_timeout = 100")
        execute(conn, "read_only_begin")
        time.sleep(0.6)                                  # perftool busy between two queries
        with pytest.raises(ConnectionFailed, match="idle in a transaction"):
            fetch_one(conn, "catalog_database")


def test_exact_sizes_off_reads_page_counts(fresh_db):
    """The advisor's scope (`exact_sizes=False`, it reads no size) takes the page counts instead of
    opening every relation's files; by default a small scope's sizes are exact."""
    from perftool.advisor.pipeline import read_catalog
    from perftool.workload.sources import from_queries

    _setup(fresh_db)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("INSERT INTO app.orders SELECT g, 'open', g % 7 FROM generate_series(10001, 12000) g")
        pages, exact = conn.execute("SELECT relpages, pg_table_size('app.orders') FROM pg_class "
                                    "WHERE oid = 'app.orders'::regclass").fetchone()
    assert exact > pages * 8192        # rows added since ANALYZE: the page count is behind
    with connect(fresh_db) as conn:
        assert collect_catalog(conn, names={"orders"}).get(("app", "orders")).size_bytes == exact
        conn.execute("SET search_path = app")
        cat = read_catalog(conn, from_queries(["SELECT * FROM orders WHERE status = 'x'"]))
    assert cat.sizes_estimated and cat.get(("app", "orders")).size_bytes == pages * 8192
