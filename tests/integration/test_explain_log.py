"""`perftool explain --log`: auto_explain entries from a real server log (the sandbox's stderr log,
`log_line_prefix` and tab continuation lines), in log_format json and text, read like --plan."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psycopg
import pytest

from perftool.plans.auto_explain import read_log
from perftool.plans.explain import ExplainRequest, explain_report
from perftool.plans.run import ExplainOptions

SETUP = """
CREATE TABLE zqlogged (id int PRIMARY KEY, kind int, note text);
INSERT INTO zqlogged SELECT g, g % 100, md5(g::text) FROM generate_series(1, 20000) g;
ANALYZE zqlogged;
"""
# one statement per form; the text one spans lines, so its Query Text does too
STATEMENTS = {
    "json": "SELECT count(*) FROM zqlogged WHERE kind = 7 /* zqmark-json */",
    "text": "SELECT count(*)\n  FROM zqlogged\n WHERE kind = 8 /* zqmark-text */",
}


@pytest.fixture
def logged(sandbox, fresh_db, tmp_path):
    """The part of the sandbox's server log that auto_explain wrote for STATEMENTS (LOADed in the
    session, as the sandbox superuser, in a test database)."""
    log = sandbox.log_file
    start = log.stat().st_size
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(SETUP)
        conn.execute("LOAD 'auto_explain'")
        for k, v in {"log_min_duration": "0", "log_analyze": "on", "log_buffers": "on", "log_verbose": "on",
                     "log_settings": "on"}.items():
            conn.execute(f"SET auto_explain.{k} = {v}")
        conn.execute("SET work_mem = '5MB'")            # a non-default setting: logged with log_settings
        for form, statement in STATEMENTS.items():
            conn.execute(f"SET auto_explain.log_format = {form}")
            conn.execute(statement)
    with open(log, "rb") as f:
        f.seek(start)
        part = f.read().decode("utf-8", errors="replace")
    path = tmp_path / "server.log"
    path.write_text(part)
    return path


def test_both_formats_are_read_from_the_server_log(logged):
    read = read_log(logged.read_text())
    mine = {e.form: e for e in read.entries if e.query and "zqmark" in e.query}
    assert set(mine) == {"json", "text"}, logged.read_text()[:3000]
    assert mine["text"].query.startswith("SELECT count(*)\n") and "zqmark-text" in mine["text"].query
    assert mine["json"].query.startswith("SELECT count(*) FROM zqlogged")
    for e in mine.values():
        assert e.duration_ms > 0 and e.line >= 1
    assert mine["text"].document["Settings"]["work_mem"] == "5MB"


def test_log_entries_are_analysed_like_plans(logged):
    report = explain_report(None, ExplainRequest(log_files=[str(logged)]), ExplainOptions())
    mine = [s for s in report.data["statements"] if s["text"] and "zqmark" in s["text"]]
    assert len(mine) == 2 and all(s["mode"] == "analyze" for s in mine)
    tips = [f for f in report.findings if f.code == "P103"]
    assert len(tips) >= 2 and all("zqlogged" in f.object for f in tips)
    assert all("Unverified: run perftool explain on the statement" in f.detail for f in tips)
    # both forms give the same tree for the same statement shape
    plans = [report.section(k) for k in [s.key for s in report.sections if s.key.startswith("plan")]]
    shapes = {tuple(r["node_type"] for r in p.rows) for p in plans if any(r["relation"] == "zqlogged" for r in p.rows)}
    assert shapes == {("Aggregate", "Seq Scan")}


def test_cli_log_top_and_anonymize(logged):
    proc = subprocess.run([sys.executable, "-m", "perftool", "explain", "--log", str(logged), "--top", "1",
                           "--anonymize", "--format", "json"], capture_output=True, text=True, env={**os.environ},
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert len(doc["statements"]) == 1 and "zq" not in proc.stdout and "zq" not in proc.stderr
    assert doc["statements"][0]["explain"]["Plan"]["Node Type"] in ("Aggregate", "Seq Scan", "Result")


def test_a_log_without_auto_explain_is_an_input_error(tmp_path):
    path = tmp_path / "plain.log"
    path.write_text("2026-01-01 00:00:00.000 UTC [1] LOG:  database system is ready to accept connections\n")
    proc = subprocess.run([sys.executable, "-m", "perftool", "explain", "--log", str(path)], capture_output=True,
                          text=True, env={**os.environ}, timeout=60)
    assert proc.returncode == 2 and "holds no auto_explain plan" in proc.stderr and "Traceback" not in proc.stderr
