"""Predicate extraction (sqlglot) on a hand-built catalog: no server."""

from __future__ import annotations

import pytest

from perftool.advisor.predicates import analyze, parameter_count
from perftool.catalog.schema import Catalog, ColumnInfo, TableInfo
from perftool.workload.statement_text import relation_names


def _table(cat: Catalog, name: str, cols: list[str], schema: str = "public", kind: str = "r", view: str | None = None):
    cat.add(TableInfo(schema=schema, name=name, kind=kind, columns={c: ColumnInfo(c) for c in cols}, view_sql=view))


@pytest.fixture
def cat() -> Catalog:
    c = Catalog(search_path=["pg_catalog", "public"])
    _table(c, "orders", ["id", "customer_id", "status", "created_at", "total", "note"])
    _table(c, "customers", ["id", "email", "country"])
    _table(c, "Accounts", ["Id", "Email", "createdAt"])
    _table(c, "jobs", ["id", "number", "status"], schema="shop")
    _table(c, "recent_orders", ["id", "cust", "created_at"], kind="v",
           view="SELECT o.id, o.customer_id AS cust, o.created_at FROM orders o WHERE o.status = 'open'")
    _table(c, "remote", ["id"], kind="f")
    return c


def one(cat, sql, table="orders"):
    a = analyze(sql, cat)
    assert a.skip is None, a.skip
    accs = [x for x in a.accesses if x.table[1] == table]
    assert accs, a.accesses
    return a, accs[0]


def test_equality_and_range(cat):
    _a, acc = one(cat, "SELECT * FROM orders WHERE customer_id = 7 AND created_at >= '2024-01-01'")
    assert acc.equality == ["customer_id"] and acc.range == ["created_at"]
    assert acc.filter_columns == ["customer_id", "created_at"]


def test_in_any_is_null_between_like(cat):
    _a, acc = one(cat, "SELECT id FROM orders WHERE status IN ('a', 'b') AND customer_id = ANY($1) "
                       "AND note IS NULL AND total BETWEEN 1 AND 2 AND note LIKE 'ab%' AND id <> 3")
    assert set(acc.equality) == {"status", "customer_id", "note"}
    assert set(acc.range) == {"total", "note"}
    assert acc.like_prefix == {"note"}
    assert "id" not in acc.equality + acc.range


def test_not_like_and_leading_wildcard_are_not_indexable(cat):
    _a, acc = one(cat, "SELECT id FROM orders WHERE note NOT LIKE 'x%' AND status LIKE '%x' AND customer_id = 1")
    assert acc.range == [] and acc.equality == ["customer_id"]


def test_order_by_direction_and_limit(cat):
    _a, acc = one(cat, "SELECT * FROM orders WHERE status = 'open' ORDER BY created_at DESC, id LIMIT 20")
    assert acc.order == [("created_at", True), ("id", False)]
    assert acc.limit


def test_order_by_output_alias_and_position(cat):
    _a, acc = one(cat, "SELECT created_at AS t, total FROM orders ORDER BY t DESC")
    assert acc.order == [("created_at", True)]
    _a, acc = one(cat, "SELECT customer_id, count(*) FROM orders GROUP BY 1 ORDER BY 1")
    assert acc.group == ["customer_id"] and acc.order == [("customer_id", False)]


def test_join_keys_through_aliases(cat):
    a = analyze("SELECT o.id FROM orders AS o JOIN customers c ON c.id = o.customer_id WHERE c.email = $1", cat)
    accs = {x.table[1]: x for x in a.accesses}
    assert accs["orders"].join == ["customer_id"]
    assert accs["customers"].join == ["id"] and accs["customers"].equality == ["email"]


def test_using_and_implicit_join(cat):
    a = analyze("SELECT * FROM orders, customers WHERE orders.customer_id = customers.id AND country = 'NL'", cat)
    accs = {x.table[1]: x for x in a.accesses}
    assert accs["orders"].join == ["customer_id"] and accs["customers"].equality == ["country"]


def test_cte_and_derived_table_with_column_list(cat):
    _a, acc = one(cat, "WITH r AS (SELECT customer_id AS c, created_at FROM orders) "
                       "SELECT * FROM r WHERE r.c = 5 AND created_at > now()")
    assert acc.equality == ["customer_id"] and acc.range == ["created_at"]
    _a, acc = one(cat, "SELECT * FROM (SELECT customer_id, total FROM orders) AS d (cust, amount) WHERE d.cust = 3")
    assert acc.equality == ["customer_id"]


def test_correlated_exists_and_in_subquery(cat):
    a = analyze("SELECT * FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id "
                "AND o.status = 'late') AND c.id IN (SELECT customer_id FROM orders WHERE total > 100)", cat)
    orders = [x for x in a.accesses if x.table[1] == "orders"]
    assert any(x.join == ["customer_id"] and x.equality == ["status"] for x in orders)
    assert any("customer_id" in x.join and x.range == ["total"] for x in orders)
    assert [x for x in a.accesses if x.table[1] == "customers"][0].join == ["id"]


def test_or_branches_share_conditions(cat):
    _a, acc = one(cat, "SELECT * FROM orders WHERE (customer_id = 1 AND status = 'a' AND total > 5) "
                       "OR (customer_id = 1 AND status = 'b')")
    assert set(acc.equality) == {"customer_id", "status"}
    assert "total" not in acc.range
    _a, acc = one(cat, "SELECT * FROM orders WHERE customer_id = 1 OR status LIKE 'ab%'")
    assert acc.equality == [] and acc.range == []          # no column every branch filters on …
    assert acc.either == ["customer_id", "status"]          # … but one index per branch can serve a BitmapOr
    assert "status" in acc.like_prefix and set(acc.indexable) == {"customer_id", "status"}


def test_view_is_inlined_to_base_table(cat):
    a, acc = one(cat, "SELECT * FROM recent_orders WHERE cust = 9 AND created_at > '2024-01-01'")
    assert acc.table == ("public", "orders")
    assert set(acc.equality) == {"status", "customer_id"} and acc.range == ["created_at"]


def test_quoted_mixed_case_identifiers(cat):
    a, acc = one(cat, 'SELECT "Id" FROM "Accounts" a WHERE a."Email" = \'x\' ORDER BY "createdAt"', table="Accounts")
    assert acc.table == ("public", "Accounts") and acc.equality == ["Email"] and acc.order == [("createdAt", False)]
    assert analyze('SELECT * FROM accounts WHERE "Email" = 1', cat).skip == 'relation "accounts" does not exist'


def test_schema_qualified_and_search_path(cat):
    _a, acc = one(cat, "SELECT * FROM shop.jobs WHERE number LIKE 'J-1%'", table="jobs")
    assert acc.table == ("shop", "jobs") and acc.range == ["number"]
    assert analyze("SELECT * FROM jobs", cat).skip == 'relation "jobs" does not exist'


def test_parameters(cat):
    a, acc = one(cat, "SELECT * FROM orders WHERE customer_id = $1 AND status = $2 LIMIT $3")
    assert a.params == 3 and acc.constants == []
    assert parameter_count("select $1,$12") == 12


def test_update_and_delete(cat):
    a, acc = one(cat, "UPDATE orders SET note = 'x', total = total + 1 WHERE customer_id = 5")
    assert a.kind == "UPDATE" and a.target == ("public", "orders") and a.set_columns == {"note", "total"}
    assert acc.equality == ["customer_id"]
    a = analyze("DELETE FROM orders o USING customers c WHERE o.customer_id = c.id AND c.email = 'x'", cat)
    accs = {x.table[1]: x for x in a.accesses}
    assert a.kind == "DELETE" and accs["orders"].join == ["customer_id"] and accs["customers"].equality == ["email"]


def test_insert(cat):
    a = analyze("INSERT INTO orders (customer_id, status) VALUES (1, 'a'), (2, 'b')", cat)
    assert a.skip is None and a.kind == "INSERT" and a.insert_rows == 2 and a.accesses == []
    a = analyze("INSERT INTO orders (customer_id) SELECT id FROM customers WHERE country = 'NL'", cat)
    assert a.kind == "INSERT" and a.accesses[0].equality == ["country"]


def test_constants_for_partial_indexes(cat):
    _a, acc = one(cat, "SELECT * FROM orders WHERE status = 'active' AND note IS NULL AND customer_id = 3")
    labels = {c.label() for c in acc.constants}
    assert labels == {"status = 'active'", "note IS NULL", "customer_id = 3"}


def test_min_max_group(cat):
    _a, acc = one(cat, "SELECT status, max(total) FROM orders GROUP BY status")
    assert acc.group == ["status"] and acc.extreme == ["total"]
    _a, acc = one(cat, "SELECT min(created_at) FROM orders WHERE status = 'a'")
    assert acc.extreme == ["created_at"] and "created_at" in acc.indexable


@pytest.mark.parametrize(("sql", "reason"), [
    ("SELECT * FROM nope WHERE a = 1", 'relation "nope" does not exist'),
    ("CREATE TABLE x (a int)", "utility or DDL"),
    ("VACUUM orders", "utility or DDL statement (VACUUM)"),
    ("/* app */ BEGIN", "utility or DDL statement (BEGIN)"),
    ("SET search_path = app", "utility or DDL statement (SET)"),
    ("SELEC broken", "could not be parsed"),
    ("SELECT 1", "reads no table"),
    ("SELECT * FROM pg_stat_activity", "system catalogs"),
    ("SELECT * FROM remote WHERE id = 1", "foreign table"),
    ("SELEC * FROM orders", "could not be parsed"),
    ("", "empty statement"),
    ("<insufficient privilege>", "insufficient privilege"),
])
def test_skips_with_reason(cat, sql, reason):
    assert reason in (analyze(sql, cat).skip or "")


def test_relation_names():
    assert relation_names('WITH x AS (SELECT 1) SELECT * FROM x, s.t, "Foo"') == [("s", "t"), (None, "Foo")]
    assert relation_names("not sql at all (((") == []


def test_analysis_leaves_the_shared_parse_untouched(cat):
    """The normalized trees are parsed once per text and shared: inlining a view, rewriting DML or
    walking scopes must not change them, so a second analysis (and other callers) see the same."""
    from perftool.workload.statement_text import parse_normalized

    texts = ["SELECT r.id FROM recent_orders r WHERE r.cust = 3 ORDER BY r.created_at",
             "UPDATE orders SET total = total + 1 WHERE customer_id = 5",
             "WITH x AS (SELECT max(created_at) m FROM orders) SELECT * FROM x, customers c WHERE c.id = 1",
             "INSERT INTO orders (id) SELECT id FROM customers WHERE email = 'a'"]
    view = cat.resolve(None, "recent_orders").view_sql
    before = {t: parse_normalized(t).sql() for t in [*texts, view]}
    first = [analyze(t, cat) for t in texts]
    assert {t: parse_normalized(t).sql() for t in [*texts, view]} == before
    assert [analyze(t, cat) for t in texts] == first
    assert first[0].accesses[0].equality == ["status", "customer_id"] and first[0].accesses[0].constants
    assert first[2].accesses[0].extreme == ["created_at"]


@pytest.mark.parametrize(("any_form", "in_form"), [
    ("customer_id = ANY($1)", "customer_id IN ($1, $2)"),
    ("customer_id = ANY(ARRAY[1, 2, 3])", "customer_id IN (1, 2, 3)"),
    ("customer_id = ANY($1::bigint[])", "customer_id IN ($1, $2)"),
    ("status = ANY('{open,paid}')", "status IN ('open', 'paid')"),
    ("status = ANY(ARRAY['open'])", "status IN ('open')"),
    ("customer_id = ANY(SELECT id FROM customers WHERE email = 'x')",
     "customer_id IN (SELECT id FROM customers WHERE email = 'x')"),
])
def test_equals_any_is_read_like_in(cat, any_form, in_form):
    """`col = ANY(…)` (what ORMs send for a list of ids) is an IN: the same equality / join columns,
    constants, and the subquery's output column as a join key."""
    def facts(where):
        a = analyze(f"SELECT o.id FROM orders o WHERE {where} AND o.total > 5", cat)
        assert a.skip is None, a.skip
        return sorted((x.table, x.equality, x.join, x.range, x.constants) for x in a.accesses)

    assert facts(any_form) == facts(in_form)


def test_equals_any_of_another_tables_array_is_a_join(cat):
    _a, acc = one(cat, "SELECT * FROM orders o JOIN customers c ON o.customer_id = ANY(ARRAY[c.id, c.id + 1])")
    assert acc.join == ["customer_id"] and acc.equality == [] and acc.constants == []
    _a, acc = one(cat, "SELECT * FROM orders WHERE customer_id = ANY(ARRAY[id])")
    assert acc.join == acc.equality == []
