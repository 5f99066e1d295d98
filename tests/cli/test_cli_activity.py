"""`perftool pool` and `perftool replicas` on the real command line: formats, exit codes, --watch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psycopg

from tests.cli.test_cli_basics import perftool


def test_pool_json_table_prometheus_nagios(fresh_db):
    with psycopg.connect(fresh_db, application_name="held") as held:
        held.execute("SELECT 1")                  # idle in transaction from here on
        rc, out, err = perftool("pool", "--dsn", fresh_db, "--format", "json")
        assert rc == 0, err
        doc = json.loads(out)
        assert doc["command"] == "pool"
        assert [r["pid"] for r in doc["idle_in_transaction"] if r["who"].endswith("(held)")] == [held.info.backend_pid]
        for key in ("summary", "connections", "lock_tree", "horizon", "wraparound_databases", "wraparound_tables"):
            assert key in doc
        rc, out, _ = perftool("pool", "--dsn", fresh_db, "--format", "prometheus")
        assert rc == 0
        names = {line.split("{")[0].split(" ")[0] for line in out.splitlines() if not line.startswith("#")}
        assert {"pg_stat_activity_count", "pg_settings_max_connections", "pg_stat_activity_max_tx_duration"} <= names
        assert 'state="idle in transaction"' in out
        rc, out, _ = perftool("pool", "--dsn", fresh_db, "--format", "nagios")
        assert rc == 0 and out.startswith("PERFTOOL POOL OK - ")
        status, perf = out.splitlines()[0].split(" | ")
        assert "connections=" in perf and "idle_in_transaction_s=" in perf
        rc, out, _ = perftool("pool", "--dsn", fresh_db)
        assert rc == 0 and "Idle in transaction" in out and "held" in out


def test_pool_nagios_warning_from_config_thresholds(fresh_db, tmp_path):
    cfg = tmp_path / "perftool.yaml"
    cfg.write_text("thresholds:\n  idle_in_transaction_warning_s: 0.5\n  idle_in_transaction_critical_s: 600\n")
    with psycopg.connect(fresh_db) as held:
        held.execute("SELECT 1")
        time.sleep(0.8)
        rc, out, _ = perftool("--config", str(cfg), "pool", "--dsn", fresh_db, "--format", "nagios")
    assert rc == 1 and out.startswith("PERFTOOL POOL WARNING - ") and "idle in transaction" in out
    assert "WARNING C102" in out


def test_unreachable_server_is_nagios_unknown():
    rc, out, err = perftool("replicas", "--dsn", "postgresql://u:s3cret@127.0.0.1:1/x", "--format", "nagios")
    assert rc == 3 and out.startswith("PERFTOOL REPLICAS UNKNOWN - cannot connect") and "s3cret" not in out + err
    rc, out, err = perftool("pool", "--dsn", "postgresql://u:s3cret@127.0.0.1:1/x")
    assert rc == 3 and out == "" and err.startswith("perftool: error: cannot connect") and "s3cret" not in err


def test_pgbouncer_dsn_must_be_the_console(fresh_db, pgbouncer):
    rc, out, err = perftool("pool", "--dsn", fresh_db, "--pgbouncer", f"postgresql://postgres@127.0.0.1:{pgbouncer}/x")
    assert rc == 2 and "dbname=pgbouncer" in err
    rc, out, err = perftool("pool", "--dsn", fresh_db, "--pgbouncer",
                            f"postgresql://postgres@127.0.0.1:{pgbouncer}/pgbouncer", "-f", "json")
    assert rc == 0, err
    assert "pgbouncer_pools" in json.loads(out)


def test_watch_refreshes_and_ctrl_c_exits_cleanly(fresh_db):
    proc = subprocess.Popen([sys.executable, "-m", "perftool", "pool", "--dsn", fresh_db, "--watch", "0.3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PGAPPNAME": "perftool-watch-test"})
    try:
        seen = 0
        deadline = time.monotonic() + 30
        assert proc.stdout is not None
        while seen < 2:
            line = proc.stdout.readline()
            seen += line.startswith("perftool pool — ")
            assert time.monotonic() < deadline and line != "", "watch printed fewer than two readings"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        left = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'perftool' "
                            "AND datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]
    assert left == 0


def test_watch_without_a_value_uses_the_default():
    from perftool.cli.options import WATCH_DEFAULT_S, optional_watch_value

    assert optional_watch_value(["pool", "--watch"]) == ["pool", "--watch", f"{WATCH_DEFAULT_S:g}"]
    assert optional_watch_value(["pool", "-w", "--dsn", "x"]) == ["pool", "-w", "2", "--dsn", "x"]
    assert optional_watch_value(["pool", "--watch", "0.5"]) == ["pool", "--watch", "0.5"]
    assert optional_watch_value(["queries", "--", "--watch"]) == ["queries", "--", "--watch"]


def test_pgbouncer_host_from_perftool_yaml(fresh_db, pgbouncer, tmp_path):
    cfg = tmp_path / "perftool.yaml"
    cfg.write_text(f"hosts:\n  primary: {{dsn: '{fresh_db}', role: primary}}\n"
                   f"  bouncer: {{dsn: 'postgresql://postgres@127.0.0.1:{pgbouncer}/pgbouncer', role: pgbouncer}}\n")
    rc, out, err = perftool("--config", str(cfg), "pool", "-f", "json")
    assert rc == 0, err
    doc = json.loads(out)
    assert "pgbouncer_pools" in doc and doc["server"]["database"] == fresh_db.rsplit("/", 1)[1]
    rc, out, err = perftool("--config", str(cfg), "pool", "--no-pgbouncer", "-f", "json")
    assert rc == 0 and "pgbouncer_pools" not in json.loads(out)


def test_watch_on_a_terminal_redraws_and_ctrl_c_exits_cleanly(fresh_db):
    import pty

    main_fd, replica_fd = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"} | {"COLUMNS": "160", "TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, "-m", "perftool", "pool", "--dsn", fresh_db, "--watch", "0.3"],
                            stdin=replica_fd, stdout=replica_fd, stderr=subprocess.PIPE, env=env)
    os.close(replica_fd)
    seen = b""
    try:
        deadline = time.monotonic() + 30
        while seen.count(b"Ctrl-C to stop") < 2:
            assert time.monotonic() < deadline, seen[-2000:]
            try:
                seen += os.read(main_fd, 65536)
            except OSError:
                break
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main_fd)
    assert proc.returncode == 0, err
    assert b"\x1b[" in seen and b"Lock tree" in seen      # rich, in colour, redrawn in place
    assert b"Traceback" not in err
