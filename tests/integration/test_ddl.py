"""perftool.ddl on the sandbox server: every statement IndexSpec writes runs, and makes the index
it describes."""

import psycopg

from perftool.advisor.indexdef import IndexDef
from perftool.advisor.predicates import Constant
from perftool.ddl import IndexSpec, KeyPart, attach_sql, plain

SETUP = """
CREATE SCHEMA "My Schema";
CREATE TABLE "My Schema"."Odd Table" ("Col" int, email text, t text, x int, status text, tags int[]);
CREATE TABLE public.events (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE public.events_2024 PARTITION OF public.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
"""


def _index(conn, schema, name):
    row = conn.execute("SELECT pg_get_indexdef(c.oid), i.indisvalid FROM pg_class c JOIN pg_namespace n ON "
                       "n.oid = c.relnamespace JOIN pg_index i ON i.indexrelid = c.oid "
                       "WHERE n.nspname = %s AND c.relname = %s", (schema, name)).fetchone()
    return row


def test_create_and_drop_statements_run(fresh_db, sql):
    sql(fresh_db, SETUP)
    table = ("My Schema", "Odd Table")
    specs = [
        plain(*table, ["Col"]),
        IndexSpec(*table, (KeyPart("Col", descending=True, nulls_first=False),
                           KeyPart(expression="lower(email)", opclass="text_pattern_ops"),
                           KeyPart("t", collation="C", nulls_first=True)),
                  include=("x",), where="x > 0", unique=True),
        IndexSpec(*table, (KeyPart("tags"),), method="gin"),
        IndexDef("My Schema", "Odd Table", ("status", "x"), desc=(False, True),
                 where=(Constant("status", "=", "it's"),)).spec(),
    ]
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        for spec in specs:
            for concurrently in (True, False):
                conn.execute(spec.create_sql(concurrently=concurrently))
                definition, valid = _index(conn, "My Schema", spec.name())
                assert valid and f"USING {spec.method}" in definition
                conn.execute(spec.drop_sql(concurrently=concurrently))
                assert _index(conn, "My Schema", spec.name()) is None
        assert "WHERE (status = 'it''s'::text)" in _index_after(conn, specs[3])
        # HypoPG's form: no name
        hypo = specs[1].create_sql(concurrently=False, name="")
        assert hypo.startswith("CREATE UNIQUE INDEX ON ")
        conn.execute(hypo)
        # a partitioned table: ON ONLY the parent, CONCURRENTLY on the partition, ATTACH
        parent = plain("public", "events", ["at"])
        child = plain("public", "events_2024", ["at"])
        conn.execute(parent.create_sql(only=True))
        assert _index(conn, "public", parent.name())[1] is False          # until its partitions are attached
        conn.execute(parent.create_sql(name=child.name(), table=("public", "events_2024")))
        conn.execute(attach_sql("public", parent.name(), "public", child.name()))
        assert _index(conn, "public", parent.name())[1] is True
        conn.execute(parent.drop_sql(concurrently=False))
        assert _index(conn, "public", child.name()) is None


def _index_after(conn, spec):
    conn.execute(spec.create_sql())
    definition = _index(conn, spec.schema, spec.name())[0]
    conn.execute(spec.drop_sql())
    return definition
