"""Shared fixtures: one real PostgreSQL sandbox per test session, a fresh database per test.

The test sandbox lives apart from the demo's (`$PERFTOOL_SANDBOX_DIR`, default: the demo's
directory + "-test"), so tests never disturb `make demo`, and is stopped when the session ends.
Tests build their scenario in SQL in their own database and assert on perftool's records.
"""

from __future__ import annotations

import os
import re
import uuid

import pytest

from perftool import sandbox as sandbox_module

if not os.environ.get("PERFTOOL_SANDBOX_DIR"):
    os.environ["PERFTOOL_SANDBOX_DIR"] = str(sandbox_module.default_dir()) + "-test"
os.environ.pop("DATABASE_URL", None)
os.environ.setdefault("NO_COLOR", "1")


@pytest.fixture(scope="session")
def sandbox():
    sb = sandbox_module.Sandbox.default()
    sb.start()
    yield sb
    if not os.environ.get("PERFTOOL_KEEP_TEST_SANDBOX"):
        sb.stop()


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
