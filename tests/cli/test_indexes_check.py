"""`perftool indexes --check` (and `indexes check | health | snapshot | diff`) on the command line:
exact spelling, exit codes 0/1/2/3, the terse default, every CI format, baselines, ignores, the
default index_sets/ directory, YAML errors as file:line (exit 2, before connecting)."""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import psycopg
import pytest
from typer.testing import CliRunner

from perftool.cli.app import app

runner = CliRunner()
SARIF_SCHEMA = json.loads((Path(__file__).parents[1] / "schemas" / "sarif-schema-2.1.0.json").read_text())
NOWHERE = "postgresql://127.0.0.1:1/nowhere?connect_timeout=2"

CLEAN = "CREATE TABLE items (id bigint PRIMARY KEY, sku text NOT NULL UNIQUE, price int);"
PROBLEMS = CLEAN + """
CREATE INDEX items_sku_dup ON items (sku);                    -- I102 error (same as the unique constraint)
CREATE TABLE notes (body text);                               -- T102 warning
"""
SET = """\
complete: true
tables:
  items:
    - {columns: [id], primary: true}
    - {columns: [sku], unique: true}
    - {columns: [price]}                                      # I201: declared, missing
"""


def perftool(*args, cwd=None):
    proc = subprocess.run([sys.executable, "-m", "perftool", *args], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ}, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def invoke(*args):
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path, monkeypatch):
    """Run where there is no index_sets/ directory (the repository has one: the demo's)."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def clean(sandbox_dsn_factory):
    dsn = sandbox_dsn_factory("t_cli_check_clean")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(CLEAN)
    return dsn


@pytest.fixture(scope="module")
def problems(sandbox_dsn_factory):
    dsn = sandbox_dsn_factory("t_cli_check_problems")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(PROBLEMS)
    return dsn


@pytest.fixture
def set_file(tmp_path):
    p = tmp_path / "items.yaml"
    p.write_text(SET)
    return p


def test_check_passes_quietly_with_one_line(clean):
    code, out, err = perftool("indexes", "--check", "--dsn", clean)
    assert code == 0, err
    assert out.count("\n") == 1 and out.startswith("perftool indexes --check: ok — 0 errors, 0 warnings, 0 info")
    assert err == ""


def test_check_fails_on_errors_and_names_them(problems):
    code, out, err = perftool("indexes", "--check", "--dsn", problems)
    assert code == 1, err
    lines = out.splitlines()
    assert lines[0].startswith("ERROR    I102  public.items_sku_dup: duplicate index")
    assert lines[1] == '         fix: DROP INDEX CONCURRENTLY IF EXISTS "public"."items_sku_dup";'
    assert any(ln.startswith("WARNING  T102  public.notes") for ln in lines)
    assert lines[-1].startswith("perftool indexes --check: FAILED — 1 error, 1 warning, 0 info (fail on error)")
    assert err == ""


def test_check_alias_and_fail_on(problems):
    assert invoke("indexes", "check", "--dsn", problems)[0] == 1
    assert invoke("indexes", "--check", "--dsn", problems, "--fail-on", "never")[0] == 0
    assert invoke("indexes", "--check", "--dsn", problems, "--exclude", "I102")[0] == 0
    assert invoke("indexes", "--check", "--dsn", problems, "--exclude", "I102", "--fail-on", "warning")[0] == 1
    assert invoke("indexes", "--check", "--dsn", problems, "--fail-on", "sometimes")[0] == 2


def test_cannot_connect_is_exit_3():
    code, out, err = perftool("indexes", "--check", "--dsn", NOWHERE)
    assert code == 3 and out == ""
    assert err.startswith("perftool: error: cannot connect to 127.0.0.1:1/nowhere")


def test_yaml_errors_are_file_line_and_exit_2_before_connecting(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("tables:\n  items:\n    - {columns: [sku], uniqe: true}\n")
    code, out, err = perftool("indexes", "--check", "--set", str(bad), "--dsn", NOWHERE)
    assert code == 2 and out == ""
    assert err.strip() == f"perftool: error: {bad}:3: unknown key 'uniqe' in an index of items (did you mean 'unique'?)"
    bad.write_text("tables: [\n")
    code, _, err = perftool("indexes", "diff", "--set", str(bad), "--dsn", NOWHERE)
    assert code == 2 and f"{bad}:2: invalid YAML" in err


def test_drift_from_a_set_file(problems, set_file):
    code, out, _ = invoke("indexes", "--check", "--dsn", problems, "--set", str(set_file))
    assert code == 1
    assert "I201  public.items(price): declared index missing" in out
    assert "I202  public.items_sku_dup" in out  # undeclared (and a duplicate)


def test_default_index_sets_directory(problems, tmp_path):
    (tmp_path / "index_sets").mkdir()
    (tmp_path / "index_sets" / "shop.yaml").write_text(SET)
    code, out, err = perftool("indexes", "--check", "--dsn", problems, "-f", "json", cwd=tmp_path)
    assert code == 1, err
    doc = json.loads(out)
    assert doc["gate"]["index_sets"] == ["index_sets/shop.yaml"]
    assert "I201" in {f["code"] for f in doc["findings"]}


def test_ignore_entries_suppress_and_count(problems, tmp_path):
    s = tmp_path / "s.yaml"
    s.write_text("ignore:\n  - {code: I102, object: public.items_sku_dup, reason: dropped next release}\n")
    code, out, _ = invoke("indexes", "--check", "--dsn", problems, "--set", str(s))
    assert code == 0
    assert out.count("\n") == 1 and "1 ignored" in out
    code, out, _ = invoke("indexes", "--check", "--dsn", problems, "--set", str(s), "-f", "json")
    assert json.loads(out)["suppressed"][0]["reason"] == "dropped next release"


def test_baseline_accepts_known_findings_only(sandbox_dsn_factory, tmp_path):
    dsn = sandbox_dsn_factory("t_cli_check_baseline")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(PROBLEMS)
    baseline = tmp_path / "baseline.json"
    code, out, _ = invoke("indexes", "--check", "--dsn", dsn, "--write-baseline", str(baseline))
    assert code == 0 and "2 in baseline" in out
    assert {(f["code"], f["object"]) for f in json.loads(baseline.read_text())["findings"]} == {
        ("I102", "public.items_sku_dup"), ("T102", "public.notes")}
    assert invoke("indexes", "--check", "--dsn", dsn, "--baseline", str(baseline))[0] == 0
    with psycopg.connect(dsn, autocommit=True) as conn:  # a new problem, and an old one fixed
        conn.execute("CREATE INDEX items_price_dup1 ON items (price); CREATE INDEX items_price_dup2 ON items (price)")
        conn.execute("DROP TABLE notes")
    code, out, _ = invoke("indexes", "--check", "--dsn", dsn, "--baseline", str(baseline), "-f", "json")
    doc = json.loads(out)
    assert code == 1
    assert [f["object"] for f in doc["findings"]] == ["public.items_price_dup2"]
    assert doc["gate"]["baselined"] == 1 and doc["gate"]["stale_baseline"] == 1
    assert invoke("indexes", "--check", "--dsn", dsn, "--baseline", str(tmp_path / "none.json"))[0] == 2


def test_every_ci_format(problems, set_file, tmp_path):
    code, out, _ = invoke("indexes", "--check", "--dsn", problems, "--set", str(set_file), "-f", "sarif")
    assert code == 1
    sarif = json.loads(out)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(sarif)
    located = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "I201"][0]
    assert located["locations"][0]["physicalLocation"]["region"]["startLine"] == 6
    code, out, _ = invoke("indexes", "--check", "--dsn", problems, "-f", "junit")
    root = ET.fromstring(out)
    assert root.get("failures") == "1" and int(root.get("tests")) >= 12
    code, out, _ = invoke("indexes", "--check", "--dsn", problems, "-f", "github")
    assert out.splitlines()[0].startswith("::error title=I102 duplicate index")
    code, out, _ = invoke("indexes", "--check", "--dsn", problems, "-f", "json")
    doc = json.loads(out)
    assert doc["command"] == "indexes check" and doc["gate"]["passed"] is False and doc["gate"]["fail_on"] == "error"
    target = tmp_path / "gate.txt"
    code, out, _ = invoke("indexes", "--check", "--dsn", problems, "-o", str(target))
    assert code == 1 and out == "" and "FAILED" in target.read_text()
    code, out, _ = invoke("indexes", "--check", "--dsn", problems, "-f", "prometheus")
    assert code == 1 and "perftool_index_gate_passed{" in out and out.rstrip().endswith(tuple("0123456789"))


def test_health_command(problems):
    code, out, _ = invoke("indexes", "health", "--dsn", problems, "-f", "json", "--only", "I102,T102")
    assert code == 0
    doc = json.loads(out)
    assert [f["code"] for f in doc["findings"]] == ["I102", "T102"]
    assert [c["code"] for c in doc["checks"]] == ["I102", "T102"]
    assert invoke("indexes", "health", "--dsn", problems, "--fail-on", "error")[0] == 1
    code, out, _ = invoke("indexes", "health", "--dsn", problems, "--table", "notes", "-f", "json")
    assert [f["object"] for f in json.loads(out)["findings"]] == ["public.notes"]
    code, _, err = invoke("indexes", "health", "--dsn", problems, "--only", "Z999")
    assert code == 2 and "unknown check code" in err
    code, out, _ = invoke("indexes", "--dsn", problems, "-f", "json", "health")  # group options before the command
    assert code == 0 and json.loads(out)["command"] == "indexes health"


def test_health_counts_index_scans_on_every_configured_host(problems, tmp_path):
    (tmp_path / "perftool.yaml").write_text(
        f"hosts:\n  primary:\n    dsn: {problems}\n  replica1:\n    dsn: {NOWHERE}\n    role: replica\n")
    code, out, err = perftool("indexes", "health", "--only", "I104", cwd=tmp_path)
    assert code == 3 and "host replica1: cannot connect" in err
    code, out, err = perftool("indexes", "health", "--only", "I102", cwd=tmp_path)  # no I104: no replica needed
    assert code == 0, err


def test_snapshot_then_diff(problems, tmp_path):
    snap = tmp_path / "snap.yaml"
    code, out, _ = invoke("indexes", "snapshot", "--dsn", problems, "-o", str(snap))
    assert code == 0 and out == ""
    assert snap.read_text().startswith("# perftool index set")
    code, out, _ = invoke("indexes", "diff", "--dsn", problems, "--set", str(snap), "-f", "json")
    assert code == 0 and json.loads(out)["summary"] == {"missing": 0, "different": 0, "undeclared": 0, "matched": 3}
    code, out, _ = invoke("indexes", "snapshot", "--dsn", problems)
    assert out == snap.read_text().replace(snap.read_text().splitlines()[0], out.splitlines()[0])
    assert invoke("indexes", "diff", "--dsn", problems, "--set", str(tmp_path / "missing.yaml"))[0] == 2


def test_usage_errors():
    assert invoke("indexes", "--check", "health")[0] == 2
    code, _, err = invoke("indexes", "--set", "x.yaml", "health")
    assert code == 2 and "--set before the command is only for --check" in err
    code, _, err = invoke("indexes", "--only", "I101")
    assert code == 2 and "missing command" in err
