"""The CI gate on the demo database, both ways: freshly loaded it fails naming every planted problem
(perftool/demo/problems.sql); after perftool's own fix SQL is applied it passes with one line."""

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]


def check(dsn, *args, config=None):
    first = ["--config", str(config)] if config else []
    proc = subprocess.run([sys.executable, "-m", "perftool", *first, "indexes", "--check", "--set",
                           "index_sets/demo.yaml", "--dsn", dsn, *args], capture_output=True, text=True, cwd=ROOT, env={**os.environ},
                          timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def fix_order(findings):
    """The findings in the order their fixes must run: report order, except that a fix saying
    `-- run after the fix of CODE OBJECT` runs after that one."""
    ordered, placed = [], set()

    def place(f, depth=0):
        key = (f["code"], f["object"])
        if key in placed:
            return
        for ln in f["fix"].splitlines():
            if ln.startswith("-- run after the fix of "):
                code, obj = ln.removeprefix("-- run after the fix of ").split(":")[0].split(" ", 1)
                (first,) = [g for g in findings if (g["code"], g["object"]) == (code, obj)]
                assert depth < 5
                place(first, depth + 1)
        placed.add(key)
        ordered.append(f)

    for f in findings:
        place(f)
    return ordered


def apply_fixes(dsn, findings, codes=None):
    """Run the fix SQL of the findings (with these codes), statement by statement (CONCURRENTLY
    cannot run in a transaction block), comment lines left out. Any failing statement fails."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for f in fix_order(findings):
            if codes is not None and f["code"] not in codes:
                continue
            for statement in f["fix"].split(";\n"):
                text = "\n".join(ln for ln in statement.splitlines() if not ln.lstrip().startswith("--")).strip()
                if text:
                    conn.execute(text)


def test_demo_fails_with_the_planted_problems_then_passes_once_fixed(fresh_db, tmp_path):
    from perftool.demo import load_demo

    load_demo(fresh_db)
    # freshly loaded, the scan counters are seconds old: I104 waits for its statistics window
    code, out, err = check(fresh_db, "--format", "json")
    doc = json.loads(out)
    assert code == 1 and not any(f["code"] == "I104" for f in doc["findings"])
    assert any(n.startswith("I104 (unused index) silent") for n in doc["notes"])
    # … which perftool.yaml can shorten: then the planted unused index is named too
    config = tmp_path / "perftool.yaml"
    config.write_text("thresholds:\n  unused_index_min_stats_days: 0\n")
    code, out, err = check(fresh_db, config=config)
    assert code == 1, err
    assert out.splitlines()[-1].startswith("perftool indexes --check: FAILED")
    named = {(ln.split()[1], ln.split()[2].rstrip(":")) for ln in out.splitlines() if ln[:1] in "EWI"}
    planted = {
        ("I102", "public.users_email_idx"),                              # the duplicate index
        ("I104", "public.audit_log_payload_hash_idx"),                   # the unused index > 1 MB
        ("I105", "public.job_steps.job_steps_machine_id_fkey"),          # foreign keys without an index
        ("I105", "public.notifications.notifications_user_id_fkey"),
        ("T102", "public.audit_log"),                                    # the table without a primary key
        ("I201", "public.jobs_status_created_at_idx"),                   # the missing composite indexes
        ("I201", "public.jobs_status_due_date_idx"),
        ("I202", "public.jobs_priority_idx"),                            # the other unused index: undeclared
    }
    assert planted <= named, sorted(planted - named)

    code, out, err = check(fresh_db, "--format", "json", "--fail-on", "info", config=config)
    assert code == 1, err
    findings = json.loads(out)["findings"]
    by = {(f["code"], f["object"]): f for f in findings}
    # the fixes compose: T102 adds the column the declared key (I201) needs, and says so
    assert by[("T102", "public.audit_log")]["fix"].splitlines()[-1] == (
        'ALTER TABLE "public"."audit_log" ADD COLUMN "id" bigint GENERATED ALWAYS AS IDENTITY;')
    assert by[("I201", "public.audit_log_pkey")]["fix"].startswith(
        "-- run after the fix of T102 public.audit_log: it adds the column \"id\"")
    # … and the FK index the index set declares is created once
    assert by[("I105", "public.job_steps.job_steps_machine_id_fkey")]["fix"].startswith(
        '-- "job_steps_machine_id_idx": the same index as the fix of I201 public.job_steps_machine_id_idx')
    apply_fixes(fresh_db, findings)    # every fix of the report, in the order the notes give: none fails
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("ANALYZE")

    code, out, err = check(fresh_db, config=config)
    assert code == 0, out + err
    assert out.count("\n") == 1 and out.startswith("perftool indexes --check: ok — 0 errors")
    code, out, _ = check(fresh_db, "--format", "json", "--fail-on", "info", config=config)
    left = {f["code"] for f in json.loads(out)["findings"]}
    assert left <= {"I104"}  # only the just-built indexes, which no query has used yet
