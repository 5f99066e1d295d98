"""`analyze` on scenarios built in SQL on the sandbox: each asserts on perftool's findings."""

import json

import psycopg
import pytest

from perftool.analyze.options import AnalyzeOptions, Target
from perftool.analyze.run import analyze_report
from perftool.config import Thresholds
from perftool.db.connect import connect, server_info
from perftool.workload.snapshot import delta, take_snapshot

ORDERS = """
CREATE TABLE customers (id int PRIMARY KEY, region text NOT NULL, name text);
INSERT INTO customers SELECT g, 'r' || (g % 4), 'c' || g FROM generate_series(1, 200) g;
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL REFERENCES customers,
                     status text NOT NULL, created_at timestamptz NOT NULL, total numeric);
INSERT INTO orders SELECT g, 1 + g % 200, (ARRAY['new','paid','shipped','done'])[1 + g % 4],
       now() - (g || ' minutes')::interval, g % 1000 FROM generate_series(1, 60000) g;
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
VACUUM ANALYZE customers, orders;
"""


def setup(dsn, text=ORDERS):
    with psycopg.connect(dsn, autocommit=True) as conn:
        for part in text.split(";"):
            if part.strip():
                conn.execute(part)


def run(dsn, statements):
    """[(sql, params), …] executed on one connection, its statistics flushed before it returns (a
    backend flushes them as it exits too, but the client's close does not wait for that: a snapshot
    taken right after could miss them, seen under load)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for text, params in statements:
            conn.execute(text, params)
        conn.execute("SELECT pg_stat_force_next_flush()")    # done before the server says it is ready


def codes(report, code):
    return [f for f in report.findings if f.code == code]


def test_seq_scan_heavy_table_with_statements_and_fix(fresh_db):
    setup(fresh_db)
    hot = "SELECT id, total FROM orders WHERE status = %s AND created_at > now() - %s::interval"
    run(fresh_db, [(hot, ("paid", "3 days"))] * 25 + [("SELECT * FROM orders WHERE id = %s", (i,)) for i in range(20)])
    report = analyze_report(fresh_db)
    t201 = codes(report, "T201")
    assert [f.object for f in t201] == ["public.orders"]
    f = t201[0]
    assert f.evidence["seq_scan"] >= 25 and f.evidence["n_live_tup"] >= 60000
    assert "FROM orders WHERE status = $1 AND created_at > now() - $2::interval" in f.detail
    assert 'CREATE INDEX CONCURRENTLY "orders_status_created_at_idx" ON "public"."orders" USING btree ("status", "created_at");' \
        in f.fix
    # near miss: the small customers table is seq-scanned too, but is too small to matter
    assert not [x for x in t201 if "customers" in x.object]
    tables = {r["table"]: r for r in report.section("tables").rows}
    assert tables["public.orders"]["seq_scan"] >= 25 and tables["public.orders"]["has_pk"] is True


def test_n_plus_one_loop_is_named_with_its_parent(fresh_db):
    setup(fresh_db)
    stmts = []
    parent = "SELECT id, name FROM customers WHERE region = %s ORDER BY id"
    for region in ["r1", "r2"] * 6:
        stmts.append((parent, (region,)))
        ids = range(1 if region == "r1" else 2, 201, 4)
        stmts += [("SELECT id, status, total FROM orders WHERE customer_id = %s ORDER BY id DESC LIMIT 5", (i,))
                  for i in ids]
    run(fresh_db, stmts)
    report = analyze_report(fresh_db, AnalyzeOptions(n_plus_one_min_calls=100))
    q110 = codes(report, "Q110")
    assert len(q110) == 1, [f.title for f in report.findings]
    f = q110[0]
    assert f.severity.value == "warning"
    assert f.evidence["calls"] == 600 and f.evidence["column"] == "customer_id" and f.evidence["table"] == "orders"
    assert f.evidence["parent_calls"] == 12 and f.evidence["parent_rows"] == 600
    assert "orders WHERE customer_id = ANY($1)" in f.fix
    # JSON carries the same finding
    doc = report.as_dict()
    assert [x["code"] for x in doc["findings"]].count("Q110") == 1


def test_dashboard_counts_are_flagged(fresh_db):
    setup(fresh_db)
    page = [("SELECT count(*) FROM orders WHERE status = %s", (s,)) for s in ("new", "paid", "shipped", "done")]
    run(fresh_db, page * 20)
    report = analyze_report(fresh_db)
    q111 = codes(report, "Q111")
    assert len(q111) == 1 and q111[0].object == "orders" and q111[0].evidence["calls"] == 80
    assert "GROUP BY status" in q111[0].fix


def test_low_cache_hit_ratio_from_a_table_larger_than_the_buffer_ring(fresh_db):
    # a table larger than shared_buffers/4 (128 MB / 4) is seq-scanned through a small ring buffer:
    # almost every block is a read, so the hit ratio is low whatever the OS cache holds
    # CREATE TABLE AS writes through a ring buffer too, so the new table is not left in shared_buffers
    setup(fresh_db, "CREATE TABLE big AS SELECT g::bigint AS id, repeat('x', 200) AS pad "
                    "FROM generate_series(1, 250000) g;"
                    "VACUUM ANALYZE big;")
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_reset()")
    run(fresh_db, [("SELECT count(*) FROM big WHERE pad LIKE %s", ("%y%",))] * 3)
    report = analyze_report(fresh_db)
    d101 = codes(report, "D101")
    assert len(d101) == 1 and d101[0].evidence["hit_ratio"] < 0.6 and d101[0].severity.value == "error"
    t203 = codes(report, "T203")
    assert [f.object for f in t203] == ["public.big"]
    assert report.section("tables").rows[0]["table"] == "public.big"
    assert report.section("tables").rows[0]["has_pk"] is False
    cache = report.section("cache").rows
    assert cache[0]["scope"] == "database" and cache[0]["hit_ratio"] < 0.6


def test_dead_tuples_autovacuum_behind(fresh_db):
    setup(fresh_db, "CREATE TABLE churn (id int PRIMARY KEY, v int) WITH (autovacuum_enabled = false);"
                    "INSERT INTO churn SELECT g, g FROM generate_series(1, 50000) g;"
                    "DELETE FROM churn WHERE id % 3 = 0;")
    report = analyze_report(fresh_db, AnalyzeOptions(sections=["tables"]))
    t202 = codes(report, "T202")
    assert [f.object for f in t202] == ["public.churn"]
    assert t202[0].evidence["n_dead_tup"] == 16666
    assert "VACUUM" in t202[0].fix
    assert 'ALTER TABLE "public"."churn" SET (autovacuum_enabled = true);' in t202[0].fix


def test_interval_delta_counts_only_what_ran_in_between(fresh_db):
    setup(fresh_db)
    q = "SELECT count(*) FROM orders WHERE customer_id = %s"
    run(fresh_db, [(q, (1,))] * 7)  # before the window: must not be counted
    with connect(fresh_db) as conn:
        info = server_info(conn)
        first = take_snapshot(conn, info, host="h")
        run(fresh_db, [(q, (i,)) for i in range(13)])
        second = take_snapshot(conn, info, host="h")
    d = delta(first, second)
    row = next(s for s in d.statements if "FROM orders WHERE customer_id = $1" in s.query)
    assert row.calls == 13
    orders = next(t for t in d.tables if t["table"] == "orders")
    assert orders["idx_scan"] == 13 and orders["seq_scan"] == 0
    assert d.interval_s > 0


def test_interval_mode_end_to_end(fresh_db):
    import threading
    import time

    setup(fresh_db)
    q = "SELECT id FROM orders WHERE customer_id = %s"

    def traffic():
        time.sleep(0.4)
        run(fresh_db, [(q, (i,)) for i in range(30)])

    worker = threading.Thread(target=traffic)
    worker.start()
    report = analyze_report(fresh_db, AnalyzeOptions(interval=1.5, sections=["workload"]))
    worker.join()
    rows = [r for r in report.section("statements").rows if "customer_id = $1" in r["query"]]
    assert rows and rows[0]["calls"] == 30
    assert rows[0]["calls_per_s"] == pytest.approx(30 / report.data["workload"]["interval_s"], rel=1e-3)
    assert "in the last" in report.data["workload"]["window"]


def test_two_hosts_merge_by_text_and_replica_scans_count(fresh_db, sandbox_dsn_factory):
    replica = sandbox_dsn_factory("t_analyze_fake_replica")
    setup(fresh_db)
    setup(replica)
    lookup = "SELECT * FROM orders WHERE id = %s"
    report_q = "SELECT status, sum(total) FROM orders WHERE created_at > now() - %s::interval GROUP BY status"
    run(fresh_db, [(lookup, (i,)) for i in range(40)])
    run(replica, [(lookup, (i,)) for i in range(60)] + [(report_q, ("1 day",))] * 30)  # reports run on the replica
    report = analyze_report(targets=[Target("primary", fresh_db, "primary"), Target("replica1", replica, "replica")])
    rows = [r for r in report.section("statements").rows if "FROM orders WHERE id = $1" in r["query"]]
    assert len(rows) == 1 and rows[0]["calls"] == 100
    assert rows[0]["hosts"] == "primary 40 / replica1 60"
    hosts = {r["host"]: r for r in report.section("hosts").rows}
    assert set(hosts) == {"primary", "replica1"} and hosts["replica1"]["role"] == "replica"
    t201 = codes(report, "T201")
    assert [f.object for f in t201] == ["public.orders"]  # only the replica seq-scanned it
    assert report.server["hosts"] == ["primary", "replica1"]


def test_report_renders_in_every_format(fresh_db):
    from perftool.report.render import FORMATS, render_to_string

    setup(fresh_db, ORDERS + "CREATE TABLE idle (id int);")   # no index build: never scanned
    run(fresh_db, [("SELECT * FROM orders WHERE status = %s", ("new",))] * 5)
    report = analyze_report(fresh_db)
    assert 0 <= report.data["score"]["score"] <= 100
    assert report.sections[0].title.startswith("Health score")
    doc = json.loads(render_to_string(report, "json"))
    assert doc["command"] == "analyze" and "score" in doc and "statements" in doc and "by_type" in doc
    prom = render_to_string(report, "prometheus")
    assert "perftool_health_score" in prom and "# TYPE perftool_statement_total_seconds gauge" in prom
    # a series per table scanned sequentially, none for an idle one
    seq = {m["labels"]["table"]: m["value"] for m in doc["metrics"] if m["name"] == "perftool_table_seq_scans"}
    tables = {r["table"]: r["seq_scan"] for r in doc["tables"]}
    assert seq == {t: n for t, n in tables.items() if n} and seq and any(not n for n in tables.values())
    for fmt in FORMATS:
        assert render_to_string(report, fmt)


def test_same_input_same_score(fresh_db):
    setup(fresh_db)
    run(fresh_db, [("SELECT * FROM orders WHERE status = %s", ("new",))] * 5)
    a = analyze_report(fresh_db)
    b = analyze_report(fresh_db)
    assert a.data["score"] == b.data["score"]
    assert [f.code for f in a.findings] == [f.code for f in b.findings]


def test_fleet_unused_index_must_be_unused_on_every_host(fresh_db, sandbox_dsn_factory):
    replica = sandbox_dsn_factory("t_analyze_unused_replica")
    for dsn in (fresh_db, replica):
        setup(dsn, "CREATE TABLE ev (id int PRIMARY KEY, kind int, at timestamptz);"
                   "INSERT INTO ev SELECT g, g % 50000, now() - g * interval '1 s' FROM generate_series(1, 100000) g;"
                   "CREATE INDEX ev_kind_idx ON ev (kind);"
                   "CREATE INDEX ev_at_idx ON ev (at);"
                   "VACUUM ANALYZE ev")
    run(replica, [("SELECT count(*) FROM ev WHERE kind = %s", (k,)) for k in range(60)])  # reports on the replica
    options = AnalyzeOptions(sections=["indexes"], thresholds=Thresholds(unused_index_min_stats_days=0))
    alone = analyze_report(fresh_db, options)
    alone_objects = " ".join(f.object for f in codes(alone, "I104"))
    assert "ev_at_idx" in alone_objects and "ev_kind_idx" in alone_objects
    both = analyze_report(targets=[Target("primary", fresh_db, "primary"), Target("r1", replica, "replica")],
                          options=options)
    objects = " ".join(f.object for f in codes(both, "I104"))
    assert "ev_at_idx" in objects and "ev_kind_idx" not in objects
    # a third host that cannot be reached might be the one using ev_at_idx: no I104 at all, said once
    down = f"postgresql://app:pw@127.0.0.1:{closed_port()}/app?connect_timeout=3"
    partial = analyze_report(targets=[Target("primary", fresh_db, "primary"), Target("r1", replica, "replica"),
                                      Target("r2", down, "replica")], options=options)
    assert codes(partial, "I104") == [] and [f.object for f in codes(partial, "R103")] == ["r2"]
    assert any(n.startswith("I104: 1 possibly unused") and "r2 could not be analysed" in n for n in partial.notes)
    assert [r["status"] for r in partial.section("hosts").rows] == ["ok", "ok", "unreachable"]
    # the default window (7 days) is longer than these counters: silent, with a note
    quiet = analyze_report(fresh_db, AnalyzeOptions(sections=["indexes"]))
    assert codes(quiet, "I104") == [] and any("I104 (unused index) silent" in n for n in quiet.notes)


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_fleet_one_host_down_library(fresh_db):
    """analyze_report with one unreachable target: the rest is reported, R103 names the host,
    require_all_hosts raises; the pure build_report turns each UnreachableHost into one R103."""
    from perftool.analyze.options import UnreachableHost
    from perftool.analyze.run import build_report, collect
    from perftool.db.errors import ConnectionFailed

    setup(fresh_db)
    run(fresh_db, [("SELECT * FROM orders WHERE id = %s", (i,)) for i in range(5)])
    down = f"postgresql://app:Hunter2pw@127.0.0.1:{closed_port()}/app?connect_timeout=3"
    targets = [Target("replica9", down, "replica"), Target("primary", fresh_db, "primary")]
    report = analyze_report(targets=targets)
    assert any("FROM orders WHERE id = $1" in r["query"] for r in report.section("statements").rows)
    (r103,) = codes(report, "R103")
    assert r103.object == "replica9" and r103.severity == "error" and "Hunter2pw" not in repr(r103)
    assert report.findings[0].severity == "error"
    with pytest.raises(ConnectionFailed, match="host replica9: cannot connect"):
        analyze_report(targets=targets, options=AnalyzeOptions(require_all_hosts=True))
    snaps, unreachable = collect([Target("primary", fresh_db, "primary")], AnalyzeOptions())
    assert unreachable == []
    again = build_report(snaps, AnalyzeOptions(), [UnreachableHost("r1", "replica", "timeout"),
                                                   UnreachableHost("r2", "replica", "refused")])
    assert [f.object for f in codes(again, "R103")] == ["r1", "r2"]
    assert again.server["unreachable"] == ["r1", "r2"] and again.server["hosts"] == [snaps[0].host]


def test_the_snapshot_reports_the_servers_settings_not_its_sessions(fresh_db):
    """The snapshot reads inside its own transaction settings (stats_session.sql); the database
    row's work_mem and shared_buffers are the server's, which the temp-files finding quotes."""
    with psycopg.connect(fresh_db, autocommit=True) as plain:
        work_mem, shared_buffers = plain.execute("SELECT current_setting('work_mem'), "
                                                 "current_setting('shared_buffers')").fetchone()
    with connect(fresh_db) as conn:
        snap = take_snapshot(conn, server_info(conn), host="h")
    assert (snap.database["work_mem"], snap.database["shared_buffers"]) == (work_mem, shared_buffers)


def test_the_snapshot_reads_its_index_rows_beside_and_alone_alike(fresh_db, monkeypatch):
    """The snapshot's index rows come from a sibling session (workload/snapshot.py); without one
    (max_connections reached) the same rows are read on the first session."""
    from perftool.db import beside as beside_module

    with psycopg.connect(fresh_db, autocommit=True) as plain:
        plain.execute("CREATE TABLE t (id int PRIMARY KEY, v int); CREATE INDEX t_v ON t (v); "
                      "INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g; ANALYZE t")
    with connect(fresh_db) as conn:
        beside = take_snapshot(conn, server_info(conn), host="h")
        monkeypatch.setattr(beside_module.Beside, "available", lambda self: False)
        alone = take_snapshot(conn, server_info(conn), host="h")
    rows = [(r["schema"], r["table"], r["index"], r["idx_scan"]) for r in beside.indexes]
    assert rows == [(r["schema"], r["table"], r["index"], r["idx_scan"]) for r in alone.indexes]
    assert {r[2] for r in rows} == {"t_pkey", "t_v"}
