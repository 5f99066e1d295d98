"""ddl.parse_create reads back what create_sql writes and what pg_get_indexdef returns; any text is
an IndexSpec or a ValueError, never another exception. ddl.split_qualified folds like PostgreSQL."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perftool.ddl import IndexSpec, KeyPart, parse_create, split_qualified

SPECS = [
    IndexSpec("public", "orders", (KeyPart("customer_id"), KeyPart("created_at", descending=True))),
    IndexSpec("shop", "Line Items", (KeyPart(expression="lower(sku)"),), ("id",), "deleted_at IS NULL", unique=True),
    IndexSpec("public", "docs", (KeyPart(expression="to_tsvector('english'::regconfig, body)"),), method="gin"),
    IndexSpec("public", "t", (KeyPart("code", opclass="text_pattern_ops"), KeyPart("title", collation="C"),
                              KeyPart("x", descending=True, nulls_first=False), KeyPart("y", nulls_first=True))),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.table)
@pytest.mark.parametrize("form", ["plain", "concurrently", "only", "if_not_exists"])
def test_create_sql_reads_back_to_the_same_spec(spec, form):
    text = spec.create_sql(concurrently=form == "concurrently", only=form == "only",
                           if_not_exists=form == "if_not_exists")
    parsed = parse_create(text + ";")
    assert parsed.spec == spec
    assert parsed.name == spec.name()
    assert (parsed.only, parsed.concurrently, parsed.if_not_exists) == (
        form == "only", form == "concurrently", form == "if_not_exists")


def test_pg_get_indexdef_forms():
    p = parse_create("CREATE UNIQUE INDEX orders_x_idx ON public.orders USING btree (lower((email)::text), "
                     "created_at DESC NULLS LAST) INCLUDE (id) WHERE (status <> 'done'::text)")
    assert p.spec.parts == (KeyPart(expression="lower((email)::text)"),
                            KeyPart("created_at", descending=True, nulls_first=False))
    assert p.spec.include == ("id",) and p.spec.where == "(status <> 'done'::text)" and p.spec.unique
    assert parse_create("create index on t(a)").spec == IndexSpec("public", "t", (KeyPart("a"),))
    assert parse_create('CREATE INDEX "Ix" ON "S"."T" ("A")', ).spec.parts == (KeyPart("A"),)
    assert parse_create("CREATE INDEX i ON s.t USING brin (at) WITH (pages_per_range='32')").spec.method == "brin"


@pytest.mark.parametrize("text", ["", "DROP INDEX x", "CREATE INDEX x ON t", "CREATE INDEX x ON t (a",
                                  "CREATE INDEX x ON t ()", "CREATE TABLE t (a int)"])
def test_not_an_index_is_a_value_error(text):
    with pytest.raises(ValueError):
        parse_create(text)


def test_create_sql_if_not_exists_needs_a_name():
    spec = SPECS[0]
    assert "IF NOT EXISTS" not in spec.create_sql(name="", if_not_exists=True)     # HypoPG's nameless form
    assert spec.create_sql(if_not_exists=True).startswith('CREATE INDEX CONCURRENTLY IF NOT EXISTS "orders_')
    assert spec.create_sql(only=True, if_not_exists=True).startswith('CREATE INDEX IF NOT EXISTS "orders_')


def test_split_qualified():
    assert split_qualified("Orders") == ("public", "orders")
    assert split_qualified('shop."Line Items"') == ("shop", "Line Items")
    assert split_qualified('"a""b"', "x") == ("x", 'a"b')
    with pytest.raises(ValueError):
        split_qualified("a.b.c")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | st.builds(lambda a, b: f"CREATE INDEX {a} ON {b}", st.text(max_size=40),
                                          st.text(max_size=80)))
def test_any_text_parses_or_is_a_value_error(text):
    try:
        parsed = parse_create(text)
    except ValueError:
        return
    assert parsed.spec.parts
