"""One statement compared with itself under another setting (`--compare-setting`, SET LOCAL in the
rolled-back transaction) or with hypothetical indexes (`--compare-index`, HypoPG): the compare
code's node matching, P112 bands and the --fail-on gate."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psycopg
import pytest

from perftool.db.errors import UsageError
from perftool.plans.explain import ExplainRequest, explain_report
from perftool.plans.run import ExplainOptions
from perftool.workload.sources import WorkloadStatement


@pytest.fixture
def shop(fresh_db):
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE zqitems (id int PRIMARY KEY, grp int, note text) WITH (autovacuum_enabled = off)")
        conn.execute("INSERT INTO zqitems SELECT g, g % 100, md5(g::text) FROM generate_series(1, 100000) g")
        conn.execute("ANALYZE zqitems")
        conn.execute(f"ALTER DATABASE {conn.info.dbname} SET max_parallel_workers_per_gather = 0")
    return fresh_db


def run(dsn, text, **request):
    return explain_report(dsn, ExplainRequest(statements=[WorkloadStatement(text=text)], **request), ExplainOptions())


def perftool(*args):
    proc = subprocess.run([sys.executable, "-m", "perftool", "explain", *args], capture_output=True, text=True,
                          env={**os.environ}, timeout=180)
    return proc.returncode, proc.stdout, proc.stderr


def test_work_mem_is_set_locally_for_plan_b_only(shop):
    report = run(shop, "SELECT * FROM zqitems ORDER BY note", compare_settings=[("work_mem", "64MB")])
    data = report.data["compare"]
    assert data["settings_b"].get("work_mem") == "64MB" and data["settings_a"].get("work_mem") != "64MB"
    assert data["unit"] == "ms" and [r["node"] for r in report.section("compare").rows][0] == "Sort"
    with psycopg.connect(shop) as conn:                   # a new session: nothing persisted
        assert conn.execute("SHOW work_mem").fetchone()[0] == data["settings_a"].get("work_mem", "4MB")


def test_a_setting_that_loses_the_index_is_a_gated_regression(shop):
    args = ["--dsn", shop, "SELECT * FROM zqitems WHERE id = 5", "--compare-setting", "enable_indexscan=off",
            "--compare-setting", "enable_bitmapscan=off", "--format", "json"]
    code, out, err = perftool(*args, "--fail-on", "warning")
    assert code == 1, err
    doc = json.loads(out)
    became = [f for f in doc["findings"] if f["code"] == "P112" and "became" in f["title"]]
    assert became and became[0]["title"].startswith("Index") and "Seq Scan on public.zqitems" in became[0]["title"]
    code, _, err = perftool(*args)
    assert code == 0, err                                  # without --fail-on: reported, not gated


def test_near_miss_a_setting_that_changes_nothing_is_silent(shop):
    report = run(shop, "SELECT * FROM zqitems WHERE id = 5", compare_settings=[("random_page_cost", "4")])
    assert [f for f in report.findings if f.code == "P112" and "became" in f.title] == []


def test_unsafe_settings_are_refused(shop):
    for name in ("statement_timeout", "transaction_read_only", "default_transaction_read_only"):
        with pytest.raises(UsageError):
            run(shop, "SELECT 1", compare_settings=[(name, "0")])
    code, _, err = perftool("--dsn", shop, "SELECT 1", "--compare-setting", "statement_timeout=0")
    assert code == 2 and "Traceback" not in err
    code, _, err = perftool("--dsn", shop, "SELECT 1", "--compare-setting", "work_mem")
    assert code == 2 and "NAME=VALUE" in err


def test_compare_index_turns_the_seq_scan_into_an_index_scan(shop):
    report = run(shop, "SELECT * FROM zqitems WHERE grp = 3 AND note = 'x'",
                 compare_indexes=["CREATE INDEX ON zqitems (note)"])
    rows = report.section("compare").rows
    assert rows[0]["before"] == "Seq Scan on public.zqitems" and rows[0]["node"].startswith("Index Scan using")
    assert report.data["compare"]["unit"] == "cost" and report.data["compare"]["change"] < -0.5
    assert not [f for f in report.findings if f.code == "P112"]
    with psycopg.connect(shop) as conn:
        assert conn.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'zqitems'").fetchone()[0] == 1


def test_compare_anonymized(shop):
    code, out, err = perftool("--dsn", shop, "SELECT * FROM zqitems WHERE grp = 3 AND note = 'xjsecret'",
                              "--compare-index", "CREATE INDEX ON zqitems (note)", "--anonymize", "--format", "json")
    assert code == 0, err
    assert "zq" not in out and "xj" not in out and "zq" not in err
    assert json.loads(out)["compare"]["b"].startswith("with CREATE INDEX ON t1")
