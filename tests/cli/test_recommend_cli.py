"""`perftool indexes recommend` on the command line against the sandbox server: every workload source
(--query, --from FILE, a positional FILE, stdin, --log, pg_stat_statements), stdout/stderr split, -o,
the formats, --no-whatif, --explain-choice, --budget, --max-indexes, exit codes 2 and 3."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psycopg
import pytest

NOWHERE = "postgresql://127.0.0.1:1/nowhere?connect_timeout=2"
SETUP = """
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL, status text NOT NULL,
                     created_at timestamptz NOT NULL, total numeric);
INSERT INTO orders SELECT g, g % 5000, (ARRAY['new','paid','shipped','done'])[1 + g % 4],
                          now() - g * interval '1 minute', g % 100
                   FROM generate_series(1, 50000) g;
VACUUM ANALYZE orders;
"""
BY_CUSTOMER = "SELECT id, total FROM orders WHERE customer_id = 42"
BY_TOTAL = "SELECT count(*) FROM orders WHERE total = 5"
BY_STATUS = "SELECT id FROM orders WHERE status = 'new' ORDER BY created_at DESC LIMIT 10"


def perftool(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "perftool", *args], capture_output=True, text=True,
                          input=stdin, env={**os.environ}, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def recommend(dsn: str, *args: str, stdin: str | None = None) -> dict:
    """Run `indexes recommend -f json`, expect exit 0 and JSON on stdout."""
    code, out, err = perftool("indexes", "recommend", "--dsn", dsn, *args, "-f", "json", stdin=stdin)
    assert code == 0, err
    return json.loads(out)


def picks(doc: dict) -> list[tuple[str, list[str]]]:
    return [(r["table"], r["columns"]) for r in doc["recommendations"]]


def setup_orders(dsn: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in SETUP.split(";"):
            if statement.strip():
                conn.execute(statement)
    return dsn


@pytest.fixture(scope="module")
def orders_db(sandbox_dsn_factory):
    """50k orders; shared by the tests that only read (the advisor's sessions are read-only)."""
    return setup_orders(sandbox_dsn_factory("t_cli_recommend_orders"))


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# --- each workload source ----------------------------------------------------------------------------------

def test_query(orders_db):
    doc = recommend(orders_db, "--query", BY_CUSTOMER)
    assert picks(doc) == [("public.orders", ["customer_id"])]
    rec = doc["recommendations"][0]
    assert rec["definition"] == ('CREATE INDEX CONCURRENTLY "orders_customer_id_idx" ON "public"."orders" '
                                 'USING btree ("customer_id");')
    assert rec["verified"] is True
    assert [s["origin"] for s in rec["statements"]] == ["--query 1"]
    assert doc["workload"]["sources"] == ["query"]
    assert doc["workload"]["cost_after"] < doc["workload"]["cost_before"]


def test_from_file_and_positional_file(orders_db, tmp_path):
    path = tmp_path / "workload.sql"
    path.write_text(f"-- the customer page\n{BY_CUSTOMER};\n\n{BY_CUSTOMER.lower()};\n")
    for args in (["--from", str(path)], [str(path)]):
        doc = recommend(orders_db, *args)
        assert picks(doc) == [("public.orders", ["customer_id"])], args
        statements = doc["recommendations"][0]["statements"]
        assert [(s["origin"], s["weight"]) for s in statements] == [(f"{path}:2", 2.0)], args  # merged: 2 calls
        assert doc["workload"]["sources"] == [f"file:{path}"]


def test_stdin(orders_db):
    for args in (["-"], ["--from", "-"]):
        doc = recommend(orders_db, *args, stdin=f"{BY_TOTAL};\n")
        assert picks(doc) == [("public.orders", ["total"])], args
        assert doc["recommendations"][0]["statements"][0]["origin"] == "stdin:1"
        assert doc["workload"]["sources"] == ["stdin"]


LOG = """\
2024-05-01 12:00:00.100 UTC [1200] LOG:  checkpoint starting: time
2024-05-01 12:00:01.001 UTC [1300] LOG:  duration: 31.500 ms  execute <unnamed>: SELECT id, total
\tFROM orders
\tWHERE customer_id = $1
2024-05-01 12:00:01.001 UTC [1300] DETAIL:  parameters: $1 = '42'
2024-05-01 12:00:02.000 UTC [1303] ERROR:  relation "nope" does not exist at character 15
2024-05-01 12:00:02.000 UTC [1303] STATEMENT:  SELECT * FROM nope
2024-05-01 12:00:03.001 UTC [1300] LOG:  duration: 30.100 ms  execute <unnamed>: SELECT id, total
\tFROM orders
\tWHERE customer_id = $1
2024-05-01 12:00:03.001 UTC [1300] DETAIL:  parameters: $1 = '42'
"""


def test_log(orders_db, tmp_path):
    path = tmp_path / "postgresql.log"
    path.write_text(LOG)
    doc = recommend(orders_db, "--log", str(path))
    assert picks(doc) == [("public.orders", ["customer_id"])]
    [statement] = doc["recommendations"][0]["statements"]
    assert statement["query"] == "SELECT id, total\nFROM orders\nWHERE customer_id = '42'"
    assert (statement["origin"], statement["weight"]) == (f"{path}:2", 2.0)
    assert doc["workload"]["sources"] == [f"log:{path}"]


def test_log_without_statements_is_a_one_line_usage_error(orders_db, tmp_path):
    path = tmp_path / "quiet.log"
    path.write_text("2024-05-01 12:00:00.100 UTC [1200] LOG:  checkpoint starting: time\n")
    code, out, err = perftool("indexes", "recommend", "--dsn", orders_db, "--log", str(path))
    assert (code, out) == (2, "")
    assert one_error_line(err) == (f"perftool: error: {path}: no statements with durations found "
                                   "(log them with log_min_duration_statement = 0, or a threshold in ms)")


def test_missing_sql_file_is_a_one_line_usage_error(orders_db, tmp_path):
    code, out, err = perftool("indexes", "recommend", "--dsn", orders_db, str(tmp_path / "nope.sql"))
    assert (code, out) == (2, "")
    assert one_error_line(err) == f"perftool: error: cannot read {tmp_path / 'nope.sql'}: No such file or directory"


def test_pg_stat_statements_by_default(fresh_db):
    # pg_stat_statements is shared by the cluster (so no reset: other tests' entries stay), but perftool
    # reads the entries of the database it is connected to, and this database is new
    setup_orders(fresh_db)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        for customer in range(5):
            conn.execute("SELECT id, total FROM orders WHERE customer_id = %s", (customer,))
        conn.execute("SELECT count(*) FROM orders WHERE total = %s", (5,))   # once: below --min-calls 2
    doc = recommend(fresh_db, "--min-calls", "2")
    assert doc["workload"]["sources"] == ["pg_stat_statements"]
    assert picks(doc) == [("public.orders", ["customer_id"])]
    [statement] = doc["recommendations"][0]["statements"]
    assert statement["query"] == "SELECT id, total FROM orders WHERE customer_id = $1"
    assert statement["weight"] == 5.0
    assert statement["origin"].startswith("queryid:")
    doc = recommend(fresh_db)   # every statement with a call
    assert sorted(picks(doc)) == [("public.orders", ["customer_id"]), ("public.orders", ["total"])]


# --- output --------------------------------------------------------------------------------------------------

def test_json_stdout_is_only_json_and_progress_goes_to_stderr(orders_db):
    code, out, err = perftool("-v", "indexes", "recommend", "--dsn", orders_db, "-q", BY_CUSTOMER, "-f", "json")
    assert code == 0, err
    doc = json.loads(out)          # nothing but the document on stdout
    assert doc["command"] == "indexes recommend"
    assert "costing hypothetical indexes" in err
    assert "1 of 1 statements analysable" in err
    assert "statements analysable" not in out


def test_output_file(orders_db, tmp_path):
    target = tmp_path / "advice.json"
    code, out, err = perftool("indexes", "recommend", "--dsn", orders_db, "-q", BY_CUSTOMER, "-f", "json",
                              "-o", str(target))
    assert (code, out) == (0, ""), err
    assert picks(json.loads(target.read_text())) == [("public.orders", ["customer_id"])]


def test_table_and_markdown(orders_db):
    definition = 'CREATE INDEX CONCURRENTLY "orders_customer_id_idx" ON "public"."orders" USING btree ("customer_id");'
    code, out, err = perftool("indexes", "recommend", "--dsn", orders_db, "-q", BY_CUSTOMER, "--format", "table")
    assert code == 0, err
    assert "1 recommended index(es): estimated workload cost" in out
    assert "public.orders (customer_id)" in out
    assert definition in out
    assert "A101  missing index: public.orders (customer_id)" in out
    code, out, err = perftool("indexes", "recommend", "--dsn", orders_db, "-q", BY_CUSTOMER, "--format", "markdown")
    assert code == 0, err
    assert out.startswith("# perftool indexes recommend\n")
    assert "## 1 recommended index(es)" in out
    assert "| 1 | public.orders (customer_id) |" in out
    assert f"```sql\n{definition}\n```" in out


def test_fail_on_warning_exits_1_when_an_index_is_recommended(orders_db):
    code, out, err = perftool("indexes", "recommend", "--dsn", orders_db, "-q", BY_CUSTOMER, "-f", "json",
                              "--fail-on", "warning")
    assert code == 1, err
    assert picks(json.loads(out)) == [("public.orders", ["customer_id"])]


# --- options -------------------------------------------------------------------------------------------------

def test_no_whatif_is_labelled_unverified(orders_db):
    doc = recommend(orders_db, "-q", BY_CUSTOMER, "--no-whatif")
    assert picks(doc) == [("public.orders", ["customer_id"])]
    assert doc["recommendations"][0]["verified"] is False
    assert doc["workload"]["verified"] is False
    assert [f["code"] for f in doc["findings"]] == ["A101", "A103"]
    assert doc["findings"][0]["title"] == "missing index: public.orders (customer_id) (unverified heuristic)"
    code, out, _err = perftool("indexes", "recommend", "--dsn", orders_db, "-q", BY_CUSTOMER, "--no-whatif")
    assert code == 0
    assert "UNVERIFIED (--no-whatif)" in out


BY_ID = "SELECT * FROM orders WHERE id = 5"


def test_explain_choice_lists_runner_ups_with_reasons(orders_db):
    workload = ["-q", BY_CUSTOMER, "-q", BY_ID, "-q", BY_TOTAL]
    plain = recommend(orders_db, *workload)
    assert "runner_ups" not in plain and "steps" not in plain
    doc = recommend(orders_db, *workload, "--explain-choice")
    assert sorted(picks(doc)) == [("public.orders", ["customer_id"]), ("public.orders", ["total"])]
    chosen = {f["title"].removeprefix("missing index: ") for f in doc["findings"] if f["code"] == "A101"}
    assert chosen == {"public.orders (customer_id)", "public.orders (total)"}
    runners = doc["runner_ups"]
    assert {"index": "public.orders (id)", "benefit": None, "size_bytes": None,
            "reason": "already covered by existing index orders_pkey"} in runners
    for row in runners:
        assert set(row) == {"index", "benefit", "size_bytes", "reason"}
        assert row["reason"].strip()
        assert row["index"] not in chosen            # a runner-up is something that was not recommended
    assert [s["action"] for s in doc["steps"]] == ["add", "add"]
    assert {s["index"] for s in doc["steps"]} == chosen
    code, out, _err = perftool("indexes", "recommend", "--dsn", orders_db, *workload, "--explain-choice")
    assert code == 0
    assert "Why other candidates lost" in out
    assert "already covered by existing index orders_pkey" in out


def test_explain_choice_names_the_index_cut_by_max_indexes(orders_db):
    doc = recommend(orders_db, "-q", BY_CUSTOMER, "-q", BY_TOTAL, "--max-indexes", "1", "--explain-choice")
    [(table, [column])] = picks(doc)
    loser = "customer_id" if column == "total" else "total"
    assert len(doc["steps"]) == 1
    assert {"index": f"public.orders ({loser})", "reason": "--max-indexes reached"} in [
        {"index": r["index"], "reason": r["reason"]} for r in doc["runner_ups"]]


def test_budget_is_honoured(orders_db):
    doc = recommend(orders_db, "-q", BY_CUSTOMER, "--budget", "1kB")
    assert doc["recommendations"] == []
    assert doc["workload"]["budget_bytes"] == 1024
    assert doc["workload"]["recommended_bytes"] == 0
    doc = recommend(orders_db, "-q", BY_CUSTOMER, "--budget", "10MB")
    assert picks(doc) == [("public.orders", ["customer_id"])]
    assert doc["workload"]["recommended_bytes"] <= 10 * 1024 * 1024


def test_budget_nonsense_is_a_usage_error_before_connecting():
    code, out, err = perftool("indexes", "recommend", "--dsn", NOWHERE, "-q", BY_CUSTOMER, "--budget", "nonsense")
    assert (code, out) == (2, "")
    assert one_error_line(err) == ("perftool: error: invalid --budget 'nonsense' "
                                   "(use a number with a unit: 500kB, 10MB, 1.5GiB, 2GB)")


def test_max_indexes(orders_db):
    args = ["-q", BY_CUSTOMER, "-q", BY_TOTAL, "-q", BY_STATUS]
    assert len(recommend(orders_db, *args)["recommendations"]) >= 2
    doc = recommend(orders_db, *args, "--max-indexes", "1")
    assert len(doc["recommendations"]) == 1
    assert doc["recommendations"][0]["table"] == "public.orders"
    assert doc["workload"]["max_indexes"] == 1


# --- could not complete ------------------------------------------------------------------------------------

def test_bad_dsn_exits_3_with_one_line():
    code, out, err = perftool("indexes", "recommend", "--dsn", NOWHERE, "-q", BY_CUSTOMER)
    assert (code, out) == (3, "")
    line = one_error_line(err)
    assert line.startswith("perftool: error: cannot connect to 127.0.0.1:1/nowhere")


def test_without_hypopg_exits_3_naming_it_and_no_whatif_still_works(fresh_db):
    setup_orders(fresh_db)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("DROP EXTENSION hypopg")
    code, out, err = perftool("indexes", "recommend", "--dsn", fresh_db, "-q", BY_CUSTOMER)
    assert (code, out) == (3, "")
    line = one_error_line(err)
    assert "extension hypopg is not installed" in line
    assert "--no-whatif" in line
    doc = recommend(fresh_db, "-q", BY_CUSTOMER, "--no-whatif")
    assert picks(doc) == [("public.orders", ["customer_id"])]
    assert doc["recommendations"][0]["verified"] is False
    assert "A103" in [f["code"] for f in doc["findings"]]
