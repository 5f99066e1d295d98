"""The index advisor's workload sources without a server: SQL text split into statements (quotes,
dollar quotes, comments, line numbers), files and stdin, --query, PostgreSQL logs written with
log_min_duration_statement (multi-line statements, bind parameters), and merging of repeats."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perftool.db.errors import InputError
from perftool.workload.sources import (
    WorkloadStatement,
    from_file,
    from_log,
    from_queries,
    from_text,
    merge,
    split_statements,
)

# --- split_statements --------------------------------------------------------------------------------


def texts(text: str) -> list[str]:
    return [body for _line, body in split_statements(text)]


def test_plain_statements_with_their_lines():
    text = "SELECT 1;\nSELECT 2;\n\n\n  SELECT 3\n"
    assert split_statements(text) == [(1, "SELECT 1"), (2, "SELECT 2"), (5, "SELECT 3")]


def test_empty_and_blank_text_and_lone_semicolons_give_nothing():
    assert split_statements("") == []
    assert split_statements("  \n\t\n") == []
    assert split_statements(";;\n ; ;") == []


@pytest.mark.parametrize("statement", [
    "SELECT 'a;b' FROM t",
    "SELECT 'it''s; here' FROM t",
    'SELECT "odd;name" FROM t',
    'SELECT "say ""hi"";" FROM t',
    "SELECT $$ ; $$",
    "SELECT $body$ it's; $$ ; $body$",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $fn$ SELECT 1; SELECT 2; $fn$",
    "SELECT E'it\\'s; here' FROM t",
    "SELECT e'back\\\\'",
    "SELECT 1 -- a comment; not the end\n FROM t",
    "SELECT 1 /* block; /* nested; */ still; */ FROM t",
])
def test_semicolons_inside_quotes_and_comments_do_not_split(statement):
    assert texts(f"{statement};\nSELECT 2;") == [statement, "SELECT 2"]


def test_numbered_parameters_are_not_dollar_quotes():
    assert texts("SELECT * FROM t WHERE a = $1 AND b = $2; SELECT $3") == [
        "SELECT * FROM t WHERE a = $1 AND b = $2", "SELECT $3"]


def test_a_dollar_inside_an_identifier_does_not_open_a_dollar_quote():
    assert texts("SELECT a$b$c FROM t; SELECT 2") == ["SELECT a$b$c FROM t", "SELECT 2"]


def test_an_e_at_the_end_of_a_word_does_not_make_an_escape_string():
    # `name'…'` is not E'…': the backslash is an ordinary character and the quote closes the literal
    assert texts("SELECT 'x\\';SELECT 2") == ["SELECT 'x\\'", "SELECT 2"]
    assert texts("SELECT name'x\\';SELECT 2") == ["SELECT name'x\\'", "SELECT 2"]


def test_leading_comments_are_kept_and_comment_only_pieces_are_dropped():
    text = "-- the report\nSELECT 1;\n-- trailing note;\n/* a /* nested */ block */;\n/* unterminated"
    assert split_statements(text) == [(2, "-- the report\nSELECT 1")]   # the line of the statement itself


def test_a_comment_after_the_semicolon_does_not_move_the_next_statements_line():
    text = "SELECT 1; -- about SELECT 1\n\n/* about\n SELECT 2 */\nSELECT 2"
    assert split_statements(text) == [(1, "SELECT 1"), (5, "-- about SELECT 1\n\n/* about\n SELECT 2 */\nSELECT 2")]


def test_line_numbers_count_newlines_inside_strings_comments_and_dollar_quotes():
    text = ("SELECT 'multi\nline';\n"          # 1-2
            "/* two\nlines */ SELECT 2;\n"       # 3-4 (the statement is on 4)
            "SELECT $$\n\n$$;\n"                 # 5-7
            "SELECT E'a\\\nb';\n"                # 8-9 (a backslash-escaped newline)
            "SELECT \"x\ny\" FROM t; -- c\n"     # 10-11
            "\n"
            "SELECT 6")                          # 13
    assert [line for line, _ in split_statements(text)] == [1, 4, 5, 8, 10, 13]


def test_unterminated_quote_runs_to_the_end():
    assert texts("SELECT 1; SELECT 'open; SELECT 3") == ["SELECT 1", "SELECT 'open; SELECT 3"]
    assert texts("SELECT $x$ open; SELECT 3") == ["SELECT $x$ open; SELECT 3"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("ab E;'\"$-/*\\\n\t_1")), max_size=80) | st.text(max_size=120))
def test_any_text_splits_into_its_own_pieces(text):
    pieces = split_statements(text)
    cursor = 0
    lines = text.split("\n")
    for line, body in pieces:
        assert body and body == body.strip()
        found = text.find(body, cursor)               # each piece is the text itself, in order
        assert found >= 0, (body, text)
        cursor = found + len(body)
        if not body.startswith(("--", "/*")):
            assert body.split("\n")[0] in lines[line - 1]  # … starting on the line it reports
    # nothing is lost or re-cut: the pieces joined with `;` split into the same pieces again
    assert texts("\n;\n".join(body for _line, body in pieces)) == [body for _line, body in pieces]


CODE = ["SELECT", "x", "1", "=", "t.a", "$1", "'a;b'", "'it''s;'", "E'\\';'", '"q;id"', "$$ ; $$",
        "$f$ ; $$ ; $f$", "(", ")"]
COMMENTS = ["-- note; here\n", "/* c; /* nested; */ */", "\n", "\t"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(CODE + COMMENTS), max_size=6), max_size=5))
def test_statements_built_from_tokens_come_back_exactly(statements):
    chunks = [" ".join(tokens) for tokens in statements]
    text = ";".join(chunks)
    expected, offset = [], 0
    for chunk, tokens in zip(chunks, statements, strict=True):
        code = [k for k, tok in enumerate(tokens) if tok in CODE]
        if code:
            first = offset + sum(len(tok) + 1 for tok in tokens[:code[0]])   # the first token outside comments
            expected.append((text.count("\n", 0, first) + 1, chunk.strip()))
        offset += len(chunk) + 1
    assert split_statements(text) == expected


# --- files, stdin, --query ------------------------------------------------------------------------------

SQL_FILE = """\
SELECT * FROM orders WHERE status = 'a;b';

-- the same statement again, written differently
select *
  from ORDERS   where status = 'a;b';
SELECT * FROM orders WHERE status = 'A;B';
SELECT $$;$$
"""


def test_from_file_gives_file_line_origins_and_merging_counts_calls(tmp_path):
    path = tmp_path / "workload.sql"
    path.write_text(SQL_FILE)
    got = from_file(path)
    assert [(s.origin, s.source, s.calls) for s in got] == [
        (f"{path}:1", "file", 1.0), (f"{path}:4", "file", 1.0), (f"{path}:6", "file", 1.0), (f"{path}:7", "file", 1.0)]
    merged = merge(got)
    assert [(s.text, s.calls, s.origin) for s in merged] == [
        ("SELECT * FROM orders WHERE status = 'a;b'", 2.0, f"{path}:1"),
        ("SELECT * FROM orders WHERE status = 'A;B'", 1.0, f"{path}:6"),   # a different literal
        ("SELECT $$;$$", 1.0, f"{path}:7"),
    ]


def test_from_file_dash_reads_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("SELECT 1;\nSELECT 2"))
    got = from_file("-")
    assert [(s.text, s.source, s.origin) for s in got] == [("SELECT 1", "stdin", "stdin:1"),
                                                          ("SELECT 2", "stdin", "stdin:2")]


def test_from_file_missing_is_a_clean_input_error(tmp_path):
    with pytest.raises(InputError) as err:
        from_file(tmp_path / "nope.sql")
    assert err.value.exit_code == 2
    assert err.value.one_line() == f"cannot read {tmp_path / 'nope.sql'}: No such file or directory"


def test_from_queries_one_origin_per_option_and_split_on_semicolons():
    got = from_queries(["SELECT 1;", "SELECT 2; SELECT 'x;y'", "  "])
    assert [(s.text, s.origin, s.source) for s in got] == [
        ("SELECT 1", "--query 1", "query"), ("SELECT 2", "--query 2", "query"), ("SELECT 'x;y'", "--query 2", "query")]


def test_from_text_names_the_origin():
    assert [s.origin for s in from_text("SELECT 1;\n\nSELECT 2", "file", "a.sql")] == ["a.sql:1", "a.sql:3"]


def test_merge_adds_weights_and_keeps_the_first_text():
    merged = merge([
        WorkloadStatement("SELECT a FROM t WHERE b = $1", calls=3, total_ms=1.5, rows=3, origin="x:1"),
        WorkloadStatement("select a\n  from T where B = $1;", calls=2, total_ms=0.5, rows=4, origin="x:9"),
        WorkloadStatement('SELECT a FROM "T" WHERE b = $1', calls=1, total_ms=9.0, origin="x:12"),
        WorkloadStatement("SELECT a FROM t WHERE b = 'X  Y'", origin="x:20"),
        WorkloadStatement("SELECT a FROM t WHERE b = 'x y'", origin="x:21"),
    ])
    assert [(s.text, s.calls, s.total_ms, s.rows, s.origin) for s in merged] == [
        ("SELECT a FROM t WHERE b = $1", 5.0, 2.0, 7.0, "x:1"),
        ('SELECT a FROM "T" WHERE b = $1', 1.0, 9.0, 0.0, "x:12"),      # a quoted identifier is another table
        ("SELECT a FROM t WHERE b = 'X  Y'", 1.0, 0.0, 0.0, "x:20"),     # literals are compared as written
        ("SELECT a FROM t WHERE b = 'x y'", 1.0, 0.0, 0.0, "x:21"),
    ]
    assert merged[0].rows_per_call == pytest.approx(1.4)


# --- PostgreSQL logs -------------------------------------------------------------------------------------

# log_line_prefix = '%m [%p] ', log_min_duration_statement = 0; the server writes every further line of a
# message after one tab (the statement's own indentation follows it)
LOG = """\
2024-05-01 12:00:00.100 UTC [1200] LOG:  checkpoint starting: time
2024-05-01 12:00:00.500 UTC [1200] LOG:  checkpoint complete: wrote 3 buffers (0.0%); 0 WAL file(s) added
2024-05-01 12:00:01.001 UTC [1300] LOG:  duration: 12.345 ms  statement: SELECT id FROM orders WHERE status = 'paid';
2024-05-01 12:00:02.001 UTC [1301] LOG:  duration: 7.5 ms  statement: SELECT id, total
\tFROM orders
\t\tWHERE note LIKE 'ERROR:  %'
\t  AND created_at > now() - interval '1 day'
2024-05-01 12:00:03.001 UTC [1302] LOG:  duration: 0.210 ms  parse <unnamed>: SELECT * FROM orders WHERE id = $1
2024-05-01 12:00:03.002 UTC [1302] LOG:  duration: 0.105 ms  bind <unnamed>: SELECT * FROM orders WHERE id = $1
2024-05-01 12:00:03.002 UTC [1302] DETAIL:  parameters: $1 = '42'
2024-05-01 12:00:03.003 UTC [1302] LOG:  duration: 3.2 ms  execute <unnamed>: SELECT * FROM orders WHERE id = $1
2024-05-01 12:00:03.003 UTC [1302] DETAIL:  parameters: $1 = '42'
2024-05-01 12:00:03.500 UTC [1302] LOG:  duration: 1.8 ms  execute S_1: SELECT * FROM customers WHERE name = $1 AND city = $2 AND n = $10 AND m = $11
2024-05-01 12:00:03.500 UTC [1302] DETAIL:  parameters: $1 = 'O''Brien', $2 = NULL, $10 = '10', $11 = '$1'
2024-05-01 12:00:04.000 UTC [1303] ERROR:  relation "nope" does not exist at character 15
2024-05-01 12:00:04.000 UTC [1303] STATEMENT:  SELECT * FROM nope
2024-05-01 12:00:04.500 UTC [1304] LOG:  statement: SELECT 'logged by log_statement, no duration'
2024-05-01 12:00:04.600 UTC [1304] LOG:  duration: 0.300 ms
2024-05-01 12:00:04.700 UTC [1305] LOG:  automatic vacuum of table "app.public.orders": index scans: 0
\tpages: 0 removed, 10 remain
2024-05-01 12:00:05.001 UTC [1300] LOG:  duration: 20.0 ms  statement: SELECT id FROM orders WHERE status = 'paid'
"""


@pytest.fixture
def log_file(tmp_path):
    path = tmp_path / "postgresql.log"
    path.write_text(LOG)
    return path


def test_from_log_reads_duration_lines_only(log_file):
    got = from_log(log_file)
    assert [(s.origin, s.source, s.calls, s.total_ms) for s in got] == [
        (f"{log_file}:3", "log", 1.0, 12.345),
        (f"{log_file}:4", "log", 1.0, 7.5),
        (f"{log_file}:11", "log", 1.0, 3.2),        # execute only: parse and bind are the same statement
        (f"{log_file}:13", "log", 1.0, 1.8),
        (f"{log_file}:21", "log", 1.0, 20.0),
    ]
    assert got[0].text == "SELECT id FROM orders WHERE status = 'paid'"   # the final ; dropped


def test_from_log_keeps_multi_line_statements_whole(log_file):
    statement = from_log(log_file)[1].text
    assert statement == ("SELECT id, total\nFROM orders\n\tWHERE note LIKE 'ERROR:  %'\n"
                         "  AND created_at > now() - interval '1 day'")


def test_from_log_substitutes_bind_parameters_as_quoted_literals(log_file):
    got = from_log(log_file)
    assert got[2].text == "SELECT * FROM orders WHERE id = '42'"
    # $10 is not $1 followed by 0; a value is never substituted again; NULL stays NULL; quotes stay doubled
    assert got[3].text == ("SELECT * FROM customers WHERE name = 'O''Brien' AND city = NULL AND n = '10' "
                           "AND m = '$1'")


def test_from_log_weights_by_occurrences_and_total_time(log_file):
    merged = merge(from_log(log_file))
    paid = [s for s in merged if s.text == "SELECT id FROM orders WHERE status = 'paid'"]
    assert len(merged) == 4
    assert [(s.calls, s.total_ms, s.origin) for s in paid] == [(2.0, pytest.approx(32.345), f"{log_file}:3")]


def test_from_log_reads_jsonlog_lines(tmp_path):
    path = tmp_path / "postgresql.json"
    records = [
        {"timestamp": "2024-05-01 12:00:00.100 UTC", "pid": 7, "error_severity": "LOG",
         "message": "checkpoint starting: time"},
        {"timestamp": "2024-05-01 12:00:01.100 UTC", "pid": 7, "error_severity": "LOG",
         "message": "duration: 2.500 ms  execute <unnamed>: SELECT * FROM orders\nWHERE id = $1",
         "detail": "parameters: $1 = '7'"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    got = from_log(path)
    assert [(s.text, s.total_ms, s.origin) for s in got] == [
        ("SELECT * FROM orders\nWHERE id = '7'", 2.5, f"{path}:2")]


def test_a_log_without_statement_durations_is_a_clean_input_error(tmp_path):
    path = tmp_path / "quiet.log"
    path.write_text("2024-05-01 12:00:00.100 UTC [1200] LOG:  checkpoint starting: time\n"
                    "2024-05-01 12:00:04.000 UTC [1303] ERROR:  relation \"nope\" does not exist\n"
                    "2024-05-01 12:00:04.000 UTC [1303] STATEMENT:  SELECT * FROM nope\n"
                    "not a log line at all\n")
    with pytest.raises(InputError) as err:
        from_log(path)
    assert err.value.exit_code == 2
    assert err.value.one_line() == (f"{path}: no statements with durations found "
                                    "(log them with log_min_duration_statement = 0, or a threshold in ms)")
    assert "\n" not in err.value.one_line()


def test_an_empty_or_missing_log_is_a_clean_input_error(tmp_path):
    empty = tmp_path / "empty.log"
    empty.write_text("")
    with pytest.raises(InputError, match="no statements with durations found"):
        from_log(empty)
    with pytest.raises(InputError, match="cannot read .*missing.log: No such file or directory"):
        from_log(tmp_path / "missing.log")


def test_logged_bind_values_are_quoted_again_by_psycopg_never_pasted(tmp_path):
    """A value a user of the application chose (`\\' ; SET … ; DROP TABLE canary; --`) is read back
    to its string and quoted as E'…' (backslash doubled), which reads the same under either setting
    of standard_conforming_strings; a value with a NUL byte cannot be sent: its $n stays."""
    path = tmp_path / "postgresql.log"
    path.write_text(
        "2024-05-01 12:00:00.000 UTC [1] LOG:  duration: 1.000 ms  execute <unnamed>: "
        "SELECT * FROM t WHERE a = $1 AND b = $2\n"
        "2024-05-01 12:00:00.000 UTC [1] DETAIL:  parameters: $1 = '\\'' ; SET x = 1; DROP TABLE canary; --', "
        "$2 = 'a\x00b'\n")
    [got] = from_log(path)
    assert got.text == "SELECT * FROM t WHERE a = E'\\\\'' ; SET x = 1; DROP TABLE canary; --' AND b = $2"
    from perftool.workload.sources import split_statements

    assert len(split_statements(got.text)) == 1
