"""The catalog reader builds TableInfo, ColumnInfo and IndexInfo positionally (a third of the time of keyword
arguments, for 70,000 columns and 30,000 indexes): these pins fail when a field is added,
removed or moved without the reader (perftool/catalog/schema.py `_collect_tables`,
`index_from_row`) following."""

from dataclasses import fields

from perftool.catalog.schema import COLUMN_FIELDS, INDEX_FIELDS, ColumnInfo, IndexInfo, TableInfo, index_from_row


def test_column_info_field_order():
    assert [f.name for f in fields(ColumnInfo)] == [
        "name", "attnum", "type", "base_type", "category", "not_null", "collation", "null_frac", "n_distinct",
        "avg_width", "correlation", "stats_visible", "btree_ok"]
    assert COLUMN_FIELDS[:7] == ("table_oid", "attnum", "name", "type", "base_type", "category", "not_null")


def test_table_info_field_order():
    assert [f.name for f in fields(TableInfo)][:19] == [
        "schema", "name", "oid", "kind", "is_partition", "reltuples", "relpages", "n_live_tup", "n_dead_tup",
        "seq_scan", "idx_scan", "size_bytes", "has_pk", "replica_identity", "columns", "indexes", "foreign_keys",
        "can_select", "view_sql"]


def test_index_info_field_order():
    assert [f.name for f in fields(IndexInfo)] == [
        "name", "schema", "table", "columns", "include", "oid", "table_oid", "kind", "method", "is_unique",
        "is_primary", "is_exclusion", "is_valid", "is_ready", "predicate", "definition", "size_bytes", "idx_scan",
        "constraint_type", "constraint_name", "is_attached"]


def test_index_from_row_puts_each_value_in_its_field():
    table = TableInfo(schema="app", name="t", oid=7)
    col = ColumnInfo("email", 2, "text", "text", "S", True, "default")
    values = {"oid": 11, "table_oid": 7, "name": "t_email_idx", "kind": "i", "method": "btree", "is_unique": True,
              "is_primary": False, "is_exclusion": False, "is_valid": False, "is_ready": True, "key_count": 1,
              "attnums": [2, 0], "opclass_oids": [100], "collation_oids": [0], "options": [3],
              "expression_defs": ["email", "lower(email)"], "predicate": "(email IS NOT NULL)",
              "definition": "CREATE UNIQUE INDEX …", "size_bytes": 8192, "idx_scan": 5, "constraint_type": "u",
              "constraint_name": "t_email_key", "is_attached": True}
    ix = index_from_row(tuple(values[k] for k in INDEX_FIELDS), table, {100: ("text_ops", True)}, {},
                        {2: (col, "email")})
    assert (ix.name, ix.schema, ix.table, ix.oid, ix.table_oid, ix.kind, ix.method) == (
        "t_email_idx", "app", "t", 11, 7, "i", "btree")
    assert (ix.is_unique, ix.is_primary, ix.is_exclusion, ix.is_valid, ix.is_ready) == (True, False, False, False, True)
    assert (ix.predicate, ix.definition, ix.size_bytes, ix.idx_scan) == (
        "(email IS NOT NULL)", "CREATE UNIQUE INDEX …", 8192, 5)
    assert (ix.constraint_type, ix.constraint_name, ix.is_attached) == ("u", "t_email_key", True)
    assert [(c.name, c.opclass, c.descending, c.nulls_first) for c in ix.columns] == [("email", "text_ops", True, True)]
    assert ix.include == ["lower(email)"]


def test_columns_named_afterwards_are_named_as_at_once():
    from perftool.catalog.schema import resolve_index_columns

    table = TableInfo(schema="app", name="t", oid=7)
    email = ColumnInfo("email", 2, "text", "text", "S", True, "default")
    mixed = ColumnInfo("Mixed", 3, "text", "text", "S", False, "C")
    values = {"oid": 11, "table_oid": 7, "name": "t_idx", "kind": "i", "method": "btree", "is_unique": False,
              "is_primary": False, "is_exclusion": False, "is_valid": True, "is_ready": True, "key_count": 3,
              "attnums": [2, 0, 3, 9, 3], "opclass_oids": [100, 100, 100], "collation_oids": [0, 0, 0],
              "options": [0, 1, 0], "expression_defs": ["email", "lower(email)", '"Mixed"', "gone", '"Mixed"'],
              "predicate": None, "definition": "", "size_bytes": 0, "idx_scan": 0, "constraint_type": None,
              "constraint_name": None, "is_attached": False}
    row = tuple(values[k] for k in INDEX_FIELDS)
    by_attnum = {2: (email, "email"), 3: (mixed, '"Mixed"')}
    at_once = index_from_row(row, table, {100: ("text_ops", True)}, {}, by_attnum)
    later = index_from_row(row, table, {100: ("text_ops", True)}, {}, {})
    assert later.columns[0].name is None and later.include == ["gone", '"Mixed"']   # printed names, not yet named
    resolve_index_columns(later, tuple(values["attnums"]), by_attnum)
    assert later == at_once
    assert [c.name for c in at_once.columns] == ["email", None, "Mixed"] and at_once.include == ["gone", "Mixed"]
