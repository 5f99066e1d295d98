from perftool.db import sql


def test_every_sql_file_loads_and_has_marker():
    assert sql.names(), "no SQL files found"
    for name in sql.names():
        text = sql.load(name, 15)
        assert text.startswith(sql.MARKER)
        assert text.strip() != sql.MARKER.strip()


def test_marker_follows_the_first_keyword_where_pg18_keeps_it():
    """PG18's pg_stat_statements drops leading comments: the marker must also sit inside the
    statement, right after its first keyword, in every file and in the fragments whatif.py sends."""
    import re

    after_keyword = re.compile(r"^(?:\s+|--[^\n]*\n|/\*.*?\*/)*[A-Za-z]+ /\* perftool \*/", re.DOTALL)
    for name in sql.names():
        body = sql.load(name, 18)[len(sql.MARKER):]
        assert after_keyword.match(body), name
    for fragment in ("whatif_explain", "whatif_explain_execute", "whatif_prepare",
                     "whatif_deallocate"):
        assert after_keyword.match(sql.load_text(fragment)), fragment
    assert sql.mark("-- c\nWITH x AS (SELECT 1) SELECT * FROM x") == (
        "/* perftool */ -- c\nWITH /* perftool */ x AS (SELECT 1) SELECT * FROM x")
    assert sql.own_statement_filter() == "/* perftool */"
    # fix SQL for people carries no marker
    assert "perftool" not in sql.statement_text("chk_reindex_index", schema="s", index="i")


def test_version_variants_are_chosen_by_server_major():
    pg13 = sql.load("top_statements", 13)
    pg15 = sql.load("top_statements", 15)
    pg17 = sql.load("top_statements", 17)
    pg18 = sql.load("top_statements", 18)
    assert "true                                       AS toplevel" in pg13
    assert "s.toplevel" in pg15 and "s.blk_read_time" in pg15
    assert "s.shared_blk_read_time" in pg17 and "s.blk_read_time " not in pg17
    assert pg18 == pg17
    # PG13 has no pg_stat_statements_info
    assert "FROM pg_stat_statements_info" not in sql.load("statements_info", 13)
    assert "FROM pg_stat_statements_info" in sql.load("statements_info", 14)


def test_no_sql_in_python_fstrings():
    """SQL lives in .sql files: no f-string starting with a SQL keyword anywhere in the package."""
    import re
    from pathlib import Path

    # an f-string that starts with a statement keyword and goes on like SQL (messages such as
    # f"EXPLAIN failed: {err}" are not statements)
    pattern = re.compile(r"""f["']\s*(SELECT|WITH|CREATE|ALTER|DROP|INSERT|UPDATE|DELETE|EXPLAIN|SET)\b"""
                         r"""[^"']*\b(FROM|INTO|TABLE|INDEX|WHERE|VALUES|ON|AS|SET|\()""")
    offenders = []
    for path in Path("perftool").rglob("*.py"):
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path}:{i}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_record_reads_like_the_dict_of_its_row():
    import pytest
    from hypothesis import given
    from hypothesis import strategies as st

    from perftool.db.sql import Record

    @given(st.dictionaries(st.text(min_size=1, max_size=8), st.one_of(st.none(), st.integers(), st.text()),
                           max_size=12))
    def check(row):
        fields = {k: i for i, k in enumerate(row)}
        r = Record(fields, tuple(row.values()))
        assert dict(r) == row and r == row and len(r) == len(row) and list(r) == list(row)
        for k, v in row.items():
            assert r[k] == v and r.get(k, "missing") == v and k in r
        assert r.get("\x00absent") is None and r.get("\x00absent", 7) == 7 and "\x00absent" not in r
        with pytest.raises(KeyError):
            r["\x00absent"]

    check()


def test_gc_paused_leaves_no_young_pile_behind():
    import gc

    from perftool.gc_pause import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():             # nested: the outer one turns it back on
            pass
        assert not gc.isenabled()
        made = [[i] for i in range(50_000)]
    assert gc.isenabled() and gc.get_freeze_count() == 0
    # what the block made went to the oldest generation at once: no young-generation pass walks it
    assert any(o is made for o in gc.get_objects(generation=2))
    del made
