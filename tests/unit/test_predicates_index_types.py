"""Predicate shapes that need an expression btree, a GIN or a GiST index (issue 15, item 3): no server."""

from __future__ import annotations

import pytest

from perftool.advisor.predicates import Search, analyze, is_expression, trigram_pattern
from perftool.catalog.schema import Catalog, ColumnInfo, TableInfo


@pytest.fixture
def cat() -> Catalog:
    c = Catalog(search_path=["pg_catalog", "public"])
    cols = ["id", "email", "created", "data", "tags", "body", "tsv", "title", "geom", "during"]
    c.add(TableInfo(schema="public", name="t", kind="r", columns={n: ColumnInfo(n) for n in cols}))
    c.add(TableInfo(schema="public", name="u", kind="r", columns={n: ColumnInfo(n) for n in ["id", "geom"]}))
    return c


def acc(cat, where: str):
    a = analyze(f"SELECT id FROM t WHERE {where}", cat)
    assert a.skip is None, a.skip
    return next(x for x in a.accesses if x.table == ("public", "t"))


@pytest.mark.parametrize(("where", "key", "kind"), [
    ("lower(email) = 'a@b.c'", '(lower("email"))', "equality"),
    ("upper(email) IN ('A', 'B')", '(upper("email"))', "equality"),
    ("date_trunc('day', created) = '2026-01-01'", "(date_trunc('day', \"created\"))", "equality"),
    ("created::date >= '2026-01-01'", '(("created")::date)', "range"),
    ("CAST(created AS date) BETWEEN '2026-01-01' AND '2026-02-01'", '(("created")::date)', "range"),
    ("(data ->> 'kind') = 'x'", "(\"data\" ->> 'kind')", "equality"),
    ("data ->> 'it''s' = 'x'", "(\"data\" ->> 'it''s')", "equality"),
])
def test_expression_keys(cat, where, key, kind):
    a = acc(cat, where)
    assert key in getattr(a, kind), (a.equality, a.range)
    assert is_expression(key) and a.expressions[key].columns in (("email",), ("created",), ("data",))
    assert a.constants == []          # an expression is no partial-index predicate


def test_lower_like_prefix_is_a_pattern_range_on_the_expression(cat):
    a = acc(cat, "lower(email) LIKE 'ab%'")
    assert a.range == ['(lower("email"))'] and a.like_prefix == {'(lower("email"))'}


@pytest.mark.parametrize(("where", "search"), [
    ("tsv @@ to_tsquery('english', 'x')", Search("tsv", "@@", ("tsv",))),
    ("to_tsvector('english', body) @@ plainto_tsquery('english', $1)",
     Search("(to_tsvector('english'::regconfig, \"body\"))", "@@", ("body",))),
    ("data @> '{\"a\": 1}'", Search("data", "@>", ("data",))),
    ("data ? 'a'", Search("data", "?", ("data",))),
    ("data ?| array['a', 'b']", Search("data", "?|", ("data",))),
    ("data ?& array['a', 'b']", Search("data", "?&", ("data",))),
    ("tags && array['a']", Search("tags", "&&", ("tags",))),
    ("tags <@ $1", Search("tags", "<@", ("tags",))),
    ("title ILIKE '%abc%'", Search("title", "ILIKE", ("title",), "%abc%")),
    ("title LIKE '%abc'", Search("title", "LIKE", ("title",), "%abc")),
    ("ST_DWithin(geom, ST_MakePoint(1, 2), 100)", Search("geom", "st_dwithin", ("geom",))),
    ("ST_Intersects(geom, $1)", Search("geom", "st_intersects", ("geom",))),
    ("geom && $1", Search("geom", "&&", ("geom",))),
    ("during && tstzrange($1, $2)", Search("during", "&&", ("during",))),
])
def test_search_shapes(cat, where, search):
    a = acc(cat, where)
    assert a.searches == [search]
    assert a.equality == a.range == []


@pytest.mark.parametrize("where", [
    "title LIKE 'abc%'",                 # a btree (pattern opclass) case
    "title LIKE '%ab'",                  # too short for a trigram
    "title NOT ILIKE '%abc%'",
    "to_tsvector(body) @@ $1",           # the one-argument form is not immutable: no index on it
    "tags && tags",                      # the other side is the same row
])
def test_near_misses_are_no_search(cat, where):
    a = acc(cat, where)
    assert a.searches == []


def test_trigram_pattern():
    assert trigram_pattern("%abc%") and trigram_pattern("_abcd") and not trigram_pattern("abc%")
    assert not trigram_pattern("%a%b%c%") and not trigram_pattern("%")
