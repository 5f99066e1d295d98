"""`perftool indexes recommend` end to end on the sandbox (the advisor's own suite is in progress)."""

import json
import os
import subprocess
import sys

import psycopg


def test_recommends_the_composite_index_and_skips_what_it_cannot_cost(fresh_db):
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id bigint PRIMARY KEY, status text NOT NULL, "
                     "created_at timestamptz NOT NULL, total numeric)")
        conn.execute("INSERT INTO orders SELECT g, (ARRAY['new','paid','shipped','done'])[1 + g % 4], "
                     "now() - g * interval '1 minute', g % 100 FROM generate_series(1, 50000) g")
        conn.execute("VACUUM ANALYZE orders")
    query = "SELECT id, total FROM orders WHERE status = 'paid' AND created_at > now() - interval '1 day'"
    proc = subprocess.run([sys.executable, "-m", "perftool", "indexes", "recommend", "--dsn", fresh_db,
                           "--query", query, "-f", "json"], capture_output=True, text=True,
                          env={**os.environ}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    recs = doc["recommendations"]
    assert recs and recs[0]["table"] == "public.orders"
    assert "created_at" in recs[0]["columns"]  # the selective filter (1 day of 35 days)
    assert recs[0]["definition"].startswith("CREATE INDEX CONCURRENTLY")
    assert doc["workload"]["cost_after"] < doc["workload"]["cost_before"]
    # a statement on a missing table is skipped with its reason, never a crash
    proc = subprocess.run([sys.executable, "-m", "perftool", "indexes", "recommend", "--dsn", fresh_db,
                           "--query", "SELECT * FROM no_such_table WHERE x = 1", "-f", "json"],
                          capture_output=True, text=True, env={**os.environ}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["recommendations"] == []
    assert doc["skipped"] and "no_such_table" in json.dumps(doc["skipped"])
