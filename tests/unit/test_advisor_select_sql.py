"""The HypoPG definition text `IndexDef.hypothetical_sql` renders from cached pieces is the text
`perftool.ddl.IndexSpec.create_sql` composes with psycopg (the one CREATE INDEX form)."""

from __future__ import annotations

from perftool.advisor.indexdef import IndexDef
from perftool.advisor.predicates import Constant

SHAPES = [
    IndexDef("public", "t", ("a",)),
    IndexDef("public", "t", ("a", "b"), desc=(False, True)),
    IndexDef("Odd Schema", 'we"ird', ("MixedCase", "sp ace")),
    IndexDef("public", "t", ("email",), opclasses=("text_pattern_ops",)),
    IndexDef("public", "t", ("email", "b"), opclasses=("pg_catalog.text_pattern_ops", "")),
    IndexDef("public", "t", ('(lower("email"))',)),
    IndexDef("public", "t", ('(("data" ->> \'k\'))', "a"), desc=(True, False)),
    IndexDef("public", "t", ("a",), include=("b", "Cee")),
    IndexDef("public", "t", ("a",), where=(Constant("status", "=", "it's"),)),
    IndexDef("public", "t", ("a",), where=(Constant("flag", "=", True),)),
    IndexDef("public", "t", ("a",), where=(Constant("flag", "=", False), Constant("n", "=", 1))),
    IndexDef("public", "t", ("a",), where=(Constant("n", "=", 1),)),
    IndexDef("public", "t", ("a",), where=(Constant("n", "=", 2.5), Constant("d", "IS NULL"))),
    IndexDef("public", "t", ("a", "b"), include=("c",), where=(Constant("d", "IS NOT NULL"),)),
    IndexDef("public", "t", ("ts",), method="brin"),
]


def test_the_cached_definition_is_the_specs_text():
    for ix in SHAPES:
        assert ix.hypothetical_sql() == ix.spec().create_sql(concurrently=False, name=""), ix.label()
        assert ix.hypothetical_sql() is ix.hypothetical_sql()     # rendered once


def test_a_boolean_and_an_integer_predicate_render_apart():
    # Constant("n", "=", 1) == Constant("n", "=", True) in Python: the predicate cache keeps them apart
    one = IndexDef("public", "t", ("a",), where=(Constant("n", "=", 1),)).hypothetical_sql()
    true = IndexDef("public", "t", ("a",), where=(Constant("n", "=", True),)).hypothetical_sql()
    assert one.endswith('WHERE "n" = 1') and true.endswith('WHERE "n"')
