"""What a role cannot see, in words and GRANTs (perftool.db.privileges), and the server facts
that decide it (ServerInfo without pg_read_all_settings). No server needed."""

import pytest

from perftool.db.connect import ServerInfo, require_pg_stat_statements
from perftool.db.errors import MissingExtension
from perftool.db.privileges import (
    grant_role,
    grant_select,
    hidden_statistics_note,
    statement_texts_note,
    unexplainable_note,
)
from perftool.db.sql import privilege_hint


def info(preload, extensions=("pg_stat_statements",)):
    return ServerInfo(150000, "15", "h", 5432, "app", "monitor", False, True, False,
                      shared_preload_libraries=preload, extensions={e: "1.10" for e in extensions})


def test_grant_texts_quote_identifiers():
    assert grant_role("pg_read_all_stats", "mon") == 'GRANT "pg_read_all_stats" TO "mon";'
    assert grant_select([("public", "orders")], 'we"ird', 13) == 'GRANT SELECT ON "public"."orders" TO "we""ird";'
    few = grant_select([("s", "b"), ("public", "a"), ("public", "a")], "mon", 15)
    assert few.startswith('GRANT SELECT ON "public"."a", "s"."b" TO "mon";')
    assert 'GRANT "pg_read_all_data" TO "mon";' in few     # PG14+: every table at once


def test_many_tables_grant_per_schema():
    tables = [("public", f"t{i}") for i in range(8)] + [("billing", "x")]
    text = grant_select(tables, "mon", 13)
    assert text == 'GRANT SELECT ON ALL TABLES IN SCHEMA "billing", "public" TO "mon";'   # no pg_read_all_data on 13


def test_notes_name_role_privilege_and_fix():
    assert statement_texts_note("mon", True) is None
    note = statement_texts_note("mon", False)
    assert "pg_read_all_stats" in note and 'GRANT "pg_read_all_stats" TO "mon";' in note
    assert hidden_statistics_note("mon", [], ["I106"]) is None
    assert hidden_statistics_note("mon", [("public", "t")], []) is None    # no check that needs pg_stats ran
    note = hidden_statistics_note("mon", [("public", f"t{i}") for i in range(7)], ["I108", "I106"], 15)
    assert "pg_stats" in note and "I106, I108" in note and "(7 tables)" in note and "ALL TABLES IN SCHEMA" in note
    note = unexplainable_note("mon", [("public", "orders")], 3, 15)
    assert "3 statement(s)" in note and "public.orders" in note and 'ON "public"."orders" TO "mon"' in note


@pytest.mark.parametrize("message, expected", [
    ('must be superuser or have privileges of pg_read_all_settings to examine "shared_preload_libraries"',
     "GRANT pg_read_all_settings TO <role>"),
    ("permission denied for table orders", "GRANT SELECT ON TABLE orders TO <role>"),
    ("permission denied for schema billing", "GRANT USAGE ON SCHEMA billing TO <role>"),
    ("permission denied for function pg_ls_dir", "GRANT EXECUTE ON FUNCTION pg_ls_dir TO <role>"),
    ("something else", "docs/privileges.md"),
])
def test_privilege_hint_names_the_missing_grant(message, expected):
    assert expected in privilege_hint(message)
    assert "pg_read_all_stats" not in privilege_hint(message) or "pg_read_all_stats" in message


def test_hidden_shared_preload_libraries_is_unknown_not_missing():
    hidden = info(None)
    assert hidden.preloads("pg_stat_statements") is None
    require_pg_stat_statements(hidden)      # reading the view will prove it is loaded
    with pytest.raises(MissingExtension, match="not installed") as err:
        require_pg_stat_statements(info(None, extensions=()))
    assert "shared_preload_libraries" in err.value.hint
    with pytest.raises(MissingExtension, match="not in shared_preload_libraries"):
        require_pg_stat_statements(info(["auto_explain"]))
    with pytest.raises(MissingExtension, match="not loaded"):
        require_pg_stat_statements(info([], extensions=()))
    require_pg_stat_statements(info(["pg_stat_statements"]))


def test_privilege_hint_names_the_session_role():
    assert privilege_hint("permission denied for table orders", "mon") == (
        "GRANT SELECT ON TABLE orders TO mon; docs/privileges.md")
