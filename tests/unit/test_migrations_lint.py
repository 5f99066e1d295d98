"""`indexes lint`: each planted trap gives its M1xx code, the safe forms give nothing, every file
`indexes generate` writes is clean, and any text is findings or none (hypothesis)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perftool.migrations.changes import read_changes
from perftool.migrations.frameworks import FRAMEWORKS, Options, generate, write_migration
from perftool.migrations.lint import LINT_FRAMEWORKS, detect, lint_report, lint_text
from tests.unit.test_migrations_generate import FIXTURES, INPUTS

SAFE_SQL = """SET lock_timeout = '5s';
DO $$ BEGIN IF EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
  WHERE c.relname = 'orders_a_idx' AND NOT i.indisvalid) THEN DROP INDEX orders_a_idx; END IF; END $$;
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_a_idx ON orders (a);
"""

TRAPS = [
    # (file name, text, codes) — each trap alone, then its safe form
    ("001_tx.sql", "SET lock_timeout = '1s';\nBEGIN;\nCREATE INDEX CONCURRENTLY orders_a_idx ON orders (a);\nCOMMIT;\n",
     ["M101"]),
    ("001_no_tx.sql", "SET lock_timeout = '1s';\nCREATE INDEX CONCURRENTLY orders_a_idx ON orders (a);\n", []),
    ("V3__idx.sql", "SET lock_timeout = '1s';\nCREATE INDEX CONCURRENTLY orders_a_idx ON orders (a);\n", ["M101"]),
    ("V3__idx.sql", "-- flyway:executeInTransaction=false\nSET lock_timeout = '1s';\n"
                    "CREATE INDEX CONCURRENTLY orders_a_idx ON orders (a);\n", []),
    ("20240101_idx.sql", "-- +goose Up\nSET lock_timeout = '1s';\nCREATE INDEX CONCURRENTLY orders_a_idx ON orders (a);\n",
     ["M101"]),
    ("20240101_idx.sql", "-- +goose NO TRANSACTION\n-- +goose Up\nSET lock_timeout = '1s';\n"
                         "CREATE INDEX CONCURRENTLY orders_a_idx ON orders (a);\n", []),
    ("002_plain.sql", "SET lock_timeout = '1s';\nCREATE INDEX orders_a_idx ON orders (a);\n", ["M102"]),
    ("002_new_table.sql", "SET lock_timeout = '1s';\nCREATE TABLE orders (a int);\nCREATE INDEX orders_a_idx ON orders (a);\n",
     []),
    ("002_on_only.sql", "SET lock_timeout = '1s';\nCREATE INDEX ev_idx ON ONLY events (a);\n", []),
    ("003_ine.sql", "SET lock_timeout = '1s';\nCREATE INDEX CONCURRENTLY IF NOT EXISTS orders_a_idx ON orders (a);\n",
     ["M103"]),
    ("003_guarded.sql", SAFE_SQL, []),
    ("004_no_lock_timeout.sql", "CREATE INDEX CONCURRENTLY orders_a_idx ON orders (a);\n", ["M104"]),
    ("5_two.up.sql", "SET lock_timeout = '1s';\nCREATE INDEX CONCURRENTLY a_idx ON t (a);\n"
                     "CREATE INDEX CONCURRENTLY b_idx ON t (b);\n", ["M105"]),
    ("5_one.up.sql", "CREATE INDEX CONCURRENTLY a_idx ON t (a);\n", []),
    ("prisma/migrations/1_x/migration.sql", "CREATE INDEX CONCURRENTLY a_idx ON t (a);\nCREATE INDEX CONCURRENTLY b_idx "
                                            "ON t (b);\n", ["M104", "M105"]),
    # Alembic
    ("versions/a1_idx.py", "from alembic import op\n\ndef upgrade():\n    op.execute(\"SET lock_timeout = '5s'\")\n"
                           "    op.create_index('a_idx', 't', ['a'], postgresql_concurrently=True)\n", ["M106"]),
    ("versions/a1_idx.py", "from alembic import op\n\ndef upgrade():\n    with op.get_context().autocommit_block():\n"
                           "        op.execute(\"SET lock_timeout = '5s'\")\n"
                           "        op.create_index('a_idx', 't', ['a'], postgresql_concurrently=True)\n", []),
    ("versions/a2_idx.py", "from alembic import op\nSQL = 'CREATE INDEX CONCURRENTLY a_idx ON t (a)'\n\n"
                           "def upgrade():\n    op.execute(\"SET lock_timeout = '5s'\")\n    op.execute(SQL)\n", ["M106"]),
    ("versions/a3_idx.py", "from alembic import op\n\ndef upgrade():\n    with op.get_context().autocommit_block():\n"
                           "        op.create_index('a_idx', 't', ['a'], postgresql_concurrently=True)\n", ["M104"]),
    # Django
    ("app/migrations/0002_idx.py", "from django.db import migrations\nfrom django.contrib.postgres.operations import "
                                   "AddIndexConcurrently\n\nclass Migration(migrations.Migration):\n"
                                   "    operations = [migrations.RunSQL(\"SET lock_timeout = '5s'\"), "
                                   "AddIndexConcurrently('order', None)]\n", ["M107"]),
    ("app/migrations/0002_idx.py", "from django.db import migrations\n\nclass Migration(migrations.Migration):\n"
                                   "    atomic = True\n    operations = [migrations.RunSQL(\"SET lock_timeout = '5s'\"), "
                                   "migrations.RunSQL('CREATE INDEX CONCURRENTLY a_idx ON t (a)')]\n", ["M107"]),
    ("app/migrations/0002_idx.py", "from django.db import migrations\n\nclass Migration(migrations.Migration):\n"
                                   "    atomic = False\n    operations = [migrations.RunSQL(\"SET lock_timeout = '5s'\"), "
                                   "migrations.RunSQL('CREATE INDEX CONCURRENTLY a_idx ON t (a)')]\n", []),
    # Rails
    ("db/migrate/20240101_add_idx.rb", "class AddIdx < ActiveRecord::Migration[7.1]\n  def change\n"
                                       "    execute \"SET lock_timeout = '5s'\"\n"
                                       "    add_index :orders, :a, algorithm: :concurrently\n  end\nend\n", ["M101"]),
    ("db/migrate/20240101_add_idx.rb", "class AddIdx < ActiveRecord::Migration[7.1]\n  disable_ddl_transaction!\n\n"
                                       "  def change\n    execute \"SET lock_timeout = '5s'\"\n"
                                       "    add_column :orders, :b, :int\n"
                                       "    add_index :orders, :a, algorithm: :concurrently\n  end\nend\n", ["M108"]),
    ("db/migrate/20240101_add_idx.rb", "class AddIdx < ActiveRecord::Migration[7.1]\n  disable_ddl_transaction!\n\n"
                                       "  def change\n    execute \"SET lock_timeout = '5s'\"\n"
                                       "    add_index :orders, :a, algorithm: :concurrently\n  end\nend\n", []),
    ("db/migrate/20240101_add_idx.rb", "class AddIdx < ActiveRecord::Migration[7.1]\n  disable_ddl_transaction!\n\n"
                                       "  def change\n    execute \"SET lock_timeout = '5s'\"\n"
                                       "    add_index :orders, :a, algorithm: :concurrently, if_not_exists: true\n"
                                       "  end\nend\n", ["M103"]),
    # knex
    ("migrations/20240101_idx.js", "exports.up = (knex) => knex.raw(\"SET lock_timeout = '5s'\")"
                                   ".then(() => knex.raw('CREATE INDEX CONCURRENTLY a_idx ON t (a)'));\n", ["M101"]),
    ("migrations/20240101_idx.js", "exports.config = { transaction: false };\nexports.up = (knex) => knex.raw(\"SET "
                                   "lock_timeout = '5s'\").then(() => knex.raw('CREATE INDEX CONCURRENTLY a_idx ON t (a)'));\n",
     []),
]


@pytest.mark.parametrize("name, text, codes", TRAPS, ids=[f"{i}-{t[0]}" for i, t in enumerate(TRAPS)])
def test_each_trap_is_caught_and_the_safe_form_is_silent(tmp_path, name, text, codes):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    findings = lint_text(str(path), text)
    assert sorted(f.code for f in findings) == sorted(codes), [(f.code, f.detail) for f in findings]
    for f in findings:
        assert f.evidence["file"] == str(path) and isinstance(f.evidence["line"], int)


def test_the_finding_points_at_the_line(tmp_path):
    (f,) = lint_text("x.sql", "SET lock_timeout = '1s';\n\nBEGIN;\n-- build it\nCREATE INDEX CONCURRENTLY a ON t (a);\n")
    assert f.code == "M101" and f.evidence["line"] == 5 and f.object == "x.sql:5"


@pytest.mark.parametrize("name, framework", [
    ("V1__a.sql", "flyway"), ("1_a.up.sql", "golang-migrate"), ("x/migration.sql", "prisma"), ("a.sql", "sql"),
    ("a.rb", "rails"), ("a.js", "knex"), ("a.ts", "knex"), ("a.py", "alembic")])
def test_framework_detection(name, framework):
    assert detect(name, "") == framework


def test_everything_generate_writes_is_clean(tmp_path):
    for source, file in INPUTS.items():
        changes = read_changes(FIXTURES / file, include_drops=True).changes
        for framework in FRAMEWORKS:
            write_migration(generate(changes, framework, Options(stamp="20260101000000")), tmp_path / source / framework)
    report = lint_report([str(tmp_path)])
    assert len(report.sections[0].rows) > 100
    assert report.findings == [], [(f.code, f.object) for f in report.findings]


def test_report_renders_for_ci(tmp_path):
    from perftool.report.render import render_to_string

    (tmp_path / "1_a.up.sql").write_text("CREATE INDEX CONCURRENTLY a ON t (a);\nCREATE INDEX CONCURRENTLY b ON t (b);\n")
    report = lint_report([str(tmp_path)])
    assert sorted(f.code for f in report.findings) == ["M104", "M105"]
    assert "::error file=" in render_to_string(report, "github")
    sarif = json.loads(render_to_string(report, "sarif"))
    assert {r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in sarif["runs"][0]["results"]} == {1}
    assert "M105" in render_to_string(report, "junit")
    assert report.exit_code("error") == 1


def test_missing_path_and_bad_framework_are_usage_errors(tmp_path):
    from perftool.db.errors import UsageError

    with pytest.raises(UsageError, match="no such file"):
        lint_report([str(tmp_path / "nope")])
    with pytest.raises(UsageError, match="unknown framework"):
        lint_report([str(tmp_path)], "liquibase")


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(LINT_FRAMEWORKS),
       st.text(max_size=300) | st.lists(st.sampled_from([
           "BEGIN;", "COMMIT;", "CREATE INDEX CONCURRENTLY a ON t (a);", "CREATE INDEX IF NOT EXISTS", "$$", "'", '"',
           "--", "/*", "with op.get_context().autocommit_block():", "def upgrade():\n", "    ", "disable_ddl_transaction!",
           "atomic = False", "class M(migrations.Migration):", "CREATE TABLE t (a int);", "ON ONLY", "(", ")", "\n",
           "postgresql_concurrently=True", "SET lock_timeout = 1;"]), max_size=30).map("".join))
def test_any_text_is_findings_or_none(framework, text):
    findings = lint_text("m.sql", text, framework)
    assert all(f.code.startswith("M1") for f in findings)
