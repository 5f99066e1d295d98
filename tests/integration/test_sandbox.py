"""The sandbox: idempotent start, extensions in new databases, the CLI, and a non-root user."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import psycopg
import pytest

from perftool.sandbox import SERVER_SETTINGS

ROOT = Path(__file__).resolve().parents[2]


def test_start_is_idempotent_and_settings_applied(sandbox):
    dsn = sandbox.url()
    assert sandbox.start() == dsn  # already running: same DSN, nothing restarted
    with psycopg.connect(dsn) as conn:
        settings = dict(conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN ('shared_preload_libraries', 'track_io_timing', "
            "'pg_stat_statements.track', 'listen_addresses')").fetchall())
    assert settings == {"shared_preload_libraries": "pg_stat_statements", "track_io_timing": "on",
                        "pg_stat_statements.track": "all", "listen_addresses": "127.0.0.1"}
    assert SERVER_SETTINGS["listen_addresses"] == "'127.0.0.1'"
    status = sandbox.status()
    assert status["running"] and status["port"] == int(dsn.split(":")[2].split("/")[0])
    assert "pg_stat_statements" in status["extensions"] and "hypopg" in status["extensions"]


def test_new_databases_have_the_extensions(fresh_db):
    with psycopg.connect(fresh_db) as conn:
        names = {r[0] for r in conn.execute("SELECT extname FROM pg_extension")}
        assert {"pg_stat_statements", "hypopg"} <= names
        # HypoPG works: a hypothetical index changes a plain EXPLAIN
        conn.execute("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 10000) g")
        conn.execute("ANALYZE t")
        conn.execute("SELECT * FROM hypopg_create_index('CREATE INDEX ON t (id)')")
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN SELECT * FROM t WHERE id = 5"))
        assert "<" in plan and "btree_t_id" in plan


def test_cli_status_url_and_server_user(sandbox):
    out = subprocess.run([sys.executable, "-m", "perftool", "sandbox", "status", "--json"],
                         capture_output=True, text=True, check=True).stdout
    st = json.loads(out)
    assert st["running"] is True and st["directory"] == str(sandbox.root)
    url = subprocess.run([sys.executable, "-m", "perftool", "sandbox", "url", "mydb"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert url == sandbox.url("mydb")
    owner = sandbox.data_dir.stat().st_uid
    if os.geteuid() == 0:
        assert owner != 0  # initdb refuses root: the cluster belongs to an unprivileged user


def test_stop_and_start_again_keeps_data(sandbox, sandbox_dsn_factory):
    dsn = sandbox_dsn_factory("t_sandbox_restart")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (id int)")
        conn.execute("INSERT INTO kept VALUES (42)")
    sandbox.stop()
    assert not sandbox.running()
    assert sandbox.start() == sandbox.url()
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT id FROM kept").fetchone() == (42,)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("runuser"), reason="needs root to become another user")
def test_a_normal_user_runs_its_own_sandbox():
    """As an unprivileged user (postgres here) the sandbox lives under that user's ~/.cache."""
    system_python = "/usr/bin/python3"
    if not Path(system_python).exists():
        pytest.skip("no system python3 to run as another user")
    minor = subprocess.run([system_python, "-c", "import sys; print(sys.version_info[:2])"],
                           capture_output=True, text=True).stdout.strip()
    if minor != str(tuple(sys.version_info[:2])):
        pytest.skip(f"system python {minor} cannot load this venv's compiled packages")
    site = sysconfig.get_paths()["purelib"]
    for path in (ROOT / "perftool" / "__init__.py", Path(site) / "psycopg" / "__init__.py"):
        if subprocess.run(["runuser", "-u", "postgres", "--", "test", "-r", str(path)]).returncode != 0:
            pytest.skip(f"{path} is not readable by another user (the checkout lives in a private directory)")
    home = Path(tempfile.mkdtemp(prefix="perftool-user-home-"))
    shutil.chown(home, "postgres")
    env = ["env", "-u", "PERFTOOL_SANDBOX_DIR", f"HOME={home}", f"PYTHONPATH={ROOT}:{site}"]
    base = ["runuser", "-u", "postgres", "--", *env, system_python, "-m", "perftool", "sandbox"]
    try:
        started = subprocess.run([*base, "start"], capture_output=True, text=True, timeout=120)
        assert started.returncode == 0, started.stderr
        dsn = started.stdout.strip()
        assert (home / ".cache" / "perftool" / "sandbox" / "data" / "PG_VERSION").exists()
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone() == (
                "pg_stat_statements",)
        stopped = subprocess.run([*base, "stop", "--purge"], capture_output=True, text=True, timeout=120)
        assert stopped.returncode == 0, stopped.stderr
        assert not (home / ".cache" / "perftool" / "sandbox").exists()
    finally:
        subprocess.run([*base, "stop", "--purge"], capture_output=True, timeout=120)
        shutil.rmtree(home, ignore_errors=True)
