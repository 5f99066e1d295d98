"""Index sets against a real server: the server's own printing of expressions and predicates
(casts, ANY (ARRAY[...]), parentheses) matches a set written the way people write SQL; a snapshot
round-trips to no drift; drift is found and its fix SQL repairs it."""

import psycopg
import pytest
import yaml

from perftool.catalog.schema import collect_catalog
from perftool.db.connect import connect
from perftool.health.checks import CheckContext, analyze_catalog, select_checks
from perftool.health.index_sets import diff_index_set, load_index_set_text, snapshot_yaml

SCHEMA = """
CREATE SCHEMA app;
CREATE TABLE app.users (id bigint PRIMARY KEY, email varchar(200) NOT NULL, deleted_at timestamptz,
                        status text, doc jsonb, code text, "Nick Name" text, created_at timestamptz);
CREATE UNIQUE INDEX users_email_live ON app.users (lower(email)) WHERE deleted_at IS NULL;
CREATE INDEX users_open ON app.users (created_at DESC NULLS LAST) WHERE status IN ('queued', 'open');
CREATE INDEX users_code_like ON app.users (code text_pattern_ops);
CREATE INDEX users_code_c ON app.users (code COLLATE "C");
CREATE INDEX users_cover ON app.users (status) INCLUDE (id, created_at);
CREATE INDEX users_doc ON app.users USING gin (doc jsonb_path_ops);
CREATE INDEX users_code_hash ON app.users USING hash (code);
CREATE INDEX users_created_brin ON app.users USING brin (created_at);
CREATE INDEX "Users Nick" ON app.users ("Nick Name");
CREATE TABLE app.events (id bigint, at date NOT NULL, kind text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE app.events_2024 PARTITION OF app.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE INDEX events_kind ON app.events (kind);
CREATE INDEX events_2024_only ON app.events_2024 (at);
"""

HUMAN = """\
schema: app
complete: true
tables:
  users:
    - {columns: [id], primary: true}
    - {columns: ["LOWER(email)"], unique: true, where: "deleted_at is null"}
    - {columns: [created_at DESC NULLS LAST], where: "status in ('queued','open')"}
    - {columns: [code text_pattern_ops]}
    - {columns: ['code COLLATE "C"']}
    - {columns: [status], include: [created_at, id]}
    - {columns: [{column: doc, opclass: jsonb_path_ops}], method: gin}
    - {columns: [code], method: hash}
    - {columns: [created_at], method: brin}
    - {columns: ['"Nick Name"'], name: '"Users Nick"'}
  events:
    - {columns: [id, at], primary: true}
    - {columns: [kind]}
  events_2024:
    - {columns: [at]}
"""


@pytest.fixture(scope="module")
def db(sandbox_dsn_factory):
    dsn = sandbox_dsn_factory("t_index_sets_server")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SCHEMA)
    return dsn


def catalog_of(dsn, **kw):
    with connect(dsn) as conn:
        return collect_catalog(conn, bloat=False, **kw)


def test_a_set_written_by_hand_matches_the_servers_forms(db):
    drift = diff_index_set(catalog_of(db, schema="app"), load_index_set_text(HUMAN, "human.yaml"))
    assert not drift.missing and not drift.different and not drift.extra, drift
    # the partitions' own copies of events_kind / the pkey are not separate declarations
    assert len(drift.matched) == 13


def test_snapshot_round_trips_on_a_real_catalog(db):
    catalog = catalog_of(db, schema="app")
    text = snapshot_yaml(catalog, "app")
    doc = yaml.safe_load(text)
    assert doc["schema"] == "app" and "events_2024" in doc["tables"]
    assert [e["name"] for e in doc["tables"]["events_2024"]] == ["events_2024_only"]  # attached copies left out
    drift = diff_index_set(catalog, load_index_set_text(text, "snap.yaml"))
    assert not drift.missing and not drift.different and not drift.extra


def test_drift_and_its_fix_sql_repair_it(db, sandbox_dsn_factory):
    dsn = sandbox_dsn_factory("t_index_sets_fix")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SCHEMA)
        conn.execute("DROP INDEX app.users_open")                          # missing
        conn.execute("DROP INDEX app.users_code_like")
        conn.execute("CREATE INDEX users_code_like ON app.users (code)")   # different (same name, default opclass)
        conn.execute("CREATE INDEX users_by_hand ON app.users (status, code)")  # undeclared
    index_set = load_index_set_text(HUMAN.replace("{columns: [code text_pattern_ops]}",
                                                  "{columns: [code text_pattern_ops], name: users_code_like}"), "h.yaml")
    ctx = CheckContext(catalog=catalog_of(dsn, schema="app"), index_set=index_set)
    findings = analyze_catalog(ctx, select_checks(index_set=True, only=["I2*"]))
    by = {f.code: f for f in findings}
    assert {f.code for f in findings} == {"I201", "I202", "I203"} and len(findings) == 3
    assert by["I201"].evidence["line"] == 7 and by["I201"].evidence["file"] == "h.yaml"
    assert by["I202"].object == "app.users_by_hand"
    assert by["I203"].object == "app.users_code_like"
    assert by["I203"].evidence["differences"] == ["code operator class text_ops, declared text_pattern_ops"]
    with psycopg.connect(dsn, autocommit=True) as conn:  # run every fix statement, one by one (CONCURRENTLY)
        for f in findings:
            for statement in f.fix.split(";\n"):
                statement = "\n".join(ln for ln in statement.splitlines() if not ln.startswith("--")).strip()
                if statement:
                    conn.execute(statement)
    drift = diff_index_set(catalog_of(dsn, schema="app"), index_set)
    assert not drift.missing and not drift.different and not drift.extra
