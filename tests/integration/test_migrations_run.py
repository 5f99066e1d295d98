"""Generated migrations run for real against the sandbox: the SQL files (their statements sent one
by one in autocommit, as psql -f does), Alembic upgrade + downgrade and Django migrate + migrate
zero. Each checks that every index exists and is valid, then that the down step removes it; the
invalid-index guard drops a broken leftover of a failed run instead of keeping it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import psycopg
import pytest

from perftool.migrations.changes import read_changes
from perftool.migrations.frameworks import Options, generate, write_migration
from perftool.workload.sources import split_statements

FIXTURES = Path(__file__).parent.parent / "fixtures" / "migrations"
OPTIONS = Options(name="add indexes", stamp="20260102030405")

SCENARIO = """
CREATE SCHEMA shop;
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int NOT NULL, status text NOT NULL,
                     created_at timestamptz NOT NULL, note text);
INSERT INTO orders (customer_id, status, created_at, note)
  SELECT g % 500, (ARRAY['open','done','void'])[1 + g % 3], now() - g * interval '1 minute', 'n' || g
  FROM generate_series(1, 20000) g;
CREATE INDEX orders_note_idx ON orders (note);
CREATE INDEX orders_legacy_idx ON orders (status, note);
CREATE TABLE shop."Line Items" (id int, sku text, deleted_at timestamptz);
INSERT INTO shop."Line Items" SELECT g, 'SKU' || g, NULL FROM generate_series(1, 1000) g;
CREATE TABLE events (id bigint NOT NULL, tenant_id int NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2026_01 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE events_2026_02 PARTITION OF events FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
INSERT INTO events SELECT g, g % 300, date '2026-01-01' + (g % 59) FROM generate_series(1, 20000) g;
"""

INDEXES = """SELECT n.nspname || '.' || c.relname, i.indisvalid FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname IN ('public', 'shop') AND NOT i.indisprimary ORDER BY 1"""


def indexes(dsn: str) -> dict[str, bool]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return dict(conn.execute(INDEXES).fetchall())


def run_file(dsn: str, path: Path) -> None:
    """What psql -f does: each statement of the file in autocommit (perftool's own statements)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for _, statement in split_statements(path.read_text()):
            conn.execute(statement.encode())   # bytes: no client-side parameter parsing of '%'


def changes(name: str):
    return read_changes(FIXTURES / name).changes


EXPECTED = {  # the change list's creates: parent, partitions, and the unique expression index
    "public.orders_customer_id_created_at_desc_incl_df3f9a1d_idx", "public.events_at_9b151ff6_idx",
    "public.events_2026_01_at_9b151ff6_idx", "public.events_2026_02_at_9b151ff6_idx",
    "shop.Line Items_lower_sku_deleted_at_is_null_4c07d1b8_idx"}


def test_sql_up_and_down_against_the_server(fresh_db, sql, tmp_path):
    sql(fresh_db, SCENARIO)
    up, down = write_migration(generate(changes("changes.yaml"), "sql", OPTIONS), tmp_path)
    run_file(fresh_db, up)
    after = indexes(fresh_db)
    assert EXPECTED <= set(after) and all(after[n] for n in EXPECTED), after
    assert "public.orders_note_idx" not in after and "public.orders_legacy_idx" not in after   # the drops
    run_file(fresh_db, up)                                   # a re-run is a no-op
    assert indexes(fresh_db) == after
    run_file(fresh_db, down)
    back = indexes(fresh_db)
    assert not EXPECTED & set(back), back
    assert back.get("public.orders_note_idx") is True       # the reversible drop came back
    assert "public.orders_legacy_idx" not in back             # the other one could not


def test_the_guard_drops_an_invalid_leftover_and_the_check_fails_a_broken_build(fresh_db, sql, tmp_path):
    sql(fresh_db, "CREATE TABLE t (a int); INSERT INTO t VALUES (1), (1), (2);")
    change_list = tmp_path / "c.yaml"
    change_list.write_text("{changes: [{table: public.t, columns: [a], unique: true, name: t_a_key}]}")
    (up, _) = write_migration(generate(read_changes(change_list).changes, "sql", OPTIONS), tmp_path / "m")
    with pytest.raises(psycopg.errors.UniqueViolation):
        run_file(fresh_db, up)
    assert indexes(fresh_db) == {"public.t_a_key": False}     # what a failed CONCURRENTLY build leaves
    # IF NOT EXISTS alone would now "succeed" and keep the broken index: the guard drops it, the build
    # fails again on the same data, and nothing claims success
    with pytest.raises(psycopg.errors.UniqueViolation):
        run_file(fresh_db, up)
    sql(fresh_db, "DELETE FROM t WHERE ctid = (SELECT max(ctid) FROM t WHERE a = 1)")
    run_file(fresh_db, up)
    assert indexes(fresh_db) == {"public.t_a_key": True}


def test_the_check_step_fails_when_the_index_is_invalid(fresh_db, sql, tmp_path):
    """The last step refuses an INVALID index even when the build statement itself did not fail."""
    sql(fresh_db, "CREATE TABLE t (a int); INSERT INTO t VALUES (1), (1);")
    try:
        sql(fresh_db, "CREATE UNIQUE INDEX CONCURRENTLY t_a_key ON t (a)")
    except psycopg.Error:
        pass
    (up, _) = write_migration(generate(read_changes_text("{changes: [{table: public.t, columns: [a], unique: true, "
                                                         "name: t_a_key}]}"), "sql", OPTIONS), tmp_path)
    statements = [s for _, s in split_statements(up.read_text())]
    check = statements[-1]
    assert "indisvalid" in check and "RAISE EXCEPTION" in check
    with psycopg.connect(fresh_db, autocommit=True) as conn, pytest.raises(psycopg.errors.RaiseException,
                                                                            match="missing or INVALID"):
        conn.execute(check.encode())


def read_changes_text(text: str):
    from perftool.migrations.changes import changes_from_text

    return changes_from_text(text).changes


ALEMBIC_ENV = '''
from alembic import context
from sqlalchemy import create_engine

def run_migrations_online():
    engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=None, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()

run_migrations_online()
'''


def _sqlalchemy_url(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+psycopg://", 1)


def test_alembic_upgrade_and_downgrade(fresh_db, sql, tmp_path):
    pytest.importorskip("alembic")
    from alembic import command
    from alembic.config import Config

    sql(fresh_db, SCENARIO)
    scripts = tmp_path / "alembic"
    (scripts / "versions").mkdir(parents=True)
    (scripts / "env.py").write_text(ALEMBIC_ENV)
    (scripts / "script.py.mako").write_text("")
    colon = read_changes_text("{changes: [{table: public.orders, columns: [note], name: orders_note_draft_idx, "
                              "where: \"note <> ':draft'\"}]}")    # `:draft` is no bind parameter
    write_migration(generate(changes("changes.yaml") + colon, "alembic", OPTIONS), scripts / "versions")
    config = Config()
    config.set_main_option("script_location", str(scripts))
    config.set_main_option("sqlalchemy.url", _sqlalchemy_url(fresh_db))
    command.upgrade(config, "head")
    after = indexes(fresh_db)
    assert EXPECTED <= set(after) and all(after[n] for n in EXPECTED), after
    assert after["public.orders_note_draft_idx"] is True
    assert sql(fresh_db, "SELECT pg_get_expr(indpred, indrelid) FROM pg_index "
                         "WHERE indexrelid = 'orders_note_draft_idx'::regclass") == [("(note <> ':draft'::text)",)]
    command.downgrade(config, "base")
    back = indexes(fresh_db)
    assert not EXPECTED & set(back) and back.get("public.orders_note_idx") is True


DJANGO_SETTINGS = """
import os
SECRET_KEY = "test"
INSTALLED_APPS = ["perfapp"]
USE_TZ = True
DATABASES = {{"default": {{"ENGINE": "django.db.backends.postgresql", "NAME": {name!r}, "USER": {user!r},
                          "HOST": {host!r}, "PORT": {port!r}}}}}
"""


def test_django_migrate_and_back(fresh_db, sql, tmp_path):
    pytest.importorskip("django")
    from perftool.db.connect import parse_dsn

    sql(fresh_db, SCENARIO)
    params = parse_dsn(fresh_db)
    (tmp_path / "settings_perf.py").write_text(DJANGO_SETTINGS.format(
        name=params.get("dbname"), user=params.get("user", "postgres"), host=params.get("host", ""),
        port=params.get("port", "")))
    app = tmp_path / "perfapp"
    (app / "migrations").mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "migrations" / "__init__.py").write_text("")
    (app / "models.py").write_text("")
    (path,) = write_migration(generate(changes("changes.yaml"), "django", OPTIONS), app / "migrations")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "DJANGO_SETTINGS_MODULE": "settings_perf"}

    def manage(*args: str) -> None:
        run = subprocess.run([sys.executable, "-m", "django", *args], env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr

    manage("migrate", "perfapp", "--no-input")
    after = indexes(fresh_db)
    assert EXPECTED <= set(after) and all(after[n] for n in EXPECTED), after
    manage("migrate", "perfapp", "zero", "--no-input")
    assert not EXPECTED & set(indexes(fresh_db))
    assert textwrap.dedent("atomic = False") in path.read_text()
