"""The real command line: exit codes, the stdout/stderr split, -o FILE, formats, error lines."""

import json
import os
import subprocess
import sys
import time

import psycopg
import pytest
from typer.testing import CliRunner

from perftool import __version__
from perftool.cli.app import app

runner = CliRunner()


def perftool(*args, env=None, timeout=60):
    """Run perftool as a real subprocess (not a TTY): returns (code, stdout, stderr)."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "perftool", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def busy_db(fresh_db):
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        for i in range(12):
            conn.execute("SELECT count(*) FROM t WHERE v = %s", (str(i),))
        conn.execute("SELECT pg_sleep(0.05)")
    return fresh_db


def test_version_and_help_start_fast():
    code, out, err = perftool("--version")
    assert code == 0 and out.strip() == f"perftool {__version__}"
    t0 = time.monotonic()
    code, out, _ = perftool("--help")
    assert code == 0
    listed = {line.split()[0] for line in out.split("Commands:")[1].splitlines() if line.strip()}
    assert listed == {"queries", "analyze", "explain", "indexes", "pool", "replicas", "sandbox", "demo"}
    # --help must not import the heavy libraries (the < 300 ms goal is measured in make bench)
    probe = subprocess.run(
        [sys.executable, "-c", "import sys; sys.argv=['perftool','--help']\n"
         "from perftool.cli.app import main\ntry:\n main()\nexcept SystemExit: pass\n"
         "bad=[m for m in ('psycopg','sqlglot','rich.table','yaml','tabulate') if m in sys.modules]\n"
         "sys.stderr.write(repr(bad))"], capture_output=True, text=True)
    assert probe.stderr.strip() == "[]"
    assert time.monotonic() - t0 < 30


def test_json_to_stdout_only(busy_db):
    code, out, err = perftool("queries", "--dsn", busy_db, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["command"] == "queries"
    assert err == ""  # not a TTY, not verbose: nothing on stderr
    row = next(r for r in doc["statements"] if "FROM t WHERE v = $1" in r["query"])
    assert row["calls"] == 12


def test_global_options_before_the_command(busy_db):
    code, out, err = perftool("--dsn", busy_db, "--format", "csv", "queries", "--sort", "calls", "-n", "1")
    assert code == 0, err
    assert out.splitlines()[0].startswith("rank,query,calls,total_ms")  # no "#" lines
    assert "queryid" in out.splitlines()[0]  # one section: plain CSV, no '#' lines
    assert "FROM t WHERE v = $1" in out.splitlines()[1]


def test_output_file(busy_db, tmp_path):
    target = tmp_path / "report.md"
    code, out, err = perftool("queries", "--dsn", busy_db, "-f", "markdown", "-o", str(target))
    assert code == 0, err
    assert out == ""
    assert target.read_text().startswith("# perftool queries")


def test_database_url_environment(busy_db):
    code, out, _ = perftool("queries", "-f", "yaml", env={"DATABASE_URL": busy_db})
    assert code == 0 and "command: queries" in out


def test_fail_on_gates_the_exit_code(busy_db):
    code, out, _ = perftool("queries", "--dsn", busy_db, "--slow-ms", "20", "--fail-on", "warning")
    assert code == 1 and "Q101" in out
    code, _, _ = perftool("queries", "--dsn", busy_db, "--slow-ms", "20", "--fail-on", "error")
    assert code == 0


@pytest.mark.parametrize("args, code, needle", [
    (["queries", "--dsn", "postgresql://bob:hunter2@127.0.0.1:1/app"], 3, "cannot connect to 127.0.0.1:1/app"),
    (["queries", "--dsn", "host=127.0.0.1 port=1 password=hunter2 nonsense"], 2, "invalid DSN"),
    (["queries", "--sort", "bogus", "--dsn", "postgresql://127.0.0.1:1/x"], 2, "Invalid value for '--sort' / '-s': 'bogus' is not one of 'total', 'mean',"),
    (["queries", "--format", "bogus", "--dsn", "postgresql://127.0.0.1:1/x"], 2, "unknown format 'bogus'"),
    (["queries", "--fail-on", "sometimes", "--dsn", "postgresql://127.0.0.1:1/x"], 2, "Invalid value for '--fail-on': 'sometimes' is not one of 'info', 'warning', 'error', 'never'"),
])
def test_errors_are_one_line_without_secrets(args, code, needle):
    rc, out, err = perftool(*args)
    assert rc == code, err
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("perftool: error: ") and needle in lines[0]
    assert "hunter2" not in err and "Traceback" not in err


def test_missing_database_and_debug_traceback(sandbox):
    dsn = sandbox.url("no_such_database_here")
    rc, out, err = perftool("queries", "--dsn", dsn)
    assert rc == 3 and "does not exist" in err and "check the database name" in err
    rc, out, err = perftool("--debug", "queries", "--dsn", dsn)
    assert rc != 0 and "Traceback" in err


def test_wrong_password_is_exit_3(sandbox, sql):
    """A role that must authenticate with a password (one pg_hba line for it alone)."""
    import pwd
    import shutil

    hba = sandbox.data_dir / "pg_hba.conf"
    original = hba.read_text()
    if "perftool_pw_user" not in original:
        stat = hba.stat()
        hba.write_text("host all perftool_pw_user 127.0.0.1/32 scram-sha-256\n" + original)
        os.chown(hba, stat.st_uid, stat.st_gid)
    admin = sandbox.url("postgres")
    sql(admin, "DO $$BEGIN CREATE ROLE perftool_pw_user LOGIN PASSWORD 'right-one'; "
               "EXCEPTION WHEN duplicate_object THEN NULL; END$$")
    sql(admin, "SELECT pg_reload_conf()")
    time.sleep(0.3)
    bad = admin.replace("postgres@", "perftool_pw_user:wrong-one@")
    rc, out, err = perftool("queries", "--dsn", bad)
    assert rc == 3
    assert "password authentication failed" in err and "wrong-one" not in err
    assert "check the user and password" in err
    assert shutil.which("true") and pwd  # keep imports used


def test_missing_extension_exit_3(fresh_db):
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("DROP EXTENSION pg_stat_statements")
    rc, out, err = perftool("queries", "--dsn", fresh_db)
    assert rc == 3 and out == ""
    assert "pg_stat_statements is not installed" in err and "CREATE EXTENSION" in err


def test_cli_runner_in_process(busy_db):
    result = runner.invoke(app, ["queries", "--dsn", busy_db, "-f", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["command"] == "queries"
    result = runner.invoke(app, ["queries", "--dsn", "postgresql://127.0.0.1:1/x"])
    assert result.exit_code == 3


def test_broken_pipe_is_quiet(busy_db):
    proc = subprocess.run(f"{sys.executable} -m perftool queries --dsn '{busy_db}' -f json | head -c 10",
                          shell=True, capture_output=True, text=True)
    assert "Traceback" not in proc.stderr


def test_console_exit_flushes_and_keeps_the_code():
    """`python -m perftool` and the console script end through cli.app.console (os._exit, no
    interpreter teardown): what was written is all there, and the exit code is the command's."""
    for code, expected_rc, expected_err in ((None, 0, ""), (3, 3, ""), ("bye", 1, "bye")):
        proc = subprocess.run(
            [sys.executable, "-c", "import sys\nfrom perftool.cli.app import _exit_now\n"
             "sys.stdout.write('x' * 200000)\nsys.stderr.write('e')\n"
             f"_exit_now({code!r})\nprint('not reached')"], capture_output=True, text=True)
        assert proc.returncode == expected_rc
        assert proc.stdout == "x" * 200000
        assert proc.stderr.strip() == "e" + expected_err
    code, out, err = perftool("analyze", "--dsn", "postgresql://nobody@127.0.0.1:1/none")
    assert code == 3 and out == "" and "cannot connect" in err
