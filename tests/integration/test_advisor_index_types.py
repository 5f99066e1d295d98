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
    setup(fresh_db, *USERS, 'ALTER TABLE users ALTER COLUMN email TYPE text COLLATE "und-x-icu"')
    doc = recommend(fresh_db, "SELECT id FROM users WHERE lower(email) LIKE 'user12345%'")
    rec = doc["recommendations"][0]
    assert '((lower("email")) "text_pattern_ops")' in rec["definition"], rec["definition"]


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


# --- GIN and GiST: from the pattern, unverified; measured with --verify-on ------------------------

DOCS = (
    "CREATE TABLE docs (id bigint PRIMARY KEY, title text NOT NULL, body text NOT NULL, tsv tsvector, "
    "meta jsonb NOT NULL, tags text[] NOT NULL, during tstzrange NOT NULL)",
    "INSERT INTO docs SELECT g, 'title number ' || g || ' ' || md5(g::text), "
    "'the quick brown fox ' || md5(g::text) || ' jumps over ' || (g % 1000), NULL, "
    "jsonb_build_object('kind', 'k' || (g % 300), 'n', g), ARRAY['t' || (g % 400), 'u' || (g % 7)], "
    "tstzrange(timestamptz '2026-01-01' + g * interval '1 minute', timestamptz '2026-01-01' + (g + 30) * interval '1 minute') "
    "FROM generate_series(1, 60000) g",
    "UPDATE docs SET tsv = to_tsvector('english', body)",
)
GIN_CASES = [
    ("SELECT id FROM docs WHERE tsv @@ to_tsquery('english', 'fox & 42')", "gin", '"tsv"', "tsvector @@"),
    ("SELECT id FROM docs WHERE to_tsvector('english', body) @@ plainto_tsquery('english', 'brown 42')", "gin",
     "(to_tsvector('english'::regconfig, \"body\"))", "to_tsvector"),
    ("SELECT id FROM docs WHERE meta @> '{\"kind\": \"k7\"}'", "gin", '"meta"', "jsonb @>"),
    ("SELECT id FROM docs WHERE meta ? 'kind'", "gin", '"meta"', "jsonb ?"),
    ("SELECT id FROM docs WHERE tags && ARRAY['t12']", "gin", '"tags"', "array &&"),
    ("SELECT id FROM docs WHERE tags @> ARRAY['t12', 'u3']", "gin", '"tags"', "array @>"),
    ("SELECT id FROM docs WHERE title ILIKE '%abc1%'", "gin", '"title" "gin_trgm_ops"', "ILIKE"),
    ("SELECT id FROM docs WHERE title LIKE '%number 77%'", "gin", '"title" "gin_trgm_ops"', "LIKE"),
    ("SELECT id FROM docs WHERE during && tstzrange('2026-01-10', '2026-01-11')", "gist", '"during"', "range &&"),
    ("SELECT id FROM docs WHERE tstzrange('2026-01-12', '2026-01-13') && during", "gist", '"during"', "range &&"),
    ("SELECT id FROM docs WHERE during @> timestamptz '2026-01-20 10:00'", "gist", '"during"', "range @>"),
]


def search_recs(doc: dict) -> list[dict]:
    return [r for r in doc["recommendations"] if r["method"] in ("gin", "gist")]


@pytest.mark.parametrize(("query", "method", "key", "shape"), GIN_CASES)
def test_gin_and_gist_from_the_pattern_are_unverified(fresh_db, query, method, key, shape):
    setup(fresh_db, *DOCS)
    doc = recommend(fresh_db, query)
    found = search_recs(doc)
    assert len(found) == 1, (query, recs(doc))
    rec = found[0]
    assert rec["method"] == method and f"USING {method} ({key})" in rec["definition"], rec["definition"]
    assert rec["verified"] is False and rec["verification"] == "pattern"
    assert shape in rec["shape"] and "HypoPG cannot cost" in rec["unverified_reason"]
    assert rec["size_bytes"] > 0 and rec["saved_pct"] is None
    assert rec["statements"][0]["cost_after"] is None
    if "gin_trgm_ops" in key:      # the sandbox has pg_trgm available, not installed
        assert rec["extension"].startswith("needs pg_trgm (not installed, available")
        assert rec["definition"].startswith("CREATE EXTENSION IF NOT EXISTS pg_trgm;\n")
    finding = next(f for f in doc["findings"] if f["code"] == "A101" and f["fix"] == rec["definition"])
    assert "(unverified: HypoPG cannot cost " in finding["title"]


@pytest.mark.parametrize("query", [
    "SELECT id FROM docs WHERE title LIKE 'title number 1%'",    # prefix: a btree case
    "SELECT id FROM docs WHERE title LIKE '%ab'",                 # too short for trigrams
    "SELECT id FROM docs WHERE title NOT ILIKE '%abc%'",
    "SELECT id FROM docs WHERE meta ->> 'kind' = 'k7'",           # an expression btree, not GIN
    "SELECT id FROM docs WHERE to_tsvector(body) @@ plainto_tsquery('fox')",   # not immutable: no index
])
def test_near_misses_get_no_gin(fresh_db, query):
    setup(fresh_db, *DOCS)
    doc = recommend(fresh_db, query)
    assert search_recs(doc) == [], (query, recs(doc))


def test_like_prefix_is_a_btree_with_a_pattern_opclass_not_trigram(fresh_db):
    setup(fresh_db, *DOCS,
          'ALTER TABLE docs ADD COLUMN icu text COLLATE "und-x-icu", ADD COLUMN c text COLLATE "C"',
          "UPDATE docs SET icu = title, c = title")
    doc = recommend(fresh_db, "SELECT id FROM docs WHERE icu LIKE 'title number 4242 %'")
    assert [(m, c) for m, c, _d in recs(doc)] == [("btree", ["icu"])]
    assert '("icu" "text_pattern_ops")' in recs(doc)[0][2]       # a non-C collation needs the pattern opclass
    doc = recommend(fresh_db, "SELECT id FROM docs WHERE c LIKE 'title number 4242 %'")
    assert [(m, c) for m, c, _d in recs(doc)] == [("btree", ["c"])]
    assert 'USING btree ("c")' in recs(doc)[0][2]              # under C the plain btree serves LIKE 'abc%'


def test_unverified_marking_in_every_format(fresh_db):
    from perftool.advisor.pipeline import AdvisorOptions, recommend_report
    from perftool.report.render import render_to_string

    setup(fresh_db, *DOCS)
    report = recommend_report(fresh_db, {"queries": ["SELECT id FROM docs WHERE meta @> '{\"kind\": \"k7\"}'"]},
                              AdvisorOptions())
    for fmt in ("table", "json", "yaml", "markdown", "html"):
        text = render_to_string(report, fmt, width=400)
        assert "unverified" in text, fmt
        assert "USING gin" in text, fmt
        if fmt in ("table", "markdown", "html"):     # the recommendations table marks the row itself
            assert "public.docs USING gin (meta) — unverified" in text, fmt


def test_verify_on_builds_it_for_real_on_a_second_database_and_rolls_back(fresh_db, sandbox_dsn_factory):
    import uuid

    import psycopg

    setup(fresh_db, *DOCS)
    staging = sandbox_dsn_factory(f"staging_{uuid.uuid4().hex[:8]}")
    setup(staging, *DOCS)
    queries = [q for q, *_ in GIN_CASES]
    unverified = recommend(fresh_db, *queries)
    doc = recommend(fresh_db, *queries, verify_on=staging)
    found = search_recs(doc)
    assert found and all(r["verification"] == "verify-on" and r["verified"] for r in found), \
        [(r["index"] if "index" in r else r["definition"], r["verification"]) for r in found]
    assert {r["definition"] for r in found} <= {r["definition"] for r in search_recs(unverified)}
    for r in found:
        assert r["used_by_planner"] is True and r["verified_on"].endswith("/" + staging.rsplit("/", 1)[1])
        st = r["statements"][0]
        assert st["cost_after"] < st["cost_before"], r
        assert r["size_bytes"] > 0 and r["saved_pct"] is not None
    finding = next(f for f in doc["findings"] if f["code"] == "A101" and "verified on" in f["title"])
    assert "rolled-back transaction" in finding["detail"]
    with psycopg.connect(staging) as conn:    # nothing stays behind on the staging copy
        left = conn.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'docs'").fetchone()[0]
        trgm = conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'").fetchone()[0]
    assert (left, trgm) == (1, 0)     # the primary key only; pg_trgm created and rolled back
    # the analysed database was never written to
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'docs'").fetchone()[0] == 1


# --- a measured GIN competes inside the budgeted selection (--budget / --max-indexes) --------------

SEARCH = "SELECT id FROM docs WHERE meta @> '{\"kind\": \"k7\"}'"        # GIN (meta): saves 2,700-5,500
LOOKUP = "SELECT * FROM users WHERE email = 'user42@example.com'"     # btree (email): saves ~1,100 a call


@pytest.fixture
def staged(fresh_db, sandbox_dsn_factory):
    """The analysed database and its staging copy (docs and users on both), and the real sizes of
    the GIN (measured there) and of the btree (HypoPG's), unbudgeted."""
    import uuid

    setup(fresh_db, *DOCS, *USERS)
    staging = sandbox_dsn_factory(f"staging_{uuid.uuid4().hex[:8]}")
    setup(staging, *DOCS, *USERS)
    doc = recommend(fresh_db, SEARCH, LOOKUP, verify_on=staging)
    sizes = {r["method"]: r["size_bytes"] for r in doc["recommendations"]}
    assert sorted(sizes) == ["btree", "gin"], recs(doc)
    return fresh_db, staging, sizes


def picks(doc: dict) -> list[tuple[str, list[str], str]]:
    return [(r["method"], r["columns"], r["verification"]) for r in doc["recommendations"]]


def one_fits(sizes: dict[str, int]) -> int:
    """A budget either index fits in, not both."""
    return max(sizes.values()) + min(sizes.values()) // 2


@pytest.mark.parametrize("limit", ["budget", "max_indexes"])
def test_a_verified_gin_displaces_a_btree_pick_that_saves_less(staged, limit):
    db, staging, sizes = staged
    opts = {"budget_bytes": one_fits(sizes)} if limit == "budget" else {"max_indexes": 1}
    plain = recommend(db, SEARCH, LOOKUP, **opts)
    assert picks(plain) == [("btree", ["email"], "hypopg"), ("gin", ["meta"], "pattern")], picks(plain)
    doc = recommend(db, SEARCH, LOOKUP, verify_on=staging, **opts)
    assert picks(doc) == [("gin", ["meta"], "verify-on")], (picks(doc), doc["notes"])
    gin = doc["recommendations"][0]
    assert any(n.startswith("public.docs USING gin (meta): measured on") and "displaces public.users (email)" in n
               for n in doc["notes"]), doc["notes"]
    # the workload is cheaper with the GIN than with the btree pick it displaced
    assert doc["workload"]["cost_after"] < plain["workload"]["cost_after"], (doc["workload"], plain["workload"])
    assert doc["workload"]["cost_before"] - doc["workload"]["cost_after"] == pytest.approx(gin["benefit"], rel=1e-3)
    if limit == "budget":
        assert gin["size_bytes"] <= opts["budget_bytes"]


@pytest.mark.parametrize("limit", ["budget", "max_indexes"])
def test_the_btree_pick_stays_when_displacing_it_does_not_pay(staged, limit):
    db, staging, sizes = staged
    opts = {"budget_bytes": one_fits(sizes)} if limit == "budget" else {"max_indexes": 1}
    heavy = [LOOKUP] * 10       # ten calls: the btree saves about twice what the GIN does
    plain = recommend(db, SEARCH, *heavy, **opts)
    doc = recommend(db, SEARCH, *heavy, verify_on=staging, **opts)
    assert picks(doc) == [("btree", ["email"], "hypopg")], (picks(doc), doc["notes"])
    assert any(n.startswith("public.docs USING gin (meta): measured on") and "costs more than it saves" in n
               for n in doc["notes"]), doc["notes"]
    assert doc["workload"]["cost_after"] == pytest.approx(plain["workload"]["cost_after"], rel=1e-9)


def test_a_verified_gin_larger_than_the_budget_is_left_out(staged):
    db, staging, sizes = staged
    doc = recommend(db, SEARCH, LOOKUP, verify_on=staging, budget_bytes=sizes["gin"] - 8192)
    assert ("gin", ["meta"], "verify-on") not in picks(doc)
    assert any("USING gin (meta): measured on" in n and "larger than --budget allows" in n for n in doc["notes"])


def test_a_displacing_gin_shows_verified_with_measured_costs_in_json(staged):
    import json

    from perftool.advisor.pipeline import AdvisorOptions, recommend_report
    from perftool.report.render import render_to_string

    db, staging, sizes = staged
    report = recommend_report(db, {"queries": [SEARCH, LOOKUP]},
                              AdvisorOptions(budget_bytes=one_fits(sizes), verify_on=staging))
    doc = json.loads(render_to_string(report, "json", width=400))
    (gin,) = doc["recommendations"]
    assert gin["method"] == "gin" and gin["verified"] is True and gin["verification"] == "verify-on"
    assert gin["used_by_planner"] is True and gin["verified_on"].endswith("/" + staging.rsplit("/", 1)[1])
    (st,) = gin["statements"]
    assert st["query"] == SEARCH and 0 < st["cost_after"] < st["cost_before"], st
    assert gin["saved_pct"] > 0 and gin["benefit"] > 0
    assert gin["size_bytes"] == sizes["gin"]
