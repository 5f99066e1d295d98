"""`perftool indexes generate | lint` on the command line: stdout or -o DIR, exit codes, the CI
formats; and the whole path on a real server: `indexes recommend -f json | indexes generate --from -`,
the generated SQL run, the index valid, `indexes lint` clean."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.cli.fast_runner import invoke

FIXTURES = Path(__file__).parent.parent / "fixtures" / "migrations"


def perftool(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "perftool", *args], capture_output=True, text=True,
                          input=stdin, env={**os.environ}, timeout=180)
    return proc.returncode, proc.stdout, proc.stderr


def test_generate_to_stdout_and_to_a_directory(tmp_path):
    out = invoke(["indexes", "generate", str(FIXTURES / "changes.yaml"), "--framework", "goose",
                  "--stamp", "1"])
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith("-- +goose NO TRANSACTION")
    wrote = invoke(["indexes", "generate", str(FIXTURES / "recommend.json"), "--framework", "prisma",
                    "--stamp", "7", "--name", "Add Indexes", "-o", str(tmp_path)])
    assert wrote.exit_code == 0 and wrote.stdout == ""
    assert (tmp_path / "701_add_indexes_01" / "migration.sql").exists()
    again = invoke(["indexes", "generate", str(FIXTURES / "recommend.json"), "--framework", "prisma",
                    "--stamp", "7", "--name", "Add Indexes", "-o", str(tmp_path)])
    assert again.exit_code == 2 and "not overwritten" in again.output


def test_generate_reads_stdin():
    text = (FIXTURES / "diff.json").read_text()
    out = invoke(["indexes", "generate", "-", "--framework", "sql", "--stamp", "1", "--include-drops"], input=text)
    assert out.exit_code == 0
    assert 'DROP INDEX CONCURRENTLY IF EXISTS "public"."orders_status_idx"' in out.stdout


def test_generate_usage_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("{changes: [{table: t}]}")
    for args, message in [
        (["--framework", "liquibase"], "unknown framework"),
        (["--stamp", "x1"], "--stamp must be digits"),
        (["--lock-timeout", "soon"], "--lock-timeout"),
        ([str(bad)], "columns"),
        ([str(tmp_path / "missing.json")], "cannot read"),
        ([], "give one of FILE"),
    ]:
        args = args if len(args) < 2 else [*args, str(FIXTURES / "changes.yaml")]
        result = invoke(["indexes", "generate", *args])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output


def test_lint_exit_codes_and_github_format(tmp_path):
    (tmp_path / "V1__idx.sql").write_text("SET lock_timeout = '1s';\nCREATE INDEX CONCURRENTLY a ON t (a);\n")
    failing = invoke(["indexes", "lint", str(tmp_path), "-f", "github"])
    assert failing.exit_code == 1
    assert failing.stdout.startswith("::error file=") and "M101" in failing.stdout
    passing = invoke(["indexes", "lint", str(tmp_path), "--fail-on", "never", "-f", "json"])
    assert passing.exit_code == 0 and json.loads(passing.stdout)["findings"][0]["code"] == "M101"
    clean = tmp_path / "clean"
    clean.mkdir()
    assert invoke(["indexes", "generate", str(FIXTURES / "changes.yaml"), "--framework", "flyway",
                   "-o", str(clean)]).exit_code == 0
    assert invoke(["indexes", "lint", str(clean), "--fail-on", "info"]).exit_code == 0
    assert invoke(["indexes", "lint", str(tmp_path / "nope")]).exit_code == 2


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_generate_any_input_is_an_answer_or_exit_2(text):
    result = invoke(["indexes", "generate", "-", "--framework", "sql", "--stamp", "1"], input=text)
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output and "internal error" not in result.output


def test_recommend_to_generate_to_server(fresh_db, sql, tmp_path):
    sql(fresh_db, """CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL, total numeric);
                     INSERT INTO orders SELECT g, g % 5000, g % 100 FROM generate_series(1, 50000) g;""")
    sql(fresh_db, "VACUUM ANALYZE orders")
    code, advice, err = perftool("indexes", "recommend", "--dsn", fresh_db, "-q",
                                 "SELECT id FROM orders WHERE customer_id = 42", "-f", "json")
    assert code == 0, err
    code, _, err = perftool("indexes", "generate", "-", "--framework", "sql", "--stamp", "1",
                            "-o", str(tmp_path), stdin=advice)
    assert code == 0, err
    up = tmp_path / "1_perftool_indexes.sql"
    assert "cost" in up.read_text()                          # why: before → after cost of the statement
    import psycopg

    from perftool.workload.sources import split_statements

    with psycopg.connect(fresh_db, autocommit=True) as conn:
        for _, statement in split_statements(up.read_text()):
            conn.execute(statement.encode())
        valid = conn.execute("SELECT bool_and(indisvalid), count(*) FROM pg_index WHERE indrelid = 'orders'::regclass "
                             "AND NOT indisprimary").fetchone()
    assert valid == (True, 1)
    assert perftool("indexes", "lint", str(tmp_path))[0] == 0


def test_generate_recommend_and_apply_from_recommend_run_the_advisor(fresh_db, sql):
    sql(fresh_db, """CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL, total numeric);
                     INSERT INTO orders SELECT g, g % 5000, g % 100 FROM generate_series(1, 50000) g;""")
    sql(fresh_db, "VACUUM ANALYZE orders")
    for i in range(20):
        sql(fresh_db, "SELECT id FROM orders WHERE customer_id = %s", (i,))
    code, out, err = perftool("indexes", "generate", "--recommend", "--dsn", fresh_db, "--framework", "sql",
                              "--stamp", "1")
    assert code == 0, err
    assert "ON \"public\".\"orders\" USING btree (\"customer_id\")" in out
    code, out, err = perftool("indexes", "apply", "--from-recommend", "--dsn", fresh_db, "--dry-run", "-f", "json")
    assert code == 0, err
    (row,) = json.loads(out)["changes"]
    assert row["status"] == "planned" and row["index"].startswith("public.orders_customer_id")
