"""`perftool explain` runs statements safely, on PostgreSQL 15 (sandbox) and 18 (pg18): writes only
with allow_dml and always rolled back (row counts and contents unchanged), refusals before anything
runs, the timeout fallback to plain EXPLAIN, generic plans for `$n` texts, --param values."""

from __future__ import annotations

import uuid

import pytest

from perftool.db.connect import connect, use_workload_search_path
from perftool.db.statement_send import run_read_only
from perftool.plans.explain import ExplainRequest, explain_report
from perftool.plans.run import ExplainOptions, Refused, explain_statement
from perftool.plans.run import _explain as send_explain
from perftool.workload.sources import WorkloadStatement
from tests.conftest import run_sql

SETUP = """
CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance int);
INSERT INTO accounts SELECT g, 'owner ' || g, g * 10 FROM generate_series(1, 5000) g;
CREATE TABLE audit (id serial PRIMARY KEY, account int, at timestamptz DEFAULT now());
CREATE FUNCTION audit_fn() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO audit (account) VALUES (NEW.id); RETURN NEW; END$$;
CREATE TRIGGER accounts_audit AFTER UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION audit_fn();
ANALYZE accounts;
"""
FINGERPRINT = ("SELECT count(*), md5(string_agg(id || ':' || owner || ':' || balance, ',' ORDER BY id)), "
               "(SELECT count(*) FROM audit) FROM accounts")


@pytest.fixture(params=["pg15", "pg18"])
def server_db(request):
    """A database with the accounts scenario on PostgreSQL 15 (sandbox) or 18 (pg18)."""
    server = request.getfixturevalue("sandbox" if request.param == "pg15" else "pg18")
    name = f"t_explain_{request.param}_{uuid.uuid4().hex[:6]}"
    dsn = server.create_database(name)
    run_sql(dsn, SETUP)
    yield dsn
    server.drop_database(name)


def _explain(dsn, text, **options):
    with connect(dsn, statement_timeout_ms=options.pop("timeout_ms", 30_000)) as conn:
        use_workload_search_path(conn)
        return explain_statement(conn, text, ExplainOptions(**options))


@pytest.mark.parametrize("statement", [
    "UPDATE accounts SET balance = balance + 1 WHERE id <= 100",
    "DELETE FROM accounts WHERE id % 2 = 0",
    "INSERT INTO accounts SELECT g, 'new', 0 FROM generate_series(6001, 7000) g",
    "WITH gone AS (DELETE FROM accounts WHERE id < 50 RETURNING id) SELECT count(*) FROM gone",
    "MERGE INTO accounts a USING (SELECT 1 AS id) s ON a.id = s.id WHEN MATCHED THEN UPDATE SET owner = 'x'",
])
def test_allow_dml_runs_the_write_and_rolls_it_back(server_db, statement):
    before = run_sql(server_db, FINGERPRINT)
    got = _explain(server_db, statement, allow_dml=True)
    assert got.mode == "analyze" and got.plan.analyzed
    assert any("rolled back" in n for n in got.notes)
    assert got.plan.root.node_type in ("ModifyTable", "Aggregate")
    assert run_sql(server_db, FINGERPRINT) == before


def test_the_write_really_ran_before_the_rollback(server_db):
    got = _explain(server_db, "UPDATE accounts SET balance = 0 WHERE id <= 100", allow_dml=True)
    scan = got.plan.root.children[0]
    assert scan.rows_total == 100
    assert got.plan.triggers and got.plan.triggers[0].name == "accounts_audit" and got.plan.triggers[0].calls == 100
    assert run_sql(server_db, "SELECT count(*) FROM audit") == [(0,)]


@pytest.mark.parametrize("statement", [
    "UPDATE accounts SET balance = 0",
    "WITH gone AS (DELETE FROM accounts RETURNING id) SELECT count(*) FROM gone",
])
def test_a_write_without_allow_dml_is_refused(server_db, statement):
    before = run_sql(server_db, FINGERPRINT)
    with pytest.raises(Refused) as info:
        _explain(server_db, statement)
    assert info.value.exit_code == 2 and "--allow-dml" in info.value.one_line()
    assert run_sql(server_db, FINGERPRINT) == before


def test_a_write_is_planned_not_run_with_no_analyze(server_db):
    before = run_sql(server_db, FINGERPRINT)
    got = _explain(server_db, "DELETE FROM accounts", analyze=False)
    assert got.mode == "estimates" and not got.plan.analyzed and got.plan.root.operation == "Delete"
    assert run_sql(server_db, FINGERPRINT) == before


@pytest.mark.parametrize("statement", [
    "DROP TABLE accounts", "CREATE TABLE x (a int)", "TRUNCATE accounts", "COPY accounts TO STDOUT",
    "CALL p()", "DO $$BEGIN DELETE FROM accounts; END$$", "SELECT 1; DELETE FROM accounts",
    "VACUUM accounts", "SET work_mem = '1GB'", "EXPLAIN ANALYZE DELETE FROM accounts", "",
])
def test_refused_statements_never_reach_the_server(server_db, statement):
    before = run_sql(server_db, FINGERPRINT)
    with pytest.raises(Refused) as info:
        explain_report(server_db, ExplainRequest(statements=[WorkloadStatement(text=statement)]),
                       ExplainOptions(allow_dml=True))
    assert info.value.exit_code == 2
    assert run_sql(server_db, FINGERPRINT) == before
    assert run_sql(server_db, "SELECT count(*) FROM pg_class WHERE relname = 'x'") == [(0,)]


def test_the_server_refuses_a_second_command_if_one_got_through(server_db):
    """The backstop under the classifier: the extended protocol's one command per message."""
    with connect(server_db) as conn, pytest.raises(Refused) as info:
        send_explain(conn, "SELECT 1; DELETE FROM accounts", [], analyze=True, runner=run_read_only)
    assert "more than one SQL command" in info.value.message
    assert run_sql(server_db, "SELECT count(*) FROM accounts") == [(5000,)]


def test_timeout_falls_back_to_plain_explain(server_db):
    got = _explain(server_db, "SELECT pg_sleep(5), count(*) FROM accounts", timeout_ms=300)
    assert got.mode == "estimates" and not got.plan.analyzed
    assert any("--timeout" in n and "plain EXPLAIN" in n for n in got.notes)


def test_dollar_parameters_get_a_generic_plan_labelled_estimates_only(server_db):
    got = _explain(server_db, "SELECT * FROM accounts WHERE id = $1 AND owner <> $2")
    assert got.mode == "generic" and got.estimates_only and not got.plan.analyzed
    assert got.plan.root.node_type == "Index Scan"
    assert any("estimates only" in n and "generic plan" in n for n in got.notes)
    # the what-if layer's prepared statement is gone afterwards
    with connect(server_db) as conn:
        assert conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()[0] == 0


def test_param_values_run_the_statement_for_real(server_db):
    got = _explain(server_db, "SELECT * FROM accounts WHERE id = $1 AND owner <> $2", params=["42", "nobody"])
    assert got.mode == "analyze" and got.plan.analyzed and got.plan.root.rows_total == 1
    with pytest.raises(Exception) as info:
        _explain(server_db, "SELECT * FROM accounts WHERE id = $1", params=["1", "2"])
    assert "parameter" in str(info.value)


def test_report_says_how_the_plan_was_obtained(server_db):
    report = explain_report(server_db, ExplainRequest(statements=[
        WorkloadStatement(text="SELECT * FROM accounts WHERE id = $1", origin="a"),
        WorkloadStatement(text="SELECT count(*) FROM accounts", origin="b")]), ExplainOptions())
    modes = [s["mode"] for s in report.data["statements"]]
    assert modes == ["generic", "analyze"]
    assert report.section("plan_1").title.endswith("estimates only (generic plan)")
    assert any(n.startswith("a: estimates only") for n in report.notes)


def test_text_and_json_plans_of_this_server_read_to_the_same_tree(server_db):
    """The text parser on each server's own text form (PG 18 prints decimal row counts, Index
    Searches, …): same nodes, estimates, loops and rows as its JSON."""
    from perftool.plans.json_plan import parse_json
    from perftool.plans.parse import parse_plan

    query = ("SELECT a.owner, count(*) FROM accounts a JOIN accounts b ON b.id = a.id + 1 "
             "WHERE a.balance > 100 GROUP BY a.owner ORDER BY 2 DESC LIMIT 5")
    options = "ANALYZE, BUFFERS, VERBOSE, SETTINGS"
    with psycopg_connect(server_db) as conn:
        conn.execute("SET max_parallel_workers_per_gather = 0")
        doc = conn.execute(f"EXPLAIN ({options}, FORMAT JSON) {query}").fetchone()[0]
        text = "\n".join(r[0] for r in conn.execute(f"EXPLAIN ({options}) {query}").fetchall())
    from_json, from_text = parse_json(doc), parse_plan(text)
    fields = ("node_type", "relation", "alias", "index_name", "join_type", "strategy", "startup_cost", "total_cost",
              "plan_rows", "loops", "rows_total", "filter", "hash_cond", "index_cond", "sort_key", "group_key",
              "removed_by_filter", "depth")
    assert [[getattr(n, f) for f in fields] + [n.label()] for n in from_json.nodes()] == \
        [[getattr(n, f) for f in fields] + [n.label()] for n in from_text.nodes()]
    assert from_text.planning_ms is not None and from_text.execution_ms is not None


def psycopg_connect(dsn):
    import psycopg

    return psycopg.connect(dsn, autocommit=True)


VOLATILE_SETUP = """
CREATE SEQUENCE ticket;
CREATE FUNCTION bump() RETURNS int LANGUAGE plpgsql AS $$BEGIN RETURN nextval('ticket'); END$$;
CREATE FUNCTION pure_stable(int) RETURNS int LANGUAGE plpgsql STABLE AS $$BEGIN RETURN $1 * 2; END$$;
CREATE VIEW numbered AS SELECT id, nextval('ticket') AS n FROM accounts;
"""


@pytest.mark.parametrize("statement, culprit", [
    ("SELECT nextval('ticket')", "pg_catalog.nextval"),
    ("SELECT setval('ticket', 5)", "pg_catalog.setval"),
    ("SELECT bump() FROM accounts WHERE id < 3", "public.bump"),
    ("SELECT pg_advisory_lock(42)", "pg_catalog.pg_advisory_lock"),
    ("SELECT * FROM numbered WHERE id = 1", "pg_catalog.nextval"),                # hidden in a view
    ("SELECT id FROM accounts WHERE id IN (SELECT bump())", "public.bump"),        # in a subquery
])
def test_volatile_functions_of_unknown_effect_are_refused_under_analyze(server_db, statement, culprit):
    run_sql(server_db, VOLATILE_SETUP)
    before = run_sql(server_db, "SELECT last_value, is_called FROM ticket")
    with pytest.raises(Refused) as refused:
        _explain(server_db, statement)
    assert culprit in refused.value.message and "volatile" in refused.value.message
    assert "--no-analyze" in refused.value.hint and "--allow-dml" in refused.value.hint
    assert run_sql(server_db, "SELECT last_value, is_called FROM ticket") == before      # nothing ran
    planned = _explain(server_db, statement, analyze=False)                            # plain EXPLAIN: fine
    assert planned.mode == "estimates"


def test_allow_dml_runs_a_volatile_select_rolled_back(server_db):
    run_sql(server_db, VOLATILE_SETUP)
    got = _explain(server_db, "SELECT bump() FROM accounts WHERE id < 3", allow_dml=True)
    assert got.mode == "analyze" and any("volatile public.bump" in n and "rolled back" in n for n in got.notes)


@pytest.mark.parametrize("statement", [
    "SELECT random(), clock_timestamp(), now(), gen_random_uuid(), timeofday()",
    "SELECT pure_stable(id) FROM accounts WHERE id < 5",
    "SELECT count(*) FROM pg_stat_activity",
    "SELECT id, md5(owner) FROM accounts WHERE owner LIKE 'owner 1%'",
])
def test_stable_immutable_and_known_safe_volatile_builtins_run(server_db, statement):
    run_sql(server_db, VOLATILE_SETUP)
    assert _explain(server_db, statement).mode == "analyze"


def test_cli_refusal_is_one_line_exit_2(server_db):
    import subprocess
    import sys

    run_sql(server_db, VOLATILE_SETUP)
    proc = subprocess.run([sys.executable, "-m", "perftool", "explain", "--dsn", server_db, "SELECT bump()"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "public.bump" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
