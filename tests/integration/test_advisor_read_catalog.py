"""The advisor reads its catalog on a sibling session while it parses the statements
(advisor/pipeline.py `read_catalog`), for every word of the statements (`word_names`, a superset of
the relations they name), then keeps what `collect_catalog(names=…)` would have read
(`Catalog.named`): the same catalog, in the same order, as the read after the parse."""

import dataclasses

import psycopg
import pytest

from perftool.advisor import pipeline
from perftool.db import beside as beside_module
from perftool.db.connect import connect
from perftool.workload.sources import from_queries

SETUP = """
CREATE SCHEMA app;
CREATE TABLE app.orders (id bigint PRIMARY KEY, status text NOT NULL, customer_id int, unrelated int);
CREATE TABLE app.unrelated (id int);                      -- named only as a column: not read
CREATE TABLE app.customers (id int PRIMARY KEY, name text);
CREATE TABLE app."Items" (id int, "Order" bigint);
CREATE TABLE app.event (id int, at timestamptz);            -- a keyword as a table name
CREATE TABLE public.orders (id int);                        -- the same name in another schema
CREATE VIEW app.open_orders AS SELECT o.id, o.customer_id FROM app.orders o WHERE o.status = 'open';
CREATE VIEW app.top AS SELECT t.* FROM app.open_orders t JOIN app.customers c ON c.id = t.customer_id;
CREATE TABLE app.far (id int, customer_id int);
CREATE VIEW app.f1 AS SELECT * FROM app.far;
CREATE VIEW app.f2 AS SELECT * FROM app.f1;
CREATE VIEW app.f3 AS SELECT * FROM app.f2;
CREATE VIEW app.f4 AS SELECT * FROM app.f3;
CREATE VIEW app.f5 AS SELECT * FROM app.f4;                 -- far is 5 views deep: not read
INSERT INTO app.orders SELECT g, 'open', g % 10, 0 FROM generate_series(1, 500) g;
ANALYZE;
"""

STATEMENTS = [
    "SELECT * FROM orders WHERE status = $1 AND unrelated = 0",
    'SELECT i.id FROM "Items" i WHERE i."Order" = $1',
    "SELECT * FROM event WHERE at > now() - interval '1 day' /* customers */",
    "SELECT * FROM f5 WHERE customer_id = $1",
    "UPDATE orders SET status = 'done' WHERE id = $1",
    "SELECT 'it''s \"customers\"' FROM top",
]


@pytest.fixture
def db(fresh_db):
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(SETUP)
    return fresh_db


def _read(dsn: str) -> tuple[list[dict], list[str]]:
    with connect(dsn) as conn:
        conn.execute("SET search_path = app, public")
        cat = pipeline.read_catalog(conn, from_queries(STATEMENTS))
    return [dataclasses.asdict(t) for t in cat.tables], cat.search_path


def test_the_catalog_read_beside_the_parse_is_the_one_read_after_it(db, monkeypatch):
    after = _read(db)
    names = [(t["schema"], t["name"]) for t in after[0]]
    assert ("app", "unrelated") not in names and ("app", "far") not in names     # a column; 5 views deep
    assert {("app", "orders"), ("public", "orders"), ("app", "Items"), ("app", "event"), ("app", "f1"),
            ("app", "top"), ("app", "open_orders"), ("app", "customers")} <= set(names)
    submitted = []

    class Counting(beside_module.Beside):
        def submit(self, read):
            submitted.append(read)
            super().submit(read)

    monkeypatch.setattr(pipeline, "Beside", Counting)
    monkeypatch.setattr(pipeline, "READ_BESIDE_MIN_STATEMENTS", 1)
    assert _read(db) == after and not submitted     # the first 20 statements name 5 relations: not worth it
    monkeypatch.setattr(pipeline, "READ_BESIDE_SAMPLE", 2)
    beside = _read(db)
    assert len(submitted) == 1
    assert beside == after
