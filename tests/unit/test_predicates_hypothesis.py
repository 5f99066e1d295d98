"""Any input text gives an analysis or a clean skip reason — never an exception."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perftool.advisor.predicates import analyze
from perftool.catalog.schema import Catalog, ColumnInfo, TableInfo
from perftool.workload.sources import split_statements
from perftool.workload.statement_text import relation_names

CAT = Catalog(search_path=["pg_catalog", "public"])
CAT.add(TableInfo(schema="public", name="t", columns={c: ColumnInfo(c) for c in ("a", "b", "c")}))
CAT.add(TableInfo(schema="public", name="u", columns={c: ColumnInfo(c) for c in ("a", "d")}))
CAT.add(TableInfo(schema="public", name="v", kind="v", columns={"a": ColumnInfo("a")},
                  view_sql="SELECT a FROM v"))  # a view defined on itself must not loop

TOKENS = ["SELECT", "*", "FROM", "t", "u", "v", "WHERE", "a", "b", "c", "d", "=", "<", ">", "AND", "OR", "NOT",
          "(", ")", ",", "1", "'x'", "$1", "IN", "LIKE", "'ab%'", "IS", "NULL", "JOIN", "ON", "USING", "ORDER",
          "BY", "DESC", "GROUP", "LIMIT", "WITH", "AS", "x", "EXISTS", "UPDATE", "SET", "DELETE", "INSERT", "INTO",
          "VALUES", "UNION", "ALL", ";", "t.a", "u.a", '"T"', "::int", "BETWEEN", "CASE", "WHEN", "THEN", "END"]


def check(text: str) -> None:
    a = analyze(text, CAT)
    assert a.skip is None or isinstance(a.skip, str) and a.skip
    if a.skip is None:
        for acc in a.accesses:
            assert CAT.get(acc.table) is not None
    relation_names(text)
    split_statements(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_any_text(text):
    check(text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=40))
def test_sql_like_token_soup(tokens):
    check(" ".join(tokens))


def test_self_referencing_view_terminates():
    assert analyze("SELECT * FROM v WHERE a = 1", CAT) is not None
