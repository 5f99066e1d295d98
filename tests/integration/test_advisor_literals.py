"""Literals are example values (issue 15, item 2): a literal on a column becomes a partial-index
predicate only when two different statements share it, or with --literals constant; otherwise a
much smaller partial index is shown as an alternative with its assumption."""

from __future__ import annotations

from tests.integration.test_advisor import recommend, setup

TASKS = (
    "CREATE TABLE tasks (id bigint PRIMARY KEY, account_id int NOT NULL, project_id int NOT NULL, "
    "state text NOT NULL, title text)",
    # 200 accounts × 500 projects: account_id = 7 keeps 0.5 % of the rows
    "INSERT INTO tasks SELECT g, g % 200, (g / 200) % 500, CASE WHEN g % 3 = 0 THEN 'open' ELSE 'done' END, "
    "'task ' || g FROM generate_series(1, 200000) g",
)
ONE = "SELECT id, title FROM tasks WHERE account_id = 7 AND project_id = 12"


def test_a_single_example_literal_makes_no_partial_index_but_an_alternative(fresh_db):
    setup(fresh_db, *TASKS)
    doc = recommend(fresh_db, ONE)
    recs = doc["recommendations"]
    assert recs and all(r["where"] is None for r in recs), [(r["columns"], r["where"]) for r in recs]
    assert {"account_id", "project_id"} & set(recs[0]["columns"])
    alts = [a for r in recs for a in r["alternatives"]]
    assert alts, recs
    alt = alts[0]
    assert alt["where"] in ("account_id = 7", "project_id = 12")
    assert alt["size_bytes"] * 2 <= alt["instead_of_bytes"]
    assert alt["text"].startswith(f"if {alt['where']} is constant in your application: ")
    assert " instead of " in alt["text"]
    # shown in the sections every format renders, and in the finding
    assert doc["alternatives"][0]["alternative"] == alt["index"]
    assert any("Alternative:" in f["detail"] for f in doc["findings"] if f["code"] == "A101")
    assert doc["workload"]["literals"] == "example"


def test_a_literal_two_different_statements_share_is_a_constant(fresh_db):
    setup(fresh_db, *TASKS)
    doc = recommend(fresh_db, "SELECT id, title FROM tasks WHERE account_id = 7 AND project_id = 12",
                    "SELECT count(*) FROM tasks WHERE account_id = 7 AND state = 'open'")
    partial = [r for r in doc["recommendations"] if r["where"]]
    assert partial and all(r["where"] == "account_id = 7" for r in partial), \
        [(r["columns"], r["where"]) for r in doc["recommendations"]]
    # project_id = 12 and state = 'open' appear once each: examples, never a predicate
    assert not any("project_id = 12" in (r["where"] or "") or "state" in (r["where"] or "")
                   for r in doc["recommendations"])


def test_literals_constant_trusts_every_literal(fresh_db):
    setup(fresh_db, *TASKS)
    # under a budget too small for a full index (5 MB and more here), only a partial one fits
    assert recommend(fresh_db, ONE, budget_bytes=1 << 20)["recommendations"] == []
    doc = recommend(fresh_db, ONE, literals="constant", budget_bytes=1 << 20)
    assert doc["recommendations"] and all(r["where"] in ("account_id = 7", "project_id = 12")
                                          for r in doc["recommendations"]), doc["recommendations"]
    doc = recommend(fresh_db, ONE, literals="constant")
    assert all(r["alternatives"] == [] for r in doc["recommendations"])
    assert doc["workload"]["literals"] == "constant"


def test_null_tests_and_boolean_columns_stay_partial_material(fresh_db):
    setup(fresh_db,
          "CREATE TABLE notes (id bigint PRIMARY KEY, user_id int NOT NULL, created_at timestamptz NOT NULL, "
          "read_at timestamptz, pinned boolean NOT NULL, body text)",
          "INSERT INTO notes SELECT g, g % 40, timestamptz '2026-01-01' + ((g * 7919) % 100000) * interval '1 minute', "
          "CASE WHEN g % 20 <> 0 THEN now() END, g % 50 = 0, repeat('b', 60) FROM generate_series(1, 100000) g")
    doc = recommend(fresh_db, "SELECT id, body FROM notes WHERE user_id = 3 AND read_at IS NULL "
                              "ORDER BY created_at DESC LIMIT 20")
    rec = doc["recommendations"][0]
    assert (rec["columns"], rec["where"]) == (["user_id", "created_at"], "read_at IS NULL")
    doc = recommend(fresh_db, "SELECT id FROM notes WHERE pinned ORDER BY created_at DESC LIMIT 20",
                    budget_bytes=512 << 10)     # room for the 2 % of pinned rows only
    assert any(r["where"] == "pinned" and r["definition"].endswith('WHERE "pinned";') for r in doc["recommendations"]), \
        [(r["columns"], r["where"]) for r in doc["recommendations"]]


def test_the_alternative_is_shown_in_every_format(fresh_db):
    from perftool.advisor.pipeline import AdvisorOptions, recommend_report
    from perftool.report.render import render_to_string

    setup(fresh_db, *TASKS)
    report = recommend_report(fresh_db, {"queries": [ONE]}, AdvisorOptions())
    for fmt in ("table", "json", "yaml", "markdown", "html", "csv", "sarif", "github", "junit"):
        text = render_to_string(report, fmt, width=400)
        assert "is constant in your application" in text, fmt
