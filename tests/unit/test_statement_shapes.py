"""`statement_text`'s parse by shape: a text of a shape already parsed gets the earlier tree copied
with its own names and literals put in. It must give exactly the tree a parse gives — checked on
every statement of the benchmark and demo workloads with their names and literals replaced, and on
hypothesis' texts built from words sqlglot treats specially — and use a copy only where it may."""

from __future__ import annotations

import random
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from perftool.demo.workload import STATEMENTS as DEMO_STATEMENTS
from perftool.workload import statement_text as st

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def shapes_on():
    """Shapes looked for from the first parse, none remembered before or after."""
    before = st._SHAPES.parses
    st._SHAPES.parses = st.SHAPES_FROM
    st._SHAPES.templates.clear()
    yield
    st._SHAPES.templates.clear()
    st._SHAPES.parses = before


def picture(tree) -> str | None:
    """Everything of a tree: its repr (every node, arg, quoted flag and comment) and its SQL."""
    return None if tree is None else f"{tree!r}\n{tree.sql(dialect='postgres')}"


def workload_texts() -> list[str]:
    from bench import oltp

    texts = [p.read_text().strip().rstrip(";") for p in sorted((ROOT / "bench/tpch/queries").glob("*.sql"))]
    return texts + [s.text for s in oltp.statements()] + list(DEMO_STATEMENTS.values())


def with_values(text: str, rng: random.Random) -> str | None:
    """`text` with each of its names and literals replaced by another of the same kind (equal ones
    by the same), or None when `_shape` does not read it."""
    shape = st._shape(text)
    if shape is None:
        return None
    (marked, _pattern), values = shape
    new: dict[tuple[str, str], str] = {}
    for v in dict.fromkeys(values):
        kind = v[0]
        if kind == "w":
            new[v] = "zz" + "".join(rng.choice(string.ascii_lowercase + "_0123456789") for _ in range(rng.randint(1, 6)))
        elif kind == "q":
            new[v] = '"' + "".join(rng.choice('aB c".;(ü') for _ in range(rng.randint(1, 6))).replace('"', '""') + '"'
        elif kind == "s":
            new[v] = "'" + "".join(rng.choice("ab '%_\\x") for _ in range(rng.randint(0, 6))).replace("'", "''") + "'"
        else:
            new[v] = str(rng.choice([0, 1, 7, 123456789])) + rng.choice(["", ".5", ".000"])
    pieces = marked.split("\x00")
    return pieces[0] + "".join(new[v] + piece[1:] for v, piece in zip(values, pieces[1:], strict=True))


def test_workload_statements_with_other_names_and_literals_parse_as_a_parse_does():
    rng = random.Random(15)
    texts = workload_texts()
    assert len(texts) > 200
    hits = 0
    for text in texts:
        st._parse_one(text)         # its shape remembered (when it may be)
        for _ in range(4):
            other = with_values(text, rng)
            if other is None:
                continue
            key = st._shape(other)
            hits += key is not None and key[0] in st._SHAPES.templates
            assert picture(st._parse_one(other)) == picture(st._parse_fresh(other)), other
    assert hits > 0.9 * 4 * len(texts)      # nearly all of them were copies (252 of 254 shapes may be)


def test_a_copy_is_used_and_is_a_copy():
    a = st._parse_one("SELECT * FROM zz_orders WHERE c01 = 0 AND c02 = 'x'")
    b = st._parse_one("SELECT * FROM zz_tickets WHERE c07 = 12.5 AND c09 = 'it''s'")
    assert len(st._SHAPES.templates) == 1
    assert b.sql() == "SELECT * FROM zz_tickets WHERE c07 = 12.5 AND c09 = 'it''s'"
    assert a.sql() == "SELECT * FROM zz_orders WHERE c01 = 0 AND c02 = 'x'"         # not changed by the copy
    c = st._parse_one("SELECT * FROM zz_orders WHERE c01 = 0 AND c02 = 'x'")
    assert c is not a and picture(c) == picture(a)


def test_equal_values_are_part_of_the_shape():
    # a = 1 AND b = 1 must not serve a = 1 AND b = 2 (one literal there, two here), nor t.a serve u.a
    for first, second in (("SELECT * FROM t WHERE a = 1 AND b = 1", "SELECT * FROM t WHERE a = 1 AND b = 2"),
                          ("SELECT t.a FROM t JOIN u ON t.a = u.b", "SELECT t.a FROM t JOIN u ON u.a = t.b"),
                          ("SELECT a FROM t WHERE a = 'x' AND b = 'x'", "SELECT a FROM t WHERE a = 'x' AND b = 'y'")):
        st._parse_one(first)
        assert picture(st._parse_one(second)) == picture(st._parse_fresh(second))
    assert st._shape("SELECT * FROM t WHERE a = 1 AND b = 1")[0] != st._shape("SELECT * FROM t WHERE a = 1 AND b = 2")[0]


@pytest.mark.parametrize("text", [
    "SELECT * FROM t WHERE x::mytype = 'a'",            # a type's name is no Identifier: never copied
    "SELECT * FROM t WHERE d > now() - interval '3 days'",
    "SELECT * FROM t ORDER BY a NULLS FIRST",
    "SELECT B'0101', X'ff', E'a\\'b', U&'d\\0061t' FROM t",
    "SELECT zz$ FROM t WHERE a = $1",                    # sqlglot may read zz$ … $ as a dollar quote
    "SELECT * FROM t WHERE a = 1e5 AND b = .5",
    "SELECT a /* sqlglot.meta case_sensitive */ FROM Foo",
    "SELECT * FROM t -- a comment naming u\nWHERE a = 'open",
])
def test_texts_sqlglot_reads_its_own_way_parse_as_a_parse_does(text):
    rng = random.Random(1)
    st._parse_one(text)
    for _ in range(5):
        other = with_values(text, rng) or text
        assert picture(st._parse_one(other)) == picture(st._parse_fresh(other)), other


def test_shapes_are_forgotten_with_the_trees():
    for i in range(3):
        st._parse_one(f"SELECT * FROM zz_t{i} WHERE zz_a = {i}")
    assert st._SHAPES.templates
    st.release_trees()
    assert not st._SHAPES.templates


# hostile texts: words sqlglot reads by their text, keywords, odd names and literals, in any order
PIECES = ["SELECT", "*", "FROM", "WHERE", "AND", "OR", "NOT", "=", "<", ">=", "(", ")", ",", ".", "::", "-", "+",
          "ORDER", "BY", "DESC", "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "GROUP", "AS", "JOIN", "ON", "IN",
          "IS", "NULL", "LIKE", "ILIKE", "BETWEEN", "CASE", "WHEN", "THEN", "ELSE", "END", "interval", "date",
          "ORDINALITY", "LATERAL", "filter", "over", "window", "value", "name", "type", "status", "first",
          "t", "u", "a", "b", "zz1", "Mixed", '"Q"', '"a b"', '"x""y"', "'s'", "'it''s'", "''", "1", "2", "0.5",
          "$1", "$2", "count", "lower", "now", "E'z'", "$$d$$", "/* c */", "-- l\n", "ü", "t.a", "u.b"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hs.lists(hs.sampled_from(PIECES), min_size=1, max_size=24), hs.randoms(use_true_random=False))
def test_any_text_parses_as_a_parse_does(pieces, rng):
    text = " ".join(pieces)
    st._parse_one(text)
    for other in (with_values(text, rng), with_values(text, rng), text):
        if other is not None:
            assert picture(st._parse_one(other)) == picture(st._parse_fresh(other)), other
