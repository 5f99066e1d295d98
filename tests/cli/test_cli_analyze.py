"""`perftool analyze` on the command line: config hosts, fail-on, formats, usage errors."""

import json
import os
import subprocess
import sys

import psycopg
import pytest


def perftool(*args, cwd=None):
    proc = subprocess.run([sys.executable, "-m", "perftool", *args], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ}, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def two_hosts(fresh_db, sandbox_dsn_factory, tmp_path):
    replica = sandbox_dsn_factory("t_cli_analyze_replica")
    for dsn, n in ((fresh_db, 10), (replica, 25)):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS t (id int PRIMARY KEY, v int)")
            conn.execute("INSERT INTO t SELECT g, g FROM generate_series(1, 100) g ON CONFLICT DO NOTHING")
            for i in range(n):
                conn.execute("SELECT v FROM t WHERE id = %s", (i,))
    cfg = tmp_path / "perftool.yaml"
    cfg.write_text(f"hosts:\n  primary:\n    dsn: {fresh_db}\n  replica1:\n    dsn: {replica}\n    role: replica\n"
                   "thresholds:\n  slow_ms: 5000\n")
    return tmp_path, fresh_db, replica


def test_all_hosts_from_the_config_file(two_hosts):
    cwd, _, _ = two_hosts
    code, out, err = perftool("analyze", "--all-hosts", "-f", "json", cwd=cwd)  # ./perftool.yaml found
    assert code == 0, err
    doc = json.loads(out)
    assert doc["server"]["hosts"] == ["primary", "replica1"]
    row = next(r for r in doc["statements"] if "FROM t WHERE id = $1" in r["query"])
    assert row["calls"] == 35
    assert {h["host"] for h in doc["hosts"]} == {"primary", "replica1"}


def test_one_named_host(two_hosts):
    cwd, _, _ = two_hosts
    code, out, err = perftool("--config", str(cwd / "perftool.yaml"), "analyze", "--host", "replica1", "-f", "json")
    assert code == 0, err
    row = next(r for r in json.loads(out)["statements"] if "FROM t WHERE id = $1" in r["query"])
    assert row["calls"] == 25
    code, _, err = perftool("--config", str(cwd / "perftool.yaml"), "analyze", "--host", "nope")
    assert code == 2 and "no host named 'nope'" in err and "primary, replica1" in err


def test_fail_on_and_prometheus(fresh_db):
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("SELECT pg_sleep(0.03)")
    code, out, _ = perftool("analyze", "--dsn", fresh_db, "--slow-ms", "10", "--fail-on", "warning")
    assert code == 1 and "Q101" in out
    code, out, _ = perftool("analyze", "--dsn", fresh_db, "-f", "prometheus")
    assert code == 0
    assert "# TYPE perftool_health_score gauge" in out
    assert 'perftool_findings{code="Q101"' not in out  # default 1000 ms: nothing slow


@pytest.mark.parametrize("args, needle", [
    (["--section", "nope"], "unknown section 'nope'"),
    (["--interval", "0"], "--interval must be more than 0 and at most 3600"),
    (["--all-hosts"], "--all-hosts needs hosts in perftool.yaml"),
])
def test_usage_errors_exit_2(args, needle, tmp_path):
    code, out, err = perftool("analyze", "--dsn", "postgresql://127.0.0.1:1/x", *args, cwd=tmp_path)
    assert code == 2 and needle in err and out == ""


def test_bad_config_yaml_is_file_line(tmp_path):
    (tmp_path / "perftool.yaml").write_text("hosts:\n  a: {dsn: x\n  b: [\n")
    code, _, err = perftool("analyze", cwd=tmp_path)
    assert code == 2 and "perftool.yaml:" in err and "invalid YAML" in err


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def one_host_down(fresh_db, tmp_path):
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, v int)")
        for i in range(7):
            conn.execute("SELECT v FROM t WHERE id = %s", (i,))
    down = f"postgresql://app:S3cretPw0rd@127.0.0.1:{_closed_port()}/app?connect_timeout=3"
    (tmp_path / "perftool.yaml").write_text(
        f"hosts:\n  primary:\n    dsn: {fresh_db}\n  replica1:\n    dsn: '{down}'\n    role: replica\n")
    return tmp_path


def test_all_hosts_with_one_host_down_reports_the_others_and_names_it(one_host_down):
    code, out, err = perftool("analyze", "--all-hosts", "-f", "json", cwd=one_host_down)
    assert code == 0, err
    assert "S3cretPw0rd" not in out + err
    doc = json.loads(out)
    # the healthy host's workload is there
    assert any("FROM t WHERE id = $1" in r["query"] and r["calls"] == 7 for r in doc["statements"])
    assert doc["server"]["hosts"] == ["primary"] and doc["server"]["unreachable"] == ["replica1"]
    (r103,) = [f for f in doc["findings"] if f["code"] == "R103"]
    assert r103["severity"] == "error" and r103["object"] == "replica1" and "replica1" in r103["title"]
    assert "Connection refused" in r103["detail"] and r103["evidence"]["role"] == "replica"
    assert {h["host"]: h["status"] for h in doc["hosts"]} == {"primary": "ok", "replica1": "unreachable"}
    assert any("replica1" in n and "primary only" in n for n in doc["notes"])
    # the table report names it too; --fail-on error turns it into exit 1
    code, out, err = perftool("analyze", "--all-hosts", "--fail-on", "error", cwd=one_host_down)
    assert code == 1 and "R103  host replica1 could not be analysed" in out and "S3cretPw0rd" not in out + err


def test_require_all_hosts_exits_3_naming_the_host(one_host_down):
    code, out, err = perftool("analyze", "--all-hosts", "--require-all-hosts", cwd=one_host_down)
    assert code == 3 and out == ""
    assert "host replica1:" in err and "Traceback" not in err and "S3cretPw0rd" not in err


def test_no_host_reachable_exits_3(tmp_path):
    dsns = [f"postgresql://app:S3cretPw0rd@127.0.0.1:{_closed_port()}/app?connect_timeout=3" for _ in range(2)]
    (tmp_path / "perftool.yaml").write_text(
        f"hosts:\n  a:\n    dsn: '{dsns[0]}'\n  b:\n    dsn: '{dsns[1]}'\n    role: replica\n")
    code, out, err = perftool("analyze", "--all-hosts", cwd=tmp_path)
    assert code == 3 and out == "" and "no host could be analysed (a, b)" in err and "S3cretPw0rd" not in err
