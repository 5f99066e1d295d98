"""`perftool pool` against the real sandbox: held idle transactions, lock trees (a chain and two
blockers), a prepared transaction holding the horizon, wraparound ages, pgbouncer's queue."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import psycopg
import pytest

from perftool.activity.locks import lock_trees
from perftool.activity.pgbouncer import collect_pgbouncer
from perftool.activity.pool import collect_pool, pool_report
from perftool.config import Thresholds
from perftool.db.connect import connect, server_info


def state_of(dsn, bouncer=None, thresholds=None):
    with connect(dsn) as conn:
        return collect_pool(conn, server_info(conn), host="test", bouncer=bouncer, thresholds=thresholds)


def wait_for(dsn, sql_text, params, predicate, seconds=15):
    deadline = time.monotonic() + seconds
    while True:
        with psycopg.connect(dsn, autocommit=True) as c:
            rows = c.execute(sql_text, params).fetchall()
        if predicate(rows):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting: {rows}")
        time.sleep(0.05)


@pytest.fixture
def sessions(fresh_db):
    """open(n) → n autocommit-off sessions on the test database, all closed afterwards."""
    opened: list[psycopg.Connection] = []
    threads: list[threading.Thread] = []

    def open_(n=1, application_name="app"):
        out = [psycopg.connect(fresh_db, application_name=application_name) for _ in range(n)]
        opened.extend(out)
        return out

    def in_background(conn, text):
        t = threading.Thread(target=lambda: _quiet_execute(conn, text), daemon=True)
        t.start()
        threads.append(t)

    open_.in_background = in_background
    yield open_
    for c in opened:   # blockers first (they were opened first): their waiters then proceed
        try:
            c.cancel()
        except Exception:  # noqa: BLE001
            pass
        c.close()
    for t in threads:
        t.join(10)


def _quiet_execute(conn, text):
    try:
        conn.execute(text)
    except psycopg.Error:
        pass


def test_held_idle_transactions_are_found_with_their_age(fresh_db, sessions):
    held = sessions(3, application_name="leaky")
    for i, c in enumerate(held):
        c.execute(f"SELECT {i} AS held_statement_{i}")
    time.sleep(1.2)
    state = state_of(fresh_db)
    th = replace(Thresholds(), idle_in_transaction_warning_s=1.0, idle_in_transaction_critical_s=300)
    report = pool_report(state, th)
    pids = {c.info.backend_pid for c in held}
    c102 = [f for f in report.findings if f.code == "C102" and f.evidence["pid"] in pids]
    assert {f.evidence["pid"] for f in c102} == pids
    for f in c102:
        assert f.severity.value == "warning" and f.evidence["seconds"] >= 1.2
        assert f.evidence["application_name"] == "leaky" and "held_statement_" in f.evidence["query"]
        assert f.fix.startswith(f"SELECT pg_terminate_backend({f.evidence['pid']})")
    listed = report.section("idle_in_transaction").rows
    assert pids <= {r["pid"] for r in listed}
    group = [r for r in report.section("connections").rows if r["application_name"] == "leaky"]
    assert group and group[0]["connections"] == 3 and group[0]["state"] == "idle in transaction"
    # below the threshold: nothing
    assert not [f for f in pool_report(state, Thresholds()).findings if f.code == "C102"]


def _lock_waiting(dsn, pids, n):
    return wait_for(dsn, "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid = ANY(%s)",
                    (list(pids),), lambda rows: len(rows) >= n)


def test_chain_of_three_blocked_sessions(fresh_db, sessions, sql):
    sql(fresh_db, "CREATE TABLE a (x int); CREATE TABLE b (x int); CREATE TABLE c (x int)")
    A, B, C, D = sessions(4)
    A.execute("LOCK TABLE a IN ACCESS EXCLUSIVE MODE")
    B.execute("LOCK TABLE b IN ACCESS EXCLUSIVE MODE")
    C.execute("LOCK TABLE c IN ACCESS EXCLUSIVE MODE")
    sessions.in_background(B, "LOCK TABLE a IN ACCESS EXCLUSIVE MODE")   # B waits for A
    _lock_waiting(fresh_db, [B.info.backend_pid], 1)
    sessions.in_background(C, "LOCK TABLE b IN ACCESS EXCLUSIVE MODE")   # C waits for B
    _lock_waiting(fresh_db, [C.info.backend_pid], 1)
    sessions.in_background(D, "LOCK TABLE c IN ACCESS EXCLUSIVE MODE")   # D waits for C
    _lock_waiting(fresh_db, [D.info.backend_pid], 1)
    a, b, c, d = (s.info.backend_pid for s in (A, B, C, D))
    state = state_of(fresh_db)
    trees = [t for t in lock_trees(state.backends) if t.pid in (a, b, c, d)]
    assert [t.pid for t in trees] == [a]
    root = trees[0]
    assert [w.pid for w in root.waiters] == [b]
    assert [w.pid for w in root.waiters[0].waiters] == [c]
    assert [w.pid for w in root.waiters[0].waiters[0].waiters] == [d]
    assert root.descendants() == {b, c, d}
    report = pool_report(state, replace(Thresholds(), lock_wait_warning_s=0.0))
    c104 = [f for f in report.findings if f.code == "C104"]
    assert [f.evidence["pid"] for f in c104] == [a]
    assert c104[0].evidence["waiters"] == sorted([b, c, d]) and c104[0].evidence["direct_waiters"] == [b]
    assert f"pg_terminate_backend({a})" in c104[0].fix      # A is idle in transaction: cancel would not help
    rows = [r for r in report.section("lock_tree").rows if r["root"] == a]
    assert [r["depth"] for r in rows] == [0, 1, 2, 3]
    assert rows[3]["blocked_by"] == str(c) and rows[3]["waiting_s"] >= 0


def test_two_blockers_of_one_waiter(fresh_db, sessions, sql):
    sql(fresh_db, "CREATE TABLE x (v int)")
    A, B, C, D = sessions(4)
    A.execute("LOCK TABLE x IN ACCESS SHARE MODE")
    B.execute("LOCK TABLE x IN ACCESS SHARE MODE")
    sessions.in_background(C, "LOCK TABLE x IN ACCESS EXCLUSIVE MODE")   # waits for A and B
    _lock_waiting(fresh_db, [C.info.backend_pid], 1)
    sessions.in_background(D, "LOCK TABLE x IN ACCESS SHARE MODE")       # queued behind C
    _lock_waiting(fresh_db, [D.info.backend_pid], 1)
    a, b, c, d = (s.info.backend_pid for s in (A, B, C, D))
    state = state_of(fresh_db)
    by_pid = {x.pid: x for x in state.backends}
    assert sorted(by_pid[c].blocked_by) == sorted([a, b]) and by_pid[d].blocked_by == [c]
    trees = [t for t in lock_trees(state.backends) if t.pid in (a, b, c, d)]
    assert sorted(t.pid for t in trees) == sorted([a, b])      # the waiter C is no root, though it blocks D
    for t in trees:
        assert [w.pid for w in t.waiters] == [c] and [w.pid for w in t.waiters[0].waiters] == [d]
    c104 = [f for f in pool_report(state, replace(Thresholds(), lock_wait_warning_s=0.0)).findings
            if f.code == "C104"]
    assert sorted(f.evidence["pid"] for f in c104) == sorted([a, b])
    assert all(f.evidence["waiters"] == sorted([c, d]) for f in c104)


def test_prepared_transaction_holds_the_horizon_and_table_ages(fresh_db, sql):
    sql(fresh_db, "CREATE TABLE old_rows (v int); INSERT INTO old_rows VALUES (1)")
    gid = "perftool_test_prepared"
    with psycopg.connect(fresh_db) as c:
        c.execute("INSERT INTO old_rows VALUES (2)")
        c.execute(f"PREPARE TRANSACTION '{gid}'")
    try:
        for _ in range(30):   # consume transaction IDs so the table's age grows
            sql(fresh_db, "SELECT txid_current()")
        sql(fresh_db, "VACUUM (FREEZE) old_rows")   # cannot freeze past the prepared transaction's xmin
        time.sleep(1.1)
        th = replace(Thresholds(), idle_in_transaction_warning_s=1.0, xid_age_warning=20, xid_age_critical=10 ** 9)
        state = state_of(fresh_db, thresholds=th)
        holder = next(h for h in state.holders if h.kind == "prepared transaction" and h.holder == gid)
        assert holder.datname == state.info.database and holder.xmin_age >= 30
        report = pool_report(state, th)
        c105 = [f for f in report.findings if f.code == "C105" and f.evidence["holder"] == gid]
        assert len(c105) == 1 and f"COMMIT PREPARED '{gid}'" in c105[0].fix
        d104 = [f for f in report.findings if f.code == "D104" and f.object == "public.old_rows"]
        assert d104 and d104[0].evidence["xid_age"] >= 30
        assert d104[0].fix == 'VACUUM (FREEZE, VERBOSE) "public"."old_rows";'
        assert gid in d104[0].detail          # the detail names what the freeze cannot get past
        d103 = [f for f in report.findings if f.code == "D103" and f.object == state.info.database]
        assert d103 and "VACUUM (FREEZE, VERBOSE)" in d103[0].fix
    finally:
        sql(fresh_db, f"ROLLBACK PREPARED '{gid}'")


def test_pgbouncer_clients_waiting_on_an_exhausted_pool(fresh_db, sandbox, pgbouncer):
    dbname = fresh_db.rsplit("/", 1)[1]
    via_bouncer = f"postgresql://postgres@127.0.0.1:{pgbouncer}/{dbname}"
    admin = f"postgresql://postgres@127.0.0.1:{pgbouncer}/pgbouncer"
    holders = [psycopg.connect(via_bouncer, prepare_threshold=None) for _ in range(5)]   # default_pool_size = 5
    waiter = psycopg.connect(via_bouncer, autocommit=True, prepare_threshold=None)
    t = None
    try:
        for h in holders:
            h.execute("SELECT 1")            # each transaction keeps its server connection
        t = threading.Thread(target=lambda: waiter.execute("SELECT 1"), daemon=True)
        t.start()
        deadline = time.monotonic() + 15
        while True:
            bouncer = collect_pgbouncer(admin)
            pool = next((p for p in bouncer.pools if p.database == dbname), None)
            if pool and pool.cl_waiting >= 1:
                break
            assert time.monotonic() < deadline, f"no client waiting: {bouncer}"
            time.sleep(0.05)
        time.sleep(0.3)
        bouncer = collect_pgbouncer(admin)
        pool = next(p for p in bouncer.pools if p.database == dbname)
        assert pool.sv_active == 5 and pool.pool_size == 5 and pool.cl_waiting == 1 and pool.maxwait_s > 0
        report = pool_report(state_of(fresh_db, bouncer), Thresholds())
        c106 = [f for f in report.findings if f.code == "C106" and f.evidence["database"] == dbname]
        assert c106 and c106[0].evidence["cl_waiting"] == 1 and c106[0].severity.value == "warning"
        assert "pool_size ≥ 8" in c106[0].fix     # observed concurrency 6, plus a quarter
        c107 = [f for f in report.findings if f.code == "C107" and f.evidence["database"] == dbname]
        assert c107 and c107[0].severity.value == "error" and c107[0].evidence["utilisation"] == 1.0
        assert bouncer.max_client_conn == 50 and bouncer.clients >= 7
        names = {m["name"] for m in report.data["metrics"]}
        assert "pgbouncer_pools_client_waiting_connections" in names
    finally:
        for h in holders:
            h.close()
        if t:
            t.join(10)
        waiter.close()
