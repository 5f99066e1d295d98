"""`perftool explain` on the real command line: inputs (argument, -f FILE, stdin, --plan, --top),
exit codes (2 for refusals and bad plans), stdout holding only the result and notes on stderr,
every report format."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import yaml

CORPUS = Path(__file__).parent.parent / "fixtures" / "plans"


def perftool(*args, stdin=None, timeout=120):
    proc = subprocess.run([sys.executable, "-m", "perftool", *args], capture_output=True, text=True,
                          input=stdin if stdin is not None else "", env={**os.environ}, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def shop(fresh_db):
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY, status text, total int)")
        conn.execute("INSERT INTO orders SELECT g, (ARRAY['open','paid','void'])[1 + g % 3], g % 500 "
                     "FROM generate_series(1, 20000) g")
        conn.execute("ANALYZE orders")
    return fresh_db


def test_table_output_is_the_plan_tree(shop):
    code, out, err = perftool("explain", "--dsn", shop, "SELECT count(*) FROM orders WHERE total = 7")
    assert code == 0, err
    assert "Plan (argument): ran" in out and "Aggregate" in out and "└─ Seq Scan on public.orders" in out
    assert "P103" in out and "Proven with HypoPG" in out and "CREATE INDEX" in out, out
    assert "Traceback" not in err


@pytest.mark.parametrize("fmt", ["json", "yaml", "markdown", "csv"])
def test_formats(shop, fmt):
    code, out, err = perftool("explain", "--dsn", shop, "--format", fmt, "SELECT * FROM orders WHERE id = 5")
    assert code == 0, err
    if fmt == "json":
        doc = json.loads(out)
        assert doc["command"] == "explain" and doc["plan"][0]["node_type"] == "Index Scan"
        assert doc["statements"][0]["mode"] == "analyze"
    elif fmt == "yaml":
        assert yaml.safe_load(out)["plan"][0]["relation"] == "orders"
    else:
        assert "Index Scan" in out


def test_file_and_stdin(shop, tmp_path):
    sql = tmp_path / "q.sql"
    sql.write_text("SELECT 1;\n-- second\nSELECT count(*) FROM orders;\n")
    code, out, _ = perftool("explain", "--dsn", shop, "-f", str(sql), "--format", "json")
    assert code == 0 and [s["origin"] for s in json.loads(out)["statements"]] == [f"{sql}:1", f"{sql}:3"]
    code, out, _ = perftool("explain", "--dsn", shop, "--format", "json", stdin="SELECT count(*) FROM orders")
    assert code == 0 and json.loads(out)["statements"][0]["origin"] == "stdin"


@pytest.mark.parametrize("statement", ["DROP TABLE orders", "SELECT 1; SELECT 2", "DELETE FROM orders",
                                       "COPY orders TO STDOUT", "DO $$BEGIN END$$"])
def test_refusals_exit_2_with_one_line(shop, statement):
    code, out, err = perftool("explain", "--dsn", shop, statement)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("perftool: error:")
    with psycopg.connect(shop) as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] == 20000


def test_allow_dml_changes_nothing(shop):
    code, out, err = perftool("explain", "--dsn", shop, "--allow-dml", "--format", "json",
                              "DELETE FROM orders WHERE status = 'void'")
    assert code == 0, err
    assert json.loads(out)["plan"][0]["node"] == "Delete on public.orders"
    assert "rolled back" in err
    with psycopg.connect(shop) as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] == 20000


def test_timeout_fallback_is_said_on_stderr_and_in_the_report(shop):
    code, out, err = perftool("explain", "--dsn", shop, "--timeout", "200ms", "--format", "json",
                              "SELECT pg_sleep(3), count(*) FROM orders")
    assert code == 0
    doc = json.loads(out)
    assert doc["statements"][0]["mode"] == "estimates" and "plain EXPLAIN" in err
    assert any("--timeout" in n for n in doc["notes"])


def test_generic_plan_and_params(shop):
    code, out, err = perftool("explain", "--dsn", shop, "--format", "json", "SELECT * FROM orders WHERE status = $1")
    assert code == 0 and json.loads(out)["statements"][0]["mode"] == "generic" and "estimates only" in err
    code, out, _ = perftool("explain", "--dsn", shop, "--format", "json", "--param", "paid",
                            "SELECT * FROM orders WHERE status = $1")
    assert code == 0 and json.loads(out)["plan"][0]["rows"] == 6667


def test_top_from_pg_stat_statements(shop):
    with psycopg.connect(shop) as conn:
        for _ in range(3):
            conn.execute("SELECT count(*) FROM orders WHERE total > 100").fetchall()
    code, out, err = perftool("explain", "--dsn", shop, "--top", "1", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert len(doc["statements"]) == 1 and doc["statements"][0]["origin"].startswith("queryid:")


@pytest.mark.parametrize("name", ["parallel.json", "parallel.txt", "parallel.psql-json.txt", "disk_sort.txt"])
def test_plan_file_needs_no_server(name):
    code, out, err = perftool("--dsn", "postgresql://127.0.0.1:1/none", "explain", "--plan", str(CORPUS / name),
                              "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["plan"][0]["node"] in ("Finalize GroupAggregate", "Gather Merge")
    assert any(r["time_uncertain"] for r in doc["plan"])


def test_plan_from_stdin_and_a_bad_plan(tmp_path):
    code, out, _ = perftool("explain", "--plan", "-", stdin=(CORPUS / "cte.txt").read_text())
    assert code == 0 and "CTE Scan on big" in out
    bad = tmp_path / "bad.json"
    bad.write_text('{"Plan": {"Plans": [1]}}')
    code, out, err = perftool("explain", "--plan", str(bad))
    assert code == 2 and out == "" and "not an EXPLAIN plan" in err


def test_fail_on_gates_on_tips():
    code, _, _ = perftool("explain", "--plan", str(CORPUS / "disk_sort.json"), "--fail-on", "warning")
    assert code == 1
    code, _, _ = perftool("explain", "--plan", str(CORPUS / "disk_sort.json"))
    assert code == 0


def test_compare_is_a_gate(tmp_path):
    same = ["explain", "--compare", str(CORPUS / "nested_loop.json"), "--compare", str(CORPUS / "nested_loop.json")]
    code, out, _ = perftool(*same, "--fail-on", "info")
    assert code == 0 and "Findings: none" in out
    doc = json.loads((CORPUS / "nested_loop.json").read_text())
    doc[0]["Plan"]["Plans"][1].update({"Node Type": "Seq Scan", "Actual Total Time": 50.0})
    worse = tmp_path / "b.json"
    worse.write_text(json.dumps(doc))
    code, out, _ = perftool("explain", "--compare", str(CORPUS / "nested_loop.json"), "--compare", str(worse),
                            "--fail-on", "warning", "--format", "json")
    assert code == 1 and {f["code"] for f in json.loads(out)["findings"]} == {"P112"}
    code, _, err = perftool("explain", "--compare", str(worse))
    assert code == 2 and "two plan files" in err


def test_queryid_gets_a_generic_plan_and_a_write_is_refused(shop):
    with psycopg.connect(shop, autocommit=True) as conn:
        conn.execute("SELECT * FROM orders WHERE status = 'paid' AND total > 5").fetchall()
        conn.execute("UPDATE orders SET total = total WHERE id = 1")
        rows = conn.execute("SELECT queryid, query FROM pg_stat_statements JOIN pg_database d ON d.oid = dbid "
                            "WHERE d.datname = current_database() AND query NOT LIKE '%pg_stat_statements%' "
                            "AND (query LIKE 'SELECT * FROM orders WHERE status%' OR query LIKE 'UPDATE orders%')"
                            ).fetchall()
    by_kind = {("UPDATE" if q.startswith("UPDATE") else "SELECT"): qid for qid, q in rows}
    code, out, err = perftool("explain", "--dsn", shop, "--queryid", str(by_kind["SELECT"]), "--format", "json")
    assert code == 0, err
    st = json.loads(out)["statements"][0]
    assert st["mode"] == "generic" and "$1" in st["text"] and st["origin"] == f"queryid:{by_kind['SELECT']}"
    code, out, err = perftool("explain", "--dsn", shop, "--queryid", str(by_kind["UPDATE"]))
    assert code == 2 and "--allow-dml" in err
    code, _, err = perftool("explain", "--dsn", shop, "--queryid", "12345")
    assert code == 2 and "not in pg_stat_statements" in err


@pytest.fixture
def secret_shop(fresh_db):
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA zqsales")
        conn.execute("CREATE TABLE zqsales.zqorders (id int PRIMARY KEY, zqstate text, zqamount int)")
        conn.execute("INSERT INTO zqsales.zqorders SELECT g, (ARRAY['xjopen','xjpaid','xjvoid'])[1 + g % 3], "
                     "g % 500 FROM generate_series(1, 20000) g")
        conn.execute("ANALYZE zqsales.zqorders")
    return fresh_db


@pytest.mark.parametrize("fmt", ["table", "json", "sarif", "markdown"])
def test_anonymize_a_real_run_with_its_proof(secret_shop, fmt, tmp_path):
    """The statement runs and its index tip is proven as usual; nothing printed or written names the
    schema, table, columns, literals or the advisor's index."""
    out_file = tmp_path / "out"
    statement = "SELECT o.id FROM zqsales.zqorders o WHERE o.zqstate = 'xjpaid' AND o.zqamount = 4242"
    code, out, err = perftool("explain", "--dsn", secret_shop, "--anonymize", "--format", fmt,
                              "-o", str(out_file), statement)
    assert code == 0, err
    written = out_file.read_text()
    for secret in ("zq", "xj", "4242", "t_test_anonymize"):
        assert secret not in written and secret not in err and secret not in out, (secret, fmt)
    if fmt == "json":
        doc = json.loads(written)
        tip = next(f for f in doc["findings"] if f["code"] == "P103")
        assert tip["evidence"]["verified"] and "CREATE INDEX" in tip["fix"]
        assert doc["statements"][0]["text"].startswith("SELECT a1.")
        assert doc["server"]["database"] == "anonymized"
        shared = tmp_path / "shared.json"
        shared.write_text(json.dumps(doc["statements"][0]["explain"]))
        code, again, err = perftool("explain", "--plan", str(shared), "--format", "json")
        assert code == 0, err
        assert [r["node_type"] for r in json.loads(again)["plan"]] == [r["node_type"] for r in doc["plan"]]


def test_anonymize_hides_names_in_a_refusal_too(secret_shop):
    with psycopg.connect(secret_shop, autocommit=True) as conn:
        conn.execute("CREATE FUNCTION zqsales.zqbump() RETURNS int LANGUAGE plpgsql AS $$BEGIN RETURN 1; END$$")
    code, out, err = perftool("explain", "--dsn", secret_shop, "--anonymize",
                              "SELECT zqsales.zqbump() FROM zqsales.zqorders WHERE zqstate = 'xjpaid'")
    assert code == 2 and "volatile function" in err and out == ""
    assert "zq" not in err and "xj" not in err, err
