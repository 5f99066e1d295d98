"""`indexes apply` against the sandbox: a unique build failing on duplicates is reported and leaves
no INVALID index, and a re-run succeeds once the data is fixed; a partitioned table gets a valid
index on the parent and every partition while a writer keeps inserting (under the same lock_timeout
as apply's, none of its inserts times out); lock timeouts are retried without the "already exists" trap; pre-flight
names the idle-in-transaction session a build would wait for; the CLI refuses to write without
--yes when it cannot ask."""

from __future__ import annotations

import json
import threading
import time

import psycopg
import pytest

from perftool.migrations.apply import ApplyOptions, apply_report
from perftool.migrations.changes import changes_from_text
from tests.integration.test_migrations_run import indexes

FAST = dict(lock_timeout_ms=300, backoff_s=0.1, max_backoff_s=0.5, sample_s=0.0, poll_s=0.05)


def changes(text: str):
    return changes_from_text(text).changes


def rows(report, section="changes"):
    return report.section(section).rows


def test_a_failed_unique_build_is_reported_leaves_nothing_invalid_and_a_rerun_succeeds(fresh_db, sql):
    sql(fresh_db, "CREATE TABLE t (a int); INSERT INTO t SELECT g % 1000 FROM generate_series(1, 5000) g;")
    wanted = changes("{changes: [{table: public.t, columns: [a], unique: true, name: t_a_key}]}")
    report = apply_report(fresh_db, wanted, ApplyOptions(**FAST))
    (row,) = rows(report)
    assert row["status"] == "failed" and "is duplicated" in row["message"]
    assert report.data["summary"]["failed"] == 1
    assert indexes(fresh_db) == {}                       # no INVALID index left behind
    sql(fresh_db, "DELETE FROM t WHERE ctid NOT IN (SELECT min(ctid) FROM t GROUP BY a)")
    again = apply_report(fresh_db, wanted, ApplyOptions(**FAST))
    assert rows(again)[0]["status"] == "built" and rows(again)[0]["attempts"] == 1
    assert indexes(fresh_db) == {"public.t_a_key": True}
    third = apply_report(fresh_db, wanted, ApplyOptions(**FAST))   # already there: skipped, not rebuilt
    assert rows(third)[0]["status"] == "skipped"


def test_an_invalid_leftover_is_dropped_before_the_build(fresh_db, sql):
    sql(fresh_db, "CREATE TABLE t (a int); INSERT INTO t VALUES (1), (1);")
    with pytest.raises(psycopg.Error):
        sql(fresh_db, "CREATE UNIQUE INDEX CONCURRENTLY t_a_idx ON t (a)")
    assert indexes(fresh_db) == {"public.t_a_idx": False}
    events = []
    report = apply_report(fresh_db, changes("{changes: [{table: public.t, columns: [a], name: t_a_idx}]}"),
                          ApplyOptions(**FAST), lambda e, d: events.append((e, d)))
    assert rows(report)[0]["status"] == "built"
    assert ("cleanup", {"index": "public.t_a_idx"}) in events
    assert indexes(fresh_db) == {"public.t_a_idx": True}


def test_lock_timeouts_are_retried_with_backoff_and_no_already_exists(fresh_db, sql):
    sql(fresh_db, "CREATE TABLE t (a int); INSERT INTO t SELECT generate_series(1, 1000);")
    blocker = psycopg.connect(fresh_db)
    blocker.execute("LOCK TABLE t IN SHARE ROW EXCLUSIVE MODE")      # conflicts with CREATE INDEX CONCURRENTLY
    retries = []

    def progress(event, data):
        if event == "retry":
            retries.append(data)
            if len(retries) == 2:
                blocker.rollback()                                  # the lock goes away after two timeouts

    try:
        report = apply_report(fresh_db, changes("{changes: [{table: public.t, columns: [a]}]}"),
                              ApplyOptions(**FAST), progress)
    finally:
        blocker.close()
    (row,) = rows(report)
    assert row["status"] == "built" and row["attempts"] == 3, row
    assert [r["wait_s"] for r in retries] == [0.1, 0.2]                # exponential backoff
    assert indexes(fresh_db) == {"public.t_a_idx": True}


def test_gives_up_after_the_retries_and_cleans_up(fresh_db, sql):
    sql(fresh_db, "CREATE TABLE t (a int);")
    with psycopg.connect(fresh_db) as blocker:
        blocker.execute("LOCK TABLE t IN SHARE ROW EXCLUSIVE MODE")
        report = apply_report(fresh_db, changes("{changes: [{table: public.t, columns: [a]}]}"),
                              ApplyOptions(**{**FAST, "retries": 1}))
        blocker.rollback()
    assert rows(report)[0]["status"] == "failed" and "gave up" in rows(report)[0]["message"]
    assert indexes(fresh_db) == {}


PARTITIONED = """
CREATE TABLE events (id bigint NOT NULL, tenant_id int NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2026_01 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE events_2026_02 PARTITION OF events FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
CREATE TABLE events_2026_03 PARTITION OF events FOR VALUES FROM ('2026-03-01') TO ('2026-04-01');
INSERT INTO events SELECT g, g % 300, date '2026-01-01' + (g % 89) FROM generate_series(1, 60000) g;
"""


def test_partitioned_table_while_a_writer_inserts(fresh_db, sql):
    sql(fresh_db, PARTITIONED)
    stop = threading.Event()
    inserted, errors, longest = [0], [], [0.0]

    def write():
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            conn.execute(f"SET lock_timeout = '{FAST['lock_timeout_ms']}ms'")   # the same as apply's
            i = 100000
            while not stop.is_set():
                started = time.monotonic()
                try:
                    conn.execute("INSERT INTO events VALUES (%s, %s, date '2026-01-01' + %s)", (i, i % 300, i % 89))
                    inserted[0] += 1
                except psycopg.Error as exc:
                    errors.append(str(exc))
                longest[0] = max(longest[0], time.monotonic() - started)
                i += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while inserted[0] < 50:
            time.sleep(0.01)
        wanted = changes("{changes: [{table: public.events, columns: [tenant_id], partitions: "
                         "[public.events_2026_01, public.events_2026_02, public.events_2026_03]}]}")
        before = inserted[0]
        report = apply_report(fresh_db, wanted, ApplyOptions(**FAST))
        during = inserted[0] - before
    finally:
        stop.set()
        writer.join()
    assert rows(report)[0]["status"] == "built", rows(report)
    print(f"writer: {inserted[0]} inserts, longest {longest[0] * 1000:.0f} ms")
    assert errors == [], longest                           # no insert waited past apply's lock_timeout
    assert during > 0                                      # the writer kept inserting during the build
    got = indexes(fresh_db)
    expected = {"public.events_tenant_id_idx", "public.events_2026_01_tenant_id_idx",
                "public.events_2026_02_tenant_id_idx", "public.events_2026_03_tenant_id_idx"}
    assert set(got) == expected and all(got.values()), got
    attached = sql(fresh_db, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'events_tenant_id_idx'::regclass")
    assert attached == [(3,)]
    assert sql(fresh_db, "SELECT count(*) FROM events") == [(60000 + inserted[0],)]


def test_a_writer_never_queues_behind_apply_waiting_for_an_idle_transaction(fresh_db, sql):
    """A session idle in transaction holds ROW EXCLUSIVE on the parent: ON ONLY queued behind it would
    hold every writer arriving meanwhile for apply's whole lock_timeout — as long as the writer's own
    (the same), so the writer would time out (measured: 1-2 of them per run before the pre-check).
    apply does not queue behind it: it backs off and retries until the transaction ends."""
    sql(fresh_db, PARTITIONED)
    stop = threading.Event()
    inserted, errors = [0], []
    holder = psycopg.connect(fresh_db)
    holder.execute("INSERT INTO events VALUES (1, 1, date '2026-01-05')")      # now idle in transaction
    holder_pid = holder.info.backend_pid
    retries = []

    def progress(event, data):
        if event == "retry":
            retries.append(data["error"])
            if len(retries) == 3:
                holder.commit()

    def write():
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            conn.execute(f"SET lock_timeout = '{FAST['lock_timeout_ms']}ms'")
            i = 100000
            while not stop.is_set():
                try:
                    conn.execute("INSERT INTO events VALUES (%s, %s, date '2026-01-01' + %s)", (i, i % 300, i % 89))
                    inserted[0] += 1
                except psycopg.Error as exc:
                    errors.append(str(exc))
                i += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while inserted[0] < 50:
            time.sleep(0.01)
        wanted = changes("{changes: [{table: public.events, columns: [tenant_id], partitions: "
                         "[public.events_2026_01, public.events_2026_02, public.events_2026_03]}]}")
        report = apply_report(fresh_db, wanted, ApplyOptions(**FAST), progress)
    finally:
        stop.set()
        writer.join()
        holder.close()
    assert rows(report)[0]["status"] == "built", rows(report)
    assert errors == []                                    # no insert waited out its lock_timeout
    assert len(retries) >= 3 and all(f"not queued behind pid {holder_pid}" in r for r in retries[:3])
    assert all(indexes(fresh_db).values()) and len(indexes(fresh_db)) == 4


def test_preflight_names_the_idle_transaction_and_changes_nothing(fresh_db, sql):
    sql(fresh_db, "CREATE TABLE t (a int); INSERT INTO t SELECT generate_series(1, 100);")
    with psycopg.connect(fresh_db) as idle:
        idle.execute("SELECT count(*) FROM t")             # now idle in transaction
        pid = idle.info.backend_pid
        report = apply_report(fresh_db, changes("{changes: [{table: public.t, columns: [a]}]}"),
                              ApplyOptions(**{**FAST, "sample_s": 0.2}), preflight_only=True)
    waits = rows(report, "waits")
    assert [w["pid"] for w in waits] == [pid] and waits[0]["state"] == "idle in transaction"
    (table,) = rows(report, "tables")
    assert table["table"] == "public.t" and table["live_rows"] >= 0 and table["heap_bytes"] > 0
    assert rows(report)[0]["status"] == "planned"
    assert indexes(fresh_db) == {}


def test_preflight_estimates_each_build_from_the_read_rate_it_measured(fresh_db, sql):
    """The estimate is the build's work (2 heap reads + the index) at the rate the pre-flight's scan
    probe read the tables: positive, labelled with that rate, and proportional to the table's size."""
    sql(fresh_db, "CREATE TABLE small (a int); INSERT INTO small SELECT generate_series(1, 2000);"
                  "CREATE TABLE big (a int); INSERT INTO big SELECT generate_series(1, 200000);")
    wanted = changes("{changes: [{table: public.small, columns: [a]}, {table: public.big, columns: [a]}]}")
    report = apply_report(fresh_db, wanted, ApplyOptions(**FAST), preflight_only=True)
    small, big = rows(report)
    heap = {t["table"]: t["heap_bytes"] for t in rows(report, "tables")}
    for row in (small, big):
        assert row["estimated_s"] is not None and row["estimated_s"] > 0, row
        assert "/s this server read the tables at during the pre-flight" in row["estimate"], row
        assert row["estimate"].startswith("≈ ") and "2 heap reads" in row["estimate"], row
    assert "Read rate:" in report.section("tables").note and "measured by reading" in report.section("tables").note
    assert big["estimated_s"] > small["estimated_s"]
    ratio = big["estimated_s"] / small["estimated_s"]
    assert ratio == pytest.approx(heap["public.big"] / heap["public.small"], rel=0.05)   # one rate for both
    assert indexes(fresh_db) == {}


def test_later_builds_are_estimated_from_the_rate_of_the_builds_before_them(fresh_db, sql):
    sql(fresh_db, "CREATE TABLE t (a int, b int); INSERT INTO t SELECT g, g FROM generate_series(1, 20000) g;")
    wanted = changes("{changes: [{table: public.t, columns: [a]}, {table: public.t, columns: [b]}]}")
    first, second = rows(apply_report(fresh_db, wanted, ApplyOptions(**FAST)))
    assert first["status"] == second["status"] == "built"
    assert "during the pre-flight" in first["estimate"] and first["estimated_s"] > 0
    assert "the builds before it in this run achieved" in second["estimate"] and second["estimated_s"] > 0
    # the same work at the rate the first build achieved: its own measured time, give or take rounding
    assert second["estimated_s"] == pytest.approx(first["seconds"], rel=0.05, abs=0.002)


def test_cli_needs_yes_without_a_terminal_and_reports_json(fresh_db, sql, tmp_path):
    from typer.testing import CliRunner

    from perftool.cli.app import app

    sql(fresh_db, "CREATE TABLE t (a int); INSERT INTO t SELECT generate_series(1, 100);")
    change_list = tmp_path / "c.yaml"
    change_list.write_text("{changes: [{table: public.t, columns: [a]}]}")
    runner = CliRunner()
    refused = runner.invoke(app, ["indexes", "apply", str(change_list), "--dsn", fresh_db])
    assert refused.exit_code == 2 and "--yes" in refused.output
    assert indexes(fresh_db) == {}
    dry = runner.invoke(app, ["indexes", "apply", str(change_list), "--dsn", fresh_db, "--dry-run", "-f", "json"])
    assert dry.exit_code == 0 and json.loads(dry.stdout)["changes"][0]["status"] == "planned"
    done = runner.invoke(app, ["indexes", "apply", str(change_list), "--dsn", fresh_db, "--yes", "-f", "json"])
    assert done.exit_code == 0, done.output
    doc = json.loads(done.stdout)
    assert doc["summary"]["built"] == 1 and doc["changes"][0]["index"] == "public.t_a_idx"
    assert indexes(fresh_db) == {"public.t_a_idx": True}


def test_progress_comes_from_pg_stat_progress_create_index(fresh_db, sql):
    """An open transaction holds the build in a waiting phase: the poller reports it (then the
    test ends the transaction from the callback and the build completes)."""
    sql(fresh_db, "CREATE TABLE t (a int); INSERT INTO t SELECT generate_series(1, 10000);")
    holder = psycopg.connect(fresh_db)
    holder.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    holder.execute("SELECT count(*) FROM t")                     # a snapshot the build must wait for
    phases = []
    lock = threading.Lock()

    def progress(event, data):
        if event == "progress":
            with lock:
                phases.append(data["phase"])
                if holder.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    holder.rollback()

    try:
        report = apply_report(fresh_db, changes("{changes: [{table: public.t, columns: [a]}]}"),
                              ApplyOptions(**{**FAST, "lock_timeout_ms": 5000}), progress)
    finally:
        holder.close()
    assert rows(report)[0]["status"] == "built"
    assert any(p.startswith("waiting for") for p in phases), phases
    assert indexes(fresh_db) == {"public.t_a_idx": True}


def test_partitions_are_found_in_the_catalog_when_the_input_lists_none(fresh_db, sql, tmp_path):
    """An index-set declaration (I201) or a change list names the partitioned table only: apply
    and generate --dsn look its partitions up."""
    sql(fresh_db, PARTITIONED)
    wanted = changes("{changes: [{table: public.events, columns: [at]}]}")
    report = apply_report(fresh_db, wanted, ApplyOptions(**FAST))
    assert rows(report)[0]["status"] == "built", rows(report)
    assert any("3 partition(s)" in n for n in report.notes)
    assert len(indexes(fresh_db)) == 4 and all(indexes(fresh_db).values())

    from tests.cli.fast_runner import invoke

    change_list = tmp_path / "c.yaml"
    change_list.write_text("{changes: [{table: public.events, columns: [tenant_id]}]}")
    out = invoke(["indexes", "generate", str(change_list), "--dsn", fresh_db, "--stamp", "1"])
    assert out.exit_code == 0, out.output
    assert out.stdout.count("ATTACH PARTITION") == 3 and "ON ONLY" in out.stdout


def test_the_statements_an_index_was_for_are_planned_again(fresh_db, sql):
    sql(fresh_db, "CREATE TABLE t (a int, b text); INSERT INTO t SELECT g, 'x' || g FROM generate_series(1, 20000) g;")
    sql(fresh_db, "ANALYZE t")
    (plan,) = sql(fresh_db, "EXPLAIN (FORMAT JSON) SELECT b FROM t WHERE a = 5")[0]
    seq_cost = plan[0]["Plan"]["Total Cost"]
    advice = {"command": "indexes recommend", "recommendations": [{
        "definition": 'CREATE INDEX CONCURRENTLY "t_a_idx" ON "public"."t" USING btree ("a");',
        "statements": [{"query": "SELECT b FROM t WHERE a = 5", "origin": "file.sql:1", "cost_before": seq_cost,
                        "cost_after": 8.3},
                       {"query": "SELECT b FROM t WHERE a = $1", "origin": "queryid:7", "cost_before": seq_cost,
                        "cost_after": 8.3}]}]}
    report = apply_report(fresh_db, changes_from_text(json.dumps(advice)).changes, ApplyOptions(**FAST))
    assert rows(report)[0]["status"] == "built"
    checked = rows(report, "verification")
    assert [r["statement"] for r in checked] == ["file.sql:1", "queryid:7"]
    for r in checked:
        assert r["error"] == "" and r["cost_now"] is not None and r["cost_now"] < seq_cost / 10, r


def test_cli_exits_1_when_a_change_failed(fresh_db, sql, tmp_path):
    from tests.cli.fast_runner import invoke

    sql(fresh_db, "CREATE TABLE t (a int); INSERT INTO t VALUES (1), (1);")
    change_list = tmp_path / "c.yaml"
    change_list.write_text("{changes: [{table: public.t, columns: [a], unique: true}]}")
    result = invoke(["indexes", "apply", str(change_list), "--dsn", fresh_db, "--yes", "--retries", "0"])
    assert result.exit_code == 1, result.output
    assert "failed" in result.stdout and "is duplicated" in result.stdout
    assert indexes(fresh_db) == {}
