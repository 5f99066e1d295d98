"""Index sets without a server: the YAML loader (file:line errors; any input gives an index set or
an InputError, never another exception), column syntax, SQL normalisation, the diff against a
hand-built catalog, and snapshot → load → diff round trips."""

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perftool.catalog.schema import Catalog, IndexColumn, IndexInfo, TableInfo
from perftool.db.errors import InputError
from perftool.health.index_sets import (
    DeclaredColumn,
    IndexSet,
    diff_index_set,
    load_index_set_text,
    load_index_sets,
    normalize_sql,
    parse_column,
    snapshot_document,
    snapshot_yaml,
)

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "index_sets" / "index-set.schema.json").read_text())

GOOD = """\
version: 1
schema: app
complete: true
tables:
  jobs:
    - columns: [customer_id]
    - columns: [status, created_at DESC]
      name: jobs_status_created_at_idx
    - {columns: [job_number text_pattern_ops], comment: LIKE prefix search}
    - {columns: [lower(email)], unique: true, where: "deleted_at IS NULL", include: [id]}
  public.audit:
    - {columns: [{column: at, order: desc, nulls: last}], method: brin}
  '"MixedCase"':
ignore:
  - {code: I104, object: app.jobs_priority_idx, reason: month-end report}
"""


def test_a_good_file():
    s = load_index_set_text(GOOD, "good.yaml")
    assert len(s.indexes) == 5
    jobs = [d for d in s.indexes if d.table == "jobs"]
    assert [c.text() for c in jobs[1].columns] == ["status", "created_at DESC"]
    assert jobs[1].name == "jobs_status_created_at_idx" and jobs[1].source.line == 7
    assert jobs[2].columns[0] == DeclaredColumn(column="job_number", opclass="text_pattern_ops")
    assert jobs[3].unique and jobs[3].where == "deleted_at IS NULL" and jobs[3].include == ["id"]
    assert jobs[3].columns[0].expression == "lower(email)"
    brin = next(d for d in s.indexes if d.table == "audit")
    assert brin.schema == "public" and brin.method == "brin" and brin.columns[0].descending
    assert brin.columns[0].nulls_first is False
    assert set(s.tables) == {("app", "jobs"), ("public", "audit"), ("app", "MixedCase")}
    assert set(s.complete_schemas) == {"app", "public"}
    assert s.ignore[0].matches("I104", "app.jobs_priority_idx") and not s.ignore[0].matches("I104", "app.x")
    assert str(s.ignore[0].source) == "good.yaml:15"
    jsonschema.validate(yaml.safe_load(GOOD), SCHEMA)


def test_the_demo_set_loads_and_matches_the_json_schema():
    s = load_index_sets([ROOT / "index_sets"])
    assert s.files == [str(ROOT / "index_sets" / "demo.yaml")]
    assert ("public", "jobs") in s.tables and "public" in s.complete_schemas
    names = {d.name for d in s.indexes}
    assert {"jobs_status_created_at_idx", "jobs_status_due_date_idx", "job_steps_machine_id_idx",
            "notifications_user_id_idx", "audit_log_pkey"} <= names
    jsonschema.validate(yaml.safe_load((ROOT / "index_sets" / "demo.yaml").read_text()), SCHEMA)


@pytest.mark.parametrize("text, where, message", [
    ("tables:\n  jobs:\n    - columns: [a\n", "x.yaml:4", "invalid YAML"),
    ("- a\n- b\n", "x.yaml:1", "must be a mapping"),
    ("", "x.yaml:1", "the file is empty"),
    ("version: 2\n", "x.yaml:1", "version must be 1"),
    ("tabels: {}\n", "x.yaml:1", "unknown key 'tabels'"),
    ("tables:\n  jobs:\n    - columns: []\n", "x.yaml:3", "needs columns"),
    ("tables:\n  jobs:\n    - colums: [a]\n", "x.yaml:3", "unknown key 'colums'"),
    ("tables:\n  jobs:\n    - {columns: [a], method: bitmap}\n", "x.yaml:3", "method 'bitmap'"),
    ("tables:\n  jobs:\n    - {columns: [a], unique: yes please}\n", "x.yaml:3", "unique: must be true or false"),
    ("tables:\n  jobs: {columns: [a]}\n", "x.yaml:2", "must be a list of indexes"),
    ("tables:\n  jobs:\n    - {columns: [{column: a, order: up}]}\n", "x.yaml:3", "order: must be asc or desc"),
    ("tables:\n  jobs:\n    - {columns: [{column: a, expression: b}]}\n", "x.yaml:3", "exactly one of"),
    ("tables:\n  jobs:\n    - {columns: [a]}\n    - {columns: [A]}\n", "x.yaml:4", "declared twice"),
    ("tables:\n  jobs:\n    - {columns: [a]}\n  public.jobs:\n", "x.yaml:4", "listed twice"),
    ("tables:\n  bad name!:\n", "x.yaml:2", "not valid"),
    ("tables:\n  jobs:\n    - {columns: [a], name: 'bad name'}\n", "x.yaml:3", "not a valid name"),
    ("ignore:\n  - {code: I104}\n", "x.yaml:2", "needs a reason"),
    ("ignore:\n  - I104\n", "x.yaml:2", "must be a mapping"),
    ("schema: 'a b'\n", "x.yaml:1", "not a valid name"),
    ("tables:\n  jobs:\n    - {columns: [a]}\n    - {columns: [a]}\n  jobs: []\n", "x.yaml:5", "given twice"),
    ("? [a, b]\n: 1\n", "x.yaml:1", "keys must be text"),
    ("tables:\n  jobs:\n    - {columns: [a], include: id}\n", "x.yaml:3", "include: must be a list"),
    ("a: 2024-13-45\n", "x.yaml:1", "cannot read value"),
    ('tables:\n  "\\"a\\nb\\"": 5\n', "x.yaml:2", 'table "a\\nb": must be a list'),   # one line
    ('tables:\n  "\\"a\\nb\\"":\n    - {columns: [a]}\n    - {columns: [a]}\n', "x.yaml:4", "public.a\\nb USING"),
])
def test_errors_name_the_file_and_line(text, where, message):
    with pytest.raises(InputError) as err:
        load_index_set_text(text, "x.yaml")
    assert str(err.value).startswith(where + ":"), str(err.value)
    assert message in str(err.value)
    assert err.value.exit_code == 2


def test_the_json_schema_file_is_derived_from_the_validator():
    from perftool.docgen import index_set_schema
    from perftool.health.index_sets.validate import COLUMN_KEYS, IGNORE_KEYS, INDEX_KEYS, METHODS, TOP_KEYS

    assert (ROOT / "index_sets" / "index-set.schema.json").read_text() == index_set_schema(), \
        "index_sets/index-set.schema.json is stale: run `make docs`"
    assert set(SCHEMA["properties"]) == TOP_KEYS and set(SCHEMA["$defs"]["index"]["properties"]) == INDEX_KEYS
    assert set(SCHEMA["$defs"]["column"]["oneOf"][1]["properties"]) == COLUMN_KEYS
    assert set(SCHEMA["$defs"]["ignore"]["properties"]) == IGNORE_KEYS
    assert SCHEMA["$defs"]["index"]["properties"]["method"]["enum"] == list(METHODS)


def test_the_json_schema_rejects_what_the_loader_rejects():
    for bad in ("tabels: {}\n", "tables:\n  jobs:\n    - columns: []\n", "ignore:\n  - {code: I104}\n",
                "tables:\n  jobs:\n    - {columns: [a], method: bitmap}\n"):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(yaml.safe_load(bad), SCHEMA)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_any_text_gives_an_index_set_or_an_input_error(text):
    try:
        assert isinstance(load_index_set_text(text, "h.yaml"), IndexSet)
    except InputError as exc:
        assert str(exc).startswith("h.yaml")
        assert "\n" not in exc.message   # one line on stderr (the CLI adds the hint)


_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                     st.text(max_size=20), st.sampled_from(["btree", "gin", "a", "a DESC", "lower(x)", "I104", "*"]))
_keys = st.sampled_from(["version", "schema", "complete", "tables", "ignore", "columns", "name", "method", "unique",
                         "primary", "where", "include", "comment", "column", "expression", "order", "nulls",
                         "opclass", "collation", "code", "object", "reason", "jobs", "public.jobs", "x y"])
_docs = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(_keys, inner, max_size=5)), max_leaves=25)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_docs)
def test_any_yaml_document_gives_an_index_set_or_an_input_error(doc):
    text = yaml.safe_dump(doc)
    try:
        assert isinstance(load_index_set_text(text, "d.yaml"), IndexSet)
    except InputError as exc:
        assert str(exc).startswith("d.yaml")


@pytest.mark.parametrize("text, expected", [
    ("status", DeclaredColumn(column="status")),
    ('"Status"', DeclaredColumn(column="Status")),
    ("CreatedAt desc", DeclaredColumn(column="createdat", descending=True)),
    ("at DESC NULLS LAST", DeclaredColumn(column="at", descending=True, nulls_first=False)),
    ("code text_pattern_ops", DeclaredColumn(column="code", opclass="text_pattern_ops")),
    ('title COLLATE "C" DESC', DeclaredColumn(column="title", collation="C", descending=True)),
    ("lower(email)", DeclaredColumn(expression="lower(email)")),
    ("(a + b) DESC", DeclaredColumn(expression="a + b", descending=True)),
    ("lower(email) text_pattern_ops", DeclaredColumn(expression="lower(email)", opclass="text_pattern_ops")),
])
def test_column_syntax(text, expected):
    assert parse_column(text) == expected


@pytest.mark.parametrize("a, b, same", [
    ("status = ANY (ARRAY['queued'::text, 'in_progress'::text])", "status IN ('queued', 'in_progress')", True),
    ("status <> ALL (ARRAY['a'::text, 'b'::text])", "status NOT IN ('a', 'b')", True),
    ("lower((email)::text)", "LOWER(email)", True),
    ("(status <> 'completed'::text)", "status != 'completed'", True),
    ("(a = 1) AND (b = 2)", "a = 1 AND b = 2", True),
    ("created_at > '2024-01-01'::date", "created_at > '2024-01-01'", True),
    ("deleted_at IS NULL", "deleted_at   is null", True),
    ("(a OR b) AND c", "a OR (b AND c)", False),
    ("x > 5", "x > 6", False),
    ('"Email" IS NOT NULL', "Email IS NOT NULL", False),
    ("lower(email)", "upper(email)", False),
])
def test_sql_normalisation(a, b, same):
    assert (normalize_sql(a) == normalize_sql(b)) is same


# ---- diff against a hand-built catalog ------------------------------------------------------


def col(name=None, definition=None, **kw):
    return IndexColumn(definition=definition or name, name=name, opclass=kw.pop("opclass", "int4_ops"),
                       opclass_default=kw.pop("opclass_default", True), **kw)


def index(name, table, columns, **kw):
    return IndexInfo(name=name, schema=kw.pop("schema", "public"), table=table, columns=columns,
                     definition=kw.pop("definition", f"CREATE INDEX {name} ON public.{table}"), **kw)


def catalog():
    jobs = TableInfo(schema="public", name="jobs", oid=1, indexes=[
        index("jobs_pkey", "jobs", [col("id")], is_unique=True, is_primary=True, constraint_type="p",
              constraint_name="jobs_pkey"),
        index("jobs_by_status", "jobs", [col("status", opclass="text_ops"), col("created_at")]),
        index("jobs_number_like", "jobs", [col("job_number", opclass="text_pattern_ops", opclass_default=False)]),
        index("jobs_open", "jobs", [col("due_date")], predicate="status = ANY (ARRAY['queued'::text, 'open'::text])"),
        index("jobs_lower", "jobs", [col(None, "lower(email)", opclass="text_ops")]),
        index("jobs_priority_idx", "jobs", [col("priority")]),
        index("jobs_broken", "jobs", [col("customer_id")], is_valid=False),
        index("jobs_part_idx", "jobs", [col("x")], is_attached=True),
    ])
    other = TableInfo(schema="public", name="other", oid=2, indexes=[index("other_a", "other", [col("a")])])
    hidden = TableInfo(schema="archive", name="old", oid=3, indexes=[index("old_a", "old", [col("a")], schema="archive")])
    return Catalog(tables=[jobs, other, hidden])


SET = """\
tables:
  jobs:
    - {columns: [id], primary: true}
    - {columns: [status, created_at], name: some_other_name}          # same definition, another name
    - {columns: [job_number text_pattern_ops]}
    - {columns: [due_date], where: "status IN ('queued', 'open')"}     # the server's form differs
    - {columns: ["lower(email)"]}
    - {columns: [customer_id]}                                         # only an INVALID copy exists
    - {columns: [status DESC], name: jobs_x}                           # missing
  missing_table:
    - {columns: [a]}
"""


def test_diff_matches_by_definition_not_by_name():
    drift = diff_index_set(catalog(), load_index_set_text(SET, "s.yaml"))
    matched = {a.name for _d, a in drift.matched}
    assert matched == {"jobs_pkey", "jobs_by_status", "jobs_number_like", "jobs_open", "jobs_lower"}
    missing = {(m.table, m.declared.label): m.note for m in drift.missing}
    assert missing == {
        ("public.jobs", "public.jobs(customer_id)"): "jobs_broken has this definition but is INVALID (I101)",
        ("public.jobs", "public.jobs_x"): "",
        ("public.missing_table", "public.missing_table(a)"): "table public.missing_table does not exist",
    }
    # listed table: the undeclared index is extra; invalid and attached ones are not; other tables are
    # not covered (the file is not complete)
    assert [e.actual.name for e in drift.extra] == ["jobs_priority_idx"]
    assert drift.different == []


def test_diff_different_by_name_or_key_columns():
    text = """\
tables:
  jobs:
    - {columns: [job_number], name: jobs_number_like}              # same name, other opclass
    - {columns: [status, created_at DESC]}                         # same columns, other order
    - {columns: [due_date]}                                        # same column, no predicate
"""
    drift = diff_index_set(catalog(), load_index_set_text(text, "s.yaml"))
    diffs = {d.actual.name: d.differences for d in drift.different}
    assert diffs["jobs_number_like"] == ["job_number operator class text_pattern_ops, declared the default"]
    assert diffs["jobs_by_status"] == ["created_at ASC, declared DESC", "created_at NULLS LAST, declared NULLS FIRST"]
    assert diffs["jobs_open"] == ["WHERE status = ANY (ARRAY['queued'::text, 'open'::text]), declared WHERE (none)"]
    assert not drift.missing


def test_complete_covers_unlisted_tables_of_its_schemas_but_not_constraints():
    drift = diff_index_set(catalog(), load_index_set_text("complete: true\ntables:\n  jobs: []\n", "s.yaml"))
    extra = sorted(e.actual.name for e in drift.extra)
    assert extra == ["jobs_by_status", "jobs_lower", "jobs_number_like", "jobs_open", "jobs_priority_idx", "other_a"]


def test_snapshot_round_trips_to_no_drift():
    cat = catalog()
    cat.tables.append(TableInfo(schema="public", name="Odd Name", oid=4, indexes=[
        index("odd_1", "Odd Name", [col("Weird Col", descending=True, nulls_first=False),
                                    col(None, "(a + b)", opclass="int4_ops")], include=["c"], method="btree"),
        index("odd_2", "Odd Name", [col("t", opclass="text_ops", collation="C", column_collation="default")]),
        index("odd_gin", "Odd Name", [col("doc", opclass="jsonb_path_ops", opclass_default=False)], method="gin"),
        index("odd_custom", "Odd Name", [col("v", opclass="my_special_class", opclass_default=False)]),
    ]))
    text = snapshot_yaml(cat)
    doc = yaml.safe_load(text)
    jsonschema.validate(doc, SCHEMA)
    assert doc["complete"] is True and "old" not in doc["tables"] and "archive.old" in doc["tables"]
    assert "jobs_broken" not in text and "jobs_part_idx" not in text
    back = load_index_set_text(text, "snap.yaml")
    drift = diff_index_set(cat, back)
    assert not drift.missing and not drift.extra and not drift.different
    assert len(drift.matched) == sum(1 for t in cat.tables for i in t.indexes if i.is_valid and not i.is_attached)
    custom = next(e for e in snapshot_document(cat)["tables"]['"Odd Name"'] if e["name"] == "odd_custom")
    assert custom["columns"] == [{"column": "v", "opclass": "my_special_class"}]


def test_files_and_directories(tmp_path):
    (tmp_path / "a.yaml").write_text("tables:\n  t:\n    - {columns: [a]}\n")
    (tmp_path / "b.yml").write_text("tables:\n  u:\n    - {columns: [a]}\n")
    (tmp_path / "notes.txt").write_text("not a set")
    merged = load_index_sets([tmp_path])
    assert len(merged.indexes) == 2 and len(merged.files) == 2
    (tmp_path / "c.yaml").write_text("tables:\n  t:\n    - {columns: [a]}\n")
    with pytest.raises(InputError, match=r"c.yaml:3: index .* declared twice \(also at .*a.yaml:3\)"):
        load_index_sets([tmp_path])
    with pytest.raises(InputError, match="does not exist"):
        load_index_sets([tmp_path / "nope.yaml"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no index set files"):
        load_index_sets([empty])


def test_equal_indexes_may_be_declared_twice_only_under_different_names():
    s = load_index_set_text("tables:\n  t:\n    - {columns: [a], name: t_a1}\n    - {columns: [a], name: t_a2}\n", "s")
    assert [d.name for d in s.indexes] == ["t_a1", "t_a2"]
    with pytest.raises(InputError, match="s:4: index public.t USING btree \\(a\\) is declared twice"):
        load_index_set_text("tables:\n  t:\n    - {columns: [a], name: t_a1}\n    - {columns: [a]}\n", "s")
