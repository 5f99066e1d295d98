"""`indexes generate`: the change list read from perftool's own JSON outputs (captured from real runs
in tests/fixtures/migrations/) and change lists; every framework's output against golden files
(tests/snapshots/migrations/<input>/<framework>/); squawk finds nothing in any generated SQL file;
the Python and JavaScript outputs compile.

Regenerate the golden files after an intended change with:
PERFTOOL_UPDATE_SNAPSHOTS=1 pytest tests/unit/test_migrations_generate.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from perftool.db.errors import InputError, UsageError
from perftool.migrations.changes import CHANGE_KEYS, CODE_ACTIONS, changes_from_text, read_changes
from perftool.migrations.frameworks import FRAMEWORKS, Options, generate, write_migration
from perftool.workload.sources import split_statements

FIXTURES = Path(__file__).parent.parent / "fixtures" / "migrations"
SNAPSHOTS = Path(__file__).parent.parent / "snapshots" / "migrations"
INPUTS = {"recommend": "recommend.json", "changes": "changes.yaml", "health": "health.json", "diff": "diff.json"}
OPTIONS = Options(name="add indexes", stamp="20260102030405", revises=None)
SQL_FRAMEWORKS = ("sql", "flyway", "goose", "golang-migrate", "prisma")


def changes(name: str, **kw):
    return read_changes(FIXTURES / INPUTS[name], **kw).changes


# --- reading the inputs --------------------------------------------------------------------------


def test_recommend_json_becomes_creates_with_why_and_partitions():
    got = changes("recommend")
    assert [(c.action, c.qualified) for c in got] == [
        ("create", "public.orders_customer_id_status_open_0b492638_idx"), ("create", "public.events_tenant_id_idx")]
    orders, events = got
    assert orders.spec.where == "\"status\" = 'open'" and orders.spec.columns == ("customer_id",)
    assert any("1598.62 → 30.15" in w for w in orders.why), orders.why   # before → after cost per statement
    assert any("estimated size 840.0 kB" in w for w in orders.why), orders.why
    assert [(p.table, p.name) for p in events.partitions] == [
        ("events_2026_01", "events_2026_01_tenant_id_idx"), ("events_2026_02", "events_2026_02_tenant_id_idx")]


def test_health_json_invalid_is_rebuilt_duplicate_dropped_others_ignored():
    got = changes("health")
    assert [(c.action, c.qualified, c.source) for c in got] == [
        ("rebuild", "public.orders_customer_uniq_idx", "I101"), ("drop", "public.orders_status_copy_idx", "I102")]
    assert got[0].spec.unique and got[0].spec.columns == ("customer_id",)


def test_diff_json_missing_created_extra_dropped_only_with_include_drops():
    plain = read_changes(FIXTURES / "diff.json")
    assert [(c.action, c.name) for c in plain.changes] == [("create", "events_at_idx"),
                                                            ("create", "orders_created_at_desc_idx")]
    assert any("--include-drops" in n for n in plain.notes)
    dropping = changes("diff", include_drops=True)
    assert [(c.action, c.name) for c in dropping][-1] == ("drop", "orders_status_idx")
    assert dropping[1].spec.parts[0].descending


def test_change_list_forms():
    got = changes("changes")
    assert [c.action for c in got] == ["create", "create", "create", "drop", "drop"]
    assert (got[1].schema, got[1].table) == ("shop", "Line Items") and got[1].spec.unique
    assert got[2].spec.method == "brin" and len(got[2].partitions) == 2
    assert got[3].spec is not None and got[4].spec is None     # a drop with a definition can be reversed


@pytest.mark.parametrize("text, message", [
    ("[1, 2]", "expected a JSON/YAML object"),
    ("{version: 2, changes: []}", "version 2"),
    ("{changes: [{action: grow, table: t, columns: [a]}]}", "action must be one of"),
    ("{changes: [{table: t}]}", "columns"),
    ("{changes: [{table: t, columns: [a], colour: red}]}", "unknown key"),
    ("{changes: [{definition: 'DROP TABLE x'}]}", "not a CREATE INDEX"),
    ("{changes: [{definition: 'CREATE INDEX ON t (a); DROP TABLE t'}]}", "not a CREATE INDEX statement: DROP TABLE t"),
    ("{changes: [{table: t, columns: [a], where: 'a = 1; DROP TABLE t'}]}", "must not end the statement"),
    ("{changes: [{table: t, columns: ['a); DROP TABLE x; --']}]}", "must not end the statement"),
    ("{changes: [{table: t, columns: [a], where: true}]}", "where must be a string"),
    ("{changes: [{table: t, columns: [a, 1]}]}", "columns must be a list of strings"),
    ("{changes: [{table: '\"t', columns: [a]}]}", "not a [schema.]name"),
    ("{a: [", "neither JSON nor YAML"),
    ('{"command": "queries", "statements": []}', "neither a change list"),
])
def test_bad_input_is_one_input_error(text, message):
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        changes_from_text(text, "x.yaml")


def test_a_name_listed_twice_is_kept_once():
    got = changes_from_text("{changes: [{table: t, columns: [a]}, {table: t, columns: [a]}]}")
    assert len(got.changes) == 1 and "listed twice" in got.notes[0]


def test_unknown_framework_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown framework"):
        generate(changes("changes"), "liquibase")


# --- golden files --------------------------------------------------------------------------------


def _check_golden(folder: Path, migration) -> None:
    update = os.environ.get("PERFTOOL_UPDATE_SNAPSHOTS")
    if update or not folder.exists():
        shutil.rmtree(folder, ignore_errors=True)
        write_migration(migration, folder)
        if not update:
            pytest.fail(f"snapshots {folder} were missing and have been written: review and commit them")
    expected = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert sorted(f.path for f in migration.files) == expected
    for f in migration.files:
        assert f.text == (folder / f.path).read_text(encoding="utf-8"), f.path


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("source", ["recommend", "changes"])
def test_golden(framework, source):
    _check_golden(SNAPSHOTS / source / framework, generate(changes(source), framework, OPTIONS))


@pytest.mark.parametrize("source", ["health", "diff"])
def test_golden_sql_from_health_and_diff(source):
    _check_golden(SNAPSHOTS / source / "sql", generate(changes(source, include_drops=True), "sql", OPTIONS))


def test_output_is_deterministic():
    a = generate(changes("changes"), "alembic", OPTIONS)
    b = generate(changes("changes"), "alembic", OPTIONS)
    assert a.files == b.files


def test_every_framework_runs_outside_a_transaction_its_own_way():
    marks = {"sql": "never -1", "flyway": "-- flyway:executeInTransaction=false", "goose": "-- +goose NO TRANSACTION",
             "alembic": "autocommit_block()", "django": "atomic = False", "rails": "disable_ddl_transaction!",
             "knex": "exports.config = { transaction: false }", "golang-migrate": "", "prisma": ""}
    for framework in FRAMEWORKS:
        migration = generate(changes("changes"), framework, OPTIONS)
        assert marks[framework] in migration.files[0].text, framework
        if framework in ("golang-migrate", "prisma"):  # one query per file: a CONCURRENTLY statement alone
            alone = 0
            for f in migration.files:
                statements = [_code(s) for _, s in split_statements(f.text)]
                if any(" CONCURRENTLY " in s for s in statements):
                    assert len(statements) == 1, f.path
                    alone += 1
            assert alone >= 5, framework


def _code(statement: str) -> str:
    return " ".join(ln for ln in statement.splitlines() if not ln.lstrip().startswith("--")).upper()


# --- the real tools ------------------------------------------------------------------------------


def _squawk() -> str:
    found = shutil.which("squawk") or str(Path(sys.executable).with_name("squawk"))
    assert Path(found).exists(), "squawk (PyPI squawk-cli) is a dev dependency: pip install -e '.[dev]'"
    return found


@pytest.mark.parametrize("source", list(INPUTS))
def test_squawk_finds_nothing_in_generated_sql(tmp_path, source):
    for framework in SQL_FRAMEWORKS:
        write_migration(generate(changes(source, include_drops=True), framework, OPTIONS), tmp_path / framework)
    files = sorted(str(p) for p in tmp_path.rglob("*.sql"))
    assert len(files) >= 5
    run = subprocess.run([_squawk(), "--no-error-on-unmatched-pattern", *files], capture_output=True, text=True,
                         env={**os.environ, "NO_COLOR": "1"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Found 0 issues" in run.stdout + run.stderr


def test_squawk_does_complain_about_the_traps(tmp_path):
    """The squawk test can fail: the traps our SQL avoids are what squawk reports."""
    bad = tmp_path / "bad.sql"
    bad.write_text("CREATE INDEX orders_a_idx ON orders (a);\nDROP INDEX orders_b_idx;\n")
    run = subprocess.run([_squawk(), str(bad)], capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
    assert run.returncode != 0
    assert "require-concurrent-index-creation" in run.stdout and "require-concurrent-index-deletion" in run.stdout


@pytest.mark.parametrize("framework", ["alembic", "django"])
def test_python_outputs_compile(framework):
    for source in INPUTS:
        for f in generate(changes(source, include_drops=True), framework, OPTIONS).files:
            compile(f.text, f.path, "exec")


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_knex_output_parses_with_node(tmp_path):
    for source in INPUTS:
        (path,) = write_migration(generate(changes(source, include_drops=True), "knex", OPTIONS), tmp_path / source)
        run = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr


# --- hostile input -------------------------------------------------------------------------------

_LEAF = (st.none() | st.booleans() | st.integers() | st.text(max_size=10)
         | st.sampled_from(["public.t", "a", "CREATE INDEX ON t (a)", "t (a", "x;y", "a DESC", "(a"]))
_VALUE = _LEAF | st.lists(_LEAF, max_size=3) | st.dictionaries(st.text(max_size=3), _LEAF, max_size=2)
_BASE = {"action": "create", "table": "public.t", "columns": ["a"]}
_CHANGE = st.builds(lambda over, drop: {k: v for k, v in {**_BASE, **over}.items() if k not in drop},
                    st.dictionaries(st.sampled_from(sorted(CHANGE_KEYS)), _VALUE, max_size=4),
                    st.sets(st.sampled_from(sorted(_BASE))))
_REC = st.builds(lambda over: {"definition": "CREATE INDEX i ON t (a)",
                               "statements": [{"query": "q", "cost_before": 1, "cost_after": 2}], **over},
                 st.dictionaries(st.sampled_from(["definition", "statements", "size_bytes", "saved_pct", "verified"]),
                                 _VALUE, max_size=3))
_FINDING = st.builds(lambda over: {"code": "I101", "object": "public.i", "fix": "DROP INDEX x; CREATE INDEX i ON t (a)",
                                   "evidence": {"definition": "CREATE INDEX i ON t (a)", "table": "public.t"}, **over},
                     st.dictionaries(st.sampled_from(["code", "object", "fix", "evidence", "title", "detail"]),
                                     _VALUE | st.sampled_from(sorted(CODE_ACTIONS)), max_size=3))
_DOCUMENT = st.one_of(st.builds(lambda cs: {"version": 1, "changes": cs}, st.lists(_CHANGE, max_size=3)),
                      st.builds(lambda rs: {"command": "indexes recommend", "recommendations": rs},
                                st.lists(_REC, max_size=2)),
                      st.builds(lambda fs: {"findings": fs}, st.lists(_FINDING, max_size=3)))


@settings(max_examples=400, deadline=None)
@given(_DOCUMENT, st.booleans())
@example({"findings": [{"code": "I101", "object": "public.i\x00", "fix": "DROP INDEX x; CREATE INDEX i ON t (a)",
                        "evidence": {"definition": "CREATE INDEX i ON t (a)", "table": "public.t"}}]}, True)
def test_any_document_is_changes_or_an_input_error_and_renders(document, include_drops):
    try:
        got = changes_from_text(json.dumps(document), include_drops=include_drops)
    except InputError:
        return
    for framework in FRAMEWORKS:
        for f in generate(got.changes, framework, OPTIONS).files:
            if framework in ("alembic", "django"):
                compile(f.text, f.path, "exec")


def test_input_that_is_not_utf8_or_yaml_is_one_line_input_error(tmp_path):
    binary = tmp_path / "binary.sql"
    binary.write_bytes(b"\x00\xff\xfe{}")
    with pytest.raises(InputError, match=r"binary.sql: not UTF-8 text \(byte 1\)"):
        read_changes(binary)
    with pytest.raises(InputError) as err:   # a YAML reader error spans lines: one line here
        read_changes("-", stdin_text="\x00{}")
    assert "\n" not in str(err.value) and "neither JSON nor YAML" in str(err.value)
