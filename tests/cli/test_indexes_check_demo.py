"""The CI gate on the demo database, both ways: freshly loaded it fails naming every planted problem
(perftool/demo/problems.sql); after perftool's own fix SQL is applied it passes with one line."""

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]


def check(dsn, *args):
    proc = subprocess.run([sys.executable, "-m", "perftool", "indexes", "--check", "--set", "index_sets/demo.yaml",
                           "--dsn", dsn, *args], capture_output=True, text=True, cwd=ROOT, env={**os.environ},
                          timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def apply_fixes(dsn, findings, codes):
    """Run the fix SQL of the findings with these codes, statement by statement (CONCURRENTLY
    cannot run in a transaction block), comment lines left out."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for f in findings:
            if f["code"] not in codes:
                continue
            for statement in f["fix"].split(";\n"):
                text = "\n".join(ln for ln in statement.splitlines() if not ln.lstrip().startswith("--")).strip()
                if text:
                    conn.execute(text)


def test_demo_fails_with_the_planted_problems_then_passes_once_fixed(fresh_db):
    from perftool.demo import load_demo

    load_demo(fresh_db)
    code, out, err = check(fresh_db)
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

    code, out, err = check(fresh_db, "--format", "json")
    assert code == 1, err
    findings = json.loads(out)["findings"]
    apply_fixes(fresh_db, findings, {"T102"})                     # the key first: audit_log gets its id column
    code, out, _ = check(fresh_db, "--format", "json")
    findings = json.loads(out)["findings"]
    assert not any(f["object"] == "public.audit_log_pkey" for f in findings)
    apply_fixes(fresh_db, findings, {"I102", "I201", "I202"})     # drop duplicate and undeclared, build declared
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("ANALYZE")

    code, out, err = check(fresh_db)
    assert code == 0, out + err
    assert out.count("\n") == 1 and out.startswith("perftool indexes --check: ok — 0 errors")
    code, out, _ = check(fresh_db, "--format", "json", "--fail-on", "info")
    left = {f["code"] for f in json.loads(out)["findings"]}
    assert left <= {"I104"}  # only the just-built indexes, which no query has used yet
