"""The smaller items of issue 10 (item 9), each as a user meets it on the command line."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from perftool.report.model import Column, Finding, Report, Section
from perftool.report.render import render_to_string
from tests.cli.fast_runner import invoke

ROOT = Path(__file__).resolve().parents[2]
BIG_QUERYID = 2**63 - 25  # > 2^53: a double would round it to 9223372036854775808


def perftool(*args, env=None, timeout=120, cwd=None):
    proc = subprocess.run([sys.executable, "-m", "perftool", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout, cwd=cwd)
    return proc.returncode, proc.stdout, proc.stderr


# --- queryids above 2^53 ----------------------------------------------------------------------------

def _queryid_report() -> Report:
    return Report(
        command="queries",
        sections=[Section("statements", "Top", [Column("queryid", "queryid"), Column("query", "q", "query")],
                          [{"queryid": BIG_QUERYID, "queryids": [BIG_QUERYID, -BIG_QUERYID], "query": "SELECT 1"}])],
        findings=[Finding("Q110", "warning", "loop", f"queryid:{BIG_QUERYID}",
                          evidence={"queryid": BIG_QUERYID, "parent_queryid": -BIG_QUERYID, "calls": 3,
                                    "queryids": [BIG_QUERYID]})],
        data={"recommendations": [{"statements": [{"queryid": BIG_QUERYID, "weight": 2}]}]})


def test_queryids_are_strings_in_json_and_yaml():
    for doc in (json.loads(render_to_string(_queryid_report(), "json")),
                yaml.safe_load(render_to_string(_queryid_report(), "yaml"))):
        row = doc["statements"][0]
        assert row["queryid"] == str(BIG_QUERYID) and row["queryids"] == [str(BIG_QUERYID), str(-BIG_QUERYID)]
        ev = doc["findings"][0]["evidence"]
        assert ev["queryid"] == str(BIG_QUERYID) and ev["parent_queryid"] == str(-BIG_QUERYID)
        assert ev["queryids"] == [str(BIG_QUERYID)] and ev["calls"] == 3  # other numbers stay numbers
        assert doc["recommendations"][0]["statements"][0]["queryid"] == str(BIG_QUERYID)
        assert doc["findings"][0]["object"] == f"queryid:{BIG_QUERYID}"
    # what a double-based reader (jq, JavaScript) would make of a number: the digits are gone
    assert float(BIG_QUERYID) != BIG_QUERYID
    assert str(BIG_QUERYID) in render_to_string(_queryid_report(), "csv")  # CSV: plain digits


def test_queries_json_from_the_server_has_string_queryids(fresh_db, sql):
    sql(fresh_db, "SELECT 1 AS x")
    code, out, err = perftool("queries", "--dsn", fresh_db, "-f", "json")
    assert code == 0, err
    rows = json.loads(out)["statements"]
    assert rows and all(isinstance(r["queryid"], str) and int(r["queryid"]) for r in rows)
    assert all(isinstance(q, str) for r in rows for q in r["queryids"])


# --- control characters ---------------------------------------------------------------------------

def _hostile_report() -> Report:
    text = "SELECT '\x00' FROM t\x1b[2J\x1b[31m WHERE a = '\u202e' -- \r\x07 \x85"
    return Report(command="indexes recommend",
                  sections=[Section("skipped", "Skipped", [Column("query", "statement", "query"),
                                                            Column("reason", "reason")],
                                    [{"query": text, "reason": "bad\x00byte"}], note="n\x1b[0m")],
                  findings=[Finding("A101", "warning", "t\x00itle", "o\x1bbj", "de\x00tail", "SELECT\x00 1;")],
                  notes=["no\x00te"])


@pytest.mark.parametrize("fmt", ["table", "markdown", "github", "junit"])
def test_control_characters_are_escaped_for_humans(fmt):
    out = render_to_string(_hostile_report(), fmt)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", out), repr(out)
    assert "\\x00" in out
    if fmt == "junit":
        import xml.etree.ElementTree as ET

        ET.fromstring(out.split("?>", 1)[1])  # valid XML now


def test_json_and_csv_stay_faithful():
    doc = json.loads(render_to_string(_hostile_report(), "json"))
    assert doc["skipped"][0]["reason"] == "bad\x00byte" and doc["findings"][0]["title"] == "t\x00itle"
    assert "bad\x00byte" in render_to_string(_hostile_report(), "csv")


def test_nul_from_a_binary_sql_file_is_not_echoed(fresh_db, tmp_path):
    binary = tmp_path / "binary.sql"
    binary.write_bytes(b"SELECT * FROM nosuch WHERE x = '\x00\x1b[31m';\nSELECT \x00 1;\n")
    code, out, err = perftool("indexes", "recommend", "--from", str(binary), "--no-whatif", "--dsn", fresh_db)
    assert code in (0, 2), err
    assert "\x00" not in out + err and "\x1b" not in out + err


# --- indexes snapshot honours the format -------------------------------------------------------------

@pytest.fixture
def indexed_db(fresh_db, sql):
    sql(fresh_db, "CREATE TABLE t (id int PRIMARY KEY, a int, b text); CREATE INDEX t_a_b ON t (a, b)")
    return fresh_db


def test_snapshot_json_and_yaml(indexed_db, tmp_path):
    code, out, err = perftool("-f", "json", "indexes", "snapshot", "--dsn", indexed_db)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["complete"] is True and {e["name"] for e in doc["tables"]["t"]} == {"t_pkey", "t_a_b"}
    code, out_yaml, err = perftool("indexes", "snapshot", "-f", "yaml", "--dsn", indexed_db)
    assert code == 0 and yaml.safe_load(out_yaml) == doc
    code, out2, err = perftool("indexes", "snapshot", "--format", "json", "--dsn", indexed_db)
    assert code == 0 and json.loads(out2) == doc
    # the JSON snapshot is an index set: no drift against its own database
    (tmp_path / "snap.json").write_text(out)
    code, out, err = perftool("indexes", "diff", "--set", str(tmp_path / "snap.json"), "--dsn", indexed_db,
                              "-f", "json", "--fail-on", "info")
    assert code == 0, (out, err)
    assert json.loads(out)["findings"] == []
    code, out, err = perftool("-f", "csv", "indexes", "snapshot", "--dsn", indexed_db)
    assert code == 2 and out == "" and "yaml or json" in err


# --- indexes --check -f prometheus ------------------------------------------------------------------

def test_gate_speaks_prometheus(indexed_db, sql, tmp_path):
    code, out, err = perftool("indexes", "--check", "-f", "prometheus", "--dsn", indexed_db, cwd=tmp_path)
    assert code == 0, err
    assert "# TYPE perftool_index_gate_passed gauge" in out
    assert re.search(r"^perftool_index_gate_passed\{.*\} 1$", out, re.M)
    assert "perftool_report_timestamp_seconds" in out
    sql(indexed_db, "CREATE INDEX t_a_dup ON t (a, b)")  # a duplicate: I102 fails the gate
    code, out, err = perftool("indexes", "check", "--format", "prometheus", "--dsn", indexed_db, cwd=tmp_path)
    assert code == 1
    assert re.search(r"^perftool_index_gate_passed\{.*\} 0$", out, re.M)
    assert re.search(r'^perftool_findings\{.*code="I102".*\} 1$', out, re.M)


# --- unknown --schema / --table -----------------------------------------------------------------------

@pytest.mark.parametrize("command", [["indexes", "health"], ["indexes", "check"], ["indexes", "--check"],
                                     ["indexes", "snapshot"], ["indexes", "diff"]])
def test_unknown_table_or_schema_is_exit_2(indexed_db, command):
    for scope, needle in ((["--table", "nosuch"], "table 'nosuch' does not exist"),
                          (["--schema", "nosuch"], "schema 'nosuch' does not exist"),
                          (["--table", "nosuch.t"], "schema 'nosuch' does not exist"),
                          (["--schema", "public", "--table", "nosuch"], "table 'public.nosuch' does not exist")):
        result = invoke([*command, "--dsn", indexed_db, *scope])
        assert result.exit_code == 2, (scope, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0], result.stderr
    result = invoke([*command, "--dsn", indexed_db, "--table", "t", "--schema", "public"])
    assert result.exit_code in (0, 1), result.stderr  # an existing table still works


# --- sandbox url of a name with a space -----------------------------------------------------------

def test_sandbox_url_round_trips_any_database_name(sandbox):
    name = "My DB/?@%"
    url = sandbox.create_database(name)
    try:
        code, out, err = perftool("sandbox", "url", name)
        assert code == 0 and out.strip() == url and "My%20DB%2F%3F%40%25" in url
        code, out, err = perftool("queries", "--dsn", url, "-f", "json")
        assert code == 0, err
        assert json.loads(out)["server"]["database"] == name
    finally:
        sandbox.drop_database(name)


# --- option ranges and their messages -------------------------------------------------------------

@pytest.mark.parametrize("argv", [["sandbox", "workload", "--iterations", "-1"], ["sandbox", "workload", "--clients", "0"],
                                  ["sandbox", "load-demo", "--iterations", "0"], ["demo", "--iterations", "-1"],
                                  ["demo", "--clients", "-3"]])
def test_workload_sizes_must_be_positive(argv, tmp_path):
    result = invoke(argv, env={"PERFTOOL_SANDBOX_DIR": str(tmp_path / "none")})
    assert result.exit_code == 2
    assert any(s in result.stderr for s in (">= 1", "x>=1", "greater than or equal to 1"))   # Typer 0.29 / 0.28
    assert not (tmp_path / "none").exists()  # refused before any work


def test_interval_message_is_truthful():
    for value in ("0", "-1", "3601", "nan"):
        result = invoke(["analyze", "--interval", value, "--dsn", "postgresql://127.0.0.1:1/x"])
        assert result.exit_code == 2, result.stderr
        assert "more than 0 and at most 3600 seconds" in result.stderr
    result = invoke(["analyze", "--interval", "0.5", "--dsn", "postgresql://127.0.0.1:1/x"])
    assert result.exit_code == 3  # accepted: it got as far as connecting
    assert "between 0 and 3600" not in (ROOT / "docs" / "commands" / "analyze.md").read_text()


# --- --no-color on stderr ---------------------------------------------------------------------------

def _stderr_on_a_terminal(*args) -> bytes:
    main, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CI")}
    try:
        proc = subprocess.run([sys.executable, "-m", "perftool", *args], stdout=subprocess.PIPE, stderr=secondary,
                              env=env, timeout=60)
        os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(main)
    assert proc.returncode == 3
    return b"".join(chunks)


SGR = re.compile(rb"\x1b\[[0-9;]*m")  # colour and style sequences (the spinner's cursor moves are not colour)


def test_no_color_also_on_stderr():
    coloured = _stderr_on_a_terminal("queries", "--dsn", "postgresql://127.0.0.1:1/x")
    assert SGR.search(coloured) and b"perftool: error:" in coloured  # colour on a terminal by default
    plain = _stderr_on_a_terminal("--no-color", "queries", "--dsn", "postgresql://127.0.0.1:1/x")
    assert not SGR.search(plain) and b"perftool: error:" in plain


# --- a closed pipe --------------------------------------------------------------------------------

@pytest.fixture
def many_duplicates(fresh_db, sql):
    """Output far beyond a pipe's buffer: 600 duplicate indexes, each an I102 finding with its fix."""
    sql(fresh_db, "CREATE TABLE t (id int, a int)")
    sql(fresh_db, "DO $$BEGIN FOR i IN 1..600 LOOP EXECUTE format('CREATE INDEX %I ON t (a)', "
                  "'t_a_duplicate_index_with_a_long_name_' || i); END LOOP; END$$")
    return fresh_db


def test_closed_pipe_keeps_the_exit_code(many_duplicates, tmp_path):
    """`perftool … | head -1`: no traceback, no 'Exception ignored', and the command's own exit code
    (0, or 1 when the findings reach --fail-on), as docs/cli.md says."""
    prefix = f"set -o pipefail; {sys.executable} -m perftool"
    # with PYTHONUNBUFFERED a partial write to the pipe is silently dropped and EPIPE never comes
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    # each output is 160-520 kB, far more than the 64 kB a pipe holds: the writes do hit the closed pipe
    for args, expected in (("indexes health -f table", 0), ("indexes health -f json", 0),
                           ("indexes --check -f table --fail-on warning", 1), ("indexes --check --fail-on warning", 1),
                           ("indexes --check -f markdown --fail-on never", 0)):
        proc = subprocess.run(["bash", "-c", f"{prefix} {args} --dsn '{many_duplicates}' | head -1"],
                              capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
        assert proc.returncode == expected, (args, proc.returncode, proc.stderr)
        assert proc.stderr == "", (args, proc.stderr)
        assert len(proc.stdout.splitlines()) == 1


# --- docs/commands/demo.md defaults ----------------------------------------------------------------

def test_demo_page_defaults_match_help():
    from typer.main import get_command

    from perftool.cli.app import app

    demo = get_command(app).commands["demo"]
    page = (ROOT / "docs" / "commands" / "demo.md").read_text()
    checked = 0
    for p in demo.params:
        if isinstance(p.default, int) and not isinstance(p.default, bool):
            opt = p.opts[0]
            m = re.search(rf"`{opt}[^`]*`[^`]*?default\s+(\S+?)[,)]", page)
            assert m, f"{opt} has no default on the page"
            assert m.group(1) == str(p.default), (opt, m.group(1), p.default)
            checked += 1
    assert checked >= 2
    result = invoke(["demo", "--help"])
    assert "[default: 100;" in result.stdout and "[default: 4;" in result.stdout


# --- the distribution name ------------------------------------------------------------------------

def test_distribution_name_cannot_collide():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^name = "perftool-pg"$', pyproject, re.M)
    assert re.search(r'^\[project.scripts\]\nperftool = "perftool.cli.app:console"$', pyproject, re.M)
    for doc in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]:
        assert not re.search(r"pip install perftool(?![-\w])(?! would)", doc.read_text()), doc
    from importlib.metadata import distribution

    dist = distribution("perftool-pg")  # the installed one (make install)
    assert any(ep.name == "perftool" for ep in dist.entry_points)
