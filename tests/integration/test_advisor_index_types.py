"""Index types beyond plain btree (issue 15, item 3), each from the predicate shape that needs it,
on a real server: expression btrees and BRIN costed by HypoPG like any btree; GIN and GiST from the
pattern, marked unverified, and measured for real with --verify-on on a second database."""

from __future__ import annotations

import pytest

from tests.integration.test_advisor import EVENTS, USERS, recommend, setup

LOGS = (
    "CREATE TABLE logs (id bigint PRIMARY KEY, at timestamp NOT NULL, level text NOT NULL, "
    "attrs jsonb NOT NULL, msg text)",
    # appended in time order: `at` follows the physical order (correlation 1)
    "INSERT INTO logs SELECT g, timestamp '2026-01-01' + g * interval '3 seconds', "
    "(ARRAY['info','warn','error'])[1 + g % 3], jsonb_build_object('kind', 'k' || (g % 500), 'n', g), "
    "'message ' || g FROM generate_series(1, 200000) g",
)


def recs(doc: dict) -> list[tuple[str, list[str], str]]:
    return [(r["method"], r["columns"], r["definition"]) for r in doc["recommendations"]]


@pytest.mark.parametrize(("query", "key"), [
    ("SELECT * FROM users WHERE lower(email) = 'user5@example.com'", 'lower("email")'),
    ("SELECT id FROM logs WHERE date_trunc('day', at) = '2026-01-03'", "date_trunc('day'"),
    ("SELECT id FROM logs WHERE at::date = '2026-01-03'", '("at")::date'),
    ("SELECT id FROM logs WHERE attrs ->> 'kind' = 'k42'", "\"attrs\" ->> 'kind'"),
])
def test_expression_btree_for_the_expression_the_statement_filters_on(fresh_db, query, key):
    setup(fresh_db, *USERS, *LOGS)
    doc = recommend(fresh_db, query)
    assert doc["recommendations"], (query, doc["skipped"])
    rec = doc["recommendations"][0]
    assert rec["method"] == "btree" and rec["verified"] is True
    assert key in rec["columns"][0] and rec["columns"][0].startswith("(")
    assert key in rec["definition"] and "CONCURRENTLY" in rec["definition"]
    assert rec["statements"][0]["cost_after"] < rec["statements"][0]["cost_before"]


def test_the_expression_index_is_one_postgresql_builds_and_uses(fresh_db):
    setup(fresh_db, *USERS)
    query = "SELECT * FROM users WHERE lower(email) = 'user5@example.com'"
    rec = recommend(fresh_db, query)["recommendations"][0]
    import psycopg
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(rec["definition"])
        conn.execute("ANALYZE users")
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + query).fetchall())
    assert "Index Scan" in plan or "Bitmap" in plan, plan


def test_expressions_postgresql_cannot_index_get_nothing(fresh_db):
    """`::date` and date_trunc of a timestamptz depend on the time zone (not immutable): no index."""
    setup(fresh_db, *EVENTS)
    for q in ("SELECT * FROM events WHERE created_at::date = '2026-01-03'",
              "SELECT * FROM events WHERE date_trunc('day', created_at) = '2026-01-03'"):
        assert recommend(fresh_db, q)["recommendations"] == [], q


def test_lower_like_prefix_gets_a_pattern_opclass_on_the_expression(fresh_db):
    setup(fresh_db, *USERS)
    doc = recommend(fresh_db, "SELECT id FROM users WHERE lower(email) LIKE 'user12%'")
    rec = doc["recommendations"][0]
    assert 'lower("email")' in rec["definition"]
    assert "text_pattern_ops" in rec["definition"] or "C" in str(doc["server"])


def test_brin_for_a_range_on_an_append_only_time_column(fresh_db):
    setup(fresh_db, *LOGS)
    doc = recommend(fresh_db, "SELECT count(*) FROM logs WHERE at >= '2026-01-02' AND at < '2026-01-03'",
                    budget_bytes=1 << 20)     # room for a BRIN (tens of kB), not a btree (megabytes)
    assert [m for m, _c, _d in recs(doc)] == ["brin"], recs(doc)
    method, cols, definition = recs(doc)[0]
    assert cols == ["at"] and 'USING brin ("at")' in definition
    assert doc["recommendations"][0]["size_bytes"] < 100_000


def test_no_brin_when_the_column_does_not_follow_the_physical_order(fresh_db):
    setup(fresh_db, *LOGS, "CREATE TABLE shuffled AS SELECT * FROM logs ORDER BY random()")
    doc = recommend(fresh_db, "SELECT count(*) FROM shuffled WHERE at >= '2026-01-02' AND at < '2026-01-03'",
                    explain_choice=True)
    assert all(m != "brin" for m, _c, _d in recs(doc))
    assert not any("USING brin" in r["index"] for r in doc["runner_ups"])
