"""Statement text is data, never a script — proved on the server's own log.

The test database logs every statement (`log_statement = all`, set on it alone). Hostile statement
texts built from quoting tricks (E'' and U&'' strings, dollar quotes, nested comments, backslashes
under both settings of standard_conforming_strings, semicolons, COMMIT / SET / RESET / DO / COPY /
CALL / DROP) go in through every input path — `--query`, `--from FILE`, stdin, `--log` (as
statements and as logged bind values) and pg_stat_statements — and every read-only command runs
on the result. After each run the log must show nothing executed but perftool's own SQL files and
its EXPLAIN / PREPARE / DEALLOCATE wrappers (one statement each, so the text inside cannot be a
second command), and a canary table must still hold its rows.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from perftool.cli.app import app
from perftool.db import sql as sql_files

runner = CliRunner()
CANARY_ROWS = 500
PAYLOADS = [
    "SET default_transaction_read_only = off; COMMIT; DROP TABLE canary",
    "COMMIT; DROP TABLE canary",
    "RESET ALL; DELETE FROM canary",
    "DO $x$BEGIN EXECUTE 'DROP TABLE canary'; END$x$",
    "COPY canary TO STDOUT",
    "CALL nosuch()",
    "SELECT pg_terminate_backend(pg_backend_pid())",
    "TRUNCATE canary",
    "END; DROP TABLE canary",
]
TRICKS = ["'", "''", "\\'", "'\\''", "E'\\''", "E'\\\\'", "U&'\\0041'", "U&'d\\0061t\\+000061' UESCAPE '!'",
          "$$", "$$'$$", "$t$", "$t$ ; $t$", "/*", "*/", "/* /* */", "/* ' */", "--", "\n", ";", "\\", '"', '";"',
          "' ; ", " ; --'", "$1", "%s", "%(x)s", "{x}", "\x00", "\t"]


@cache
def _own_statement_patterns() -> list[re.Pattern]:
    """Every statement text perftool itself may send: its SQL files as loaded (`mark()`: marker
    before the statement and after its first keyword), with identifiers ({name}) and bound
    parameters ($n for %(name)s / %s) left open."""
    pats = []
    root = Path(sql_files.__file__).parent
    for f in sorted(root.glob("*.sql")):
        body = re.escape(sql_files.mark(f.read_text(encoding="utf-8")).rstrip())
        body = re.sub(r"\\\{[a-z_]+\\\}", ".+?", body)
        body = re.sub(r"%\\\([a-z_]+\\\)s|%s", r"\\$\\d+", body).replace("%%", "%%?")  # %% is % only with parameters
        pats.append(re.compile(body + r"\s*", re.S))
    return pats


@cache
def _wrappers() -> re.Pattern:
    """The what-if wrappers around outside text: EXPLAIN … / PREPARE … AS … (then the text: one
    statement, or the server would have refused it), EXPLAIN EXECUTE (NULL, …), DEALLOCATE."""
    from perftool.advisor.whatif import PREPARED_NAME

    def piece(name: str) -> str:
        text = sql_files.MARKER + sql_files.load_fragment(name)
        out = re.escape(text).replace(re.escape("{name}"), re.escape(f'"{PREPARED_NAME}"'))
        return out.replace(re.escape("{arguments}"), r"(?:NULL(?:, NULL)*)?")

    def explain_piece(name: str) -> str:          # perftool explain's: its own prepared name, literal values
        from perftool.plans.run import PREPARED_NAME as EXPLAIN_NAME

        text = sql_files.MARKER + sql_files.load_fragment(name)
        out = re.escape(text).replace(re.escape("{name}"), re.escape(f'"{EXPLAIN_NAME}"'))
        value = r"(?:NULL|'(?:[^']|'')*')"          # NULLs for a generic plan, --param values
        return out.replace(re.escape("{arguments}"), rf"(?:{value}(?:, {value})*)?")

    return re.compile("(?:" + "|".join([piece("whatif_explain") + " ", piece("whatif_prepare") + " ",
                                        piece("whatif_explain_execute") + "$", piece("whatif_deallocate") + "$",
                                        piece("explain_analyze") + " ", piece("explain_estimate") + " ",
                                        explain_piece("whatif_prepare") + " ", explain_piece("explain_execute") + "$",
                                        explain_piece("explain_execute_estimate") + "$",
                                        explain_piece("whatif_explain_execute") + "$",
                                        explain_piece("whatif_deallocate") + "$"])
                      + ")", re.S)


_ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \S+ \[\d+\] (?P<who>\S*) (?P<level>[A-Z]+):  (?P<msg>.*)$")
_EXECUTED = re.compile(r"^(?:statement|execute [^:]+): (?P<text>.*)$", re.S)


def executed_statements(log_text: str, database: str) -> list[str]:
    """The statements the server executed in `database`, from a stderr log (continuation lines
    carry a leading tab)."""
    entries: list[list[str]] = []
    for line in log_text.splitlines():
        m = _ENTRY.match(line)
        if m:
            entries.append([m["who"], m["level"], m["msg"]])
        elif entries:
            entries[-1][2] += "\n" + (line[1:] if line.startswith("\t") else line)
    out = []
    for who, level, msg in entries:
        if level == "LOG" and who.endswith("@" + database):
            m = _EXECUTED.match(msg)
            if m:
                out.append(m["text"])
    return out


def unexpected(statements: list[str]) -> list[str]:
    bad = []
    for text in statements:
        if _wrappers().match(text):
            continue
        if any(p.fullmatch(text) for p in _own_statement_patterns()):
            continue
        bad.append(text)
    return bad


class Target:
    """A database with a canary table and every statement logged; reads the log since a mark."""

    def __init__(self, sandbox, dsn: str, name: str):
        self.sandbox, self.dsn, self.name = sandbox, dsn, name
        self.mark = 0

    def admin(self, text: str) -> list[tuple]:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            cur = conn.execute(text)
            return cur.fetchall() if cur.description else []

    def set_standard_strings(self, on: bool) -> None:
        self.admin(f"ALTER DATABASE {self.name} SET standard_conforming_strings = {'on' if on else 'off'}")

    def start(self) -> None:
        self.mark = self.sandbox.log_file.stat().st_size

    def new_statements(self) -> list[str]:
        with open(self.sandbox.log_file, encoding="utf-8", errors="replace") as fh:
            fh.seek(self.mark)
            return executed_statements(fh.read(), self.name)

    def assert_intact(self) -> None:
        assert self.admin("SELECT count(*) FROM canary") == [(CANARY_ROWS,)]
        # nothing perftool ran changed the database's or a role's settings
        settings_rows = self.admin("SELECT unnest(setconfig) FROM pg_db_role_setting s JOIN pg_database d "
                                   f"ON d.oid = s.setdatabase WHERE d.datname = '{self.name}' ORDER BY 1")
        assert {r[0].split("=")[0] for r in settings_rows} <= {"log_statement", "standard_conforming_strings"}


@pytest.fixture(scope="module")
def target(sandbox):
    name = "t_security_canary"
    dsn = sandbox.create_database(name)
    t = Target(sandbox, dsn, name)
    t.admin("CREATE TABLE canary (id int PRIMARY KEY, v text, n int)")
    t.admin(f"INSERT INTO canary SELECT g, 'v' || g, g % 10 FROM generate_series(1, {CANARY_ROWS}) g")
    t.admin("ANALYZE canary")
    t.admin(f"ALTER DATABASE {name} SET log_statement = 'all'")
    yield t
    sandbox.drop_database(name)


def run(target: Target, args: list[str], stdin: str | None = None):
    target.start()
    result = runner.invoke(app, args, input=stdin, catch_exceptions=False)
    executed = target.new_statements()
    return result, executed


def check(target: Target, result, executed: list[str], codes=(0, 1, 2)) -> None:
    assert result.exit_code in codes, result.output
    assert "Traceback" not in result.output
    assert executed, "the server log shows nothing: is log_statement on?"
    assert unexpected(executed) == []
    target.assert_intact()


def hostile_text(tricks: list[str], payload: str) -> str:
    return "SELECT * FROM canary WHERE id = 1 AND v <> " + "".join(tricks) + " ; " + payload + " --'"


texts = st.builds(hostile_text, st.lists(st.sampled_from(TRICKS), max_size=6), st.sampled_from(PAYLOADS))


def test_the_attack_of_the_issue_is_costed_as_one_statement_and_the_canary_survives(target):
    """The reported attack: with standard_conforming_strings off on the database, `'\\''` used to
    end the string for the server but not for the splitter; the batch that failed with "multiple
    commands" was retried over the simple protocol."""
    target.set_standard_strings(False)
    try:
        text = ("SELECT * FROM canary WHERE id = 1 AND 'a' <> '\\'' ; SET default_transaction_read_only = off; "
                "COMMIT; DROP TABLE canary; --'")
        result, executed = run(target, ["indexes", "recommend", "--dsn", target.dsn, "--query", text, "-f", "json"])
        check(target, result, executed, codes=(0,))
        assert any(s.endswith(text) and s.startswith(sql_files.MARKER + "EXPLAIN") for s in executed)
    finally:
        target.set_standard_strings(True)


def test_a_text_with_two_commands_is_skipped_never_run(target):
    """A text that really is two statements for the server (a splitter bug's worst case) is refused
    by the server over the extended protocol and skipped with a reason, not retried."""
    from perftool.advisor.whatif import WhatIf
    from perftool.db.connect import connect
    from perftool.db.statement_send import MULTIPLE_COMMANDS

    target.start()
    with connect(target.dsn) as conn:
        whatif = WhatIf(conn)
        sid = whatif.add_statement("SELECT 1 FROM canary; DROP TABLE canary", [("public", "canary")])
        good = whatif.add_statement("SELECT * FROM canary WHERE n = 3", [("public", "canary")])
        whatif.explain_all([sid, good])
        assert whatif.explain(sid).error == MULTIPLE_COMMANDS
        assert whatif.explain(good).cost is not None
    executed = target.new_statements()
    assert unexpected(executed) == []
    assert not any("DROP TABLE canary" in s for s in executed)
    target.assert_intact()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts, path=st.sampled_from(["query", "from", "stdin"]), standard=st.booleans())
def test_hostile_texts_through_every_text_input(target, tmp_path_factory, text, path, standard):
    target.set_standard_strings(standard)
    args = ["indexes", "recommend", "--dsn", target.dsn, "-f", "json"]
    stdin = None
    if path == "query":
        args += ["--query", text]
    elif path == "from":
        f = tmp_path_factory.mktemp("sql") / "workload.sql"
        f.write_text(text, encoding="utf-8")
        args += ["--from", str(f)]
    else:
        args += ["-"]
        stdin = text
    result, executed = run(target, args, stdin)
    check(target, result, executed)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts, path=st.sampled_from(["argument", "file", "stdin"]), dml=st.booleans(), standard=st.booleans())
def test_hostile_texts_through_explain(target, tmp_path_factory, text, path, dml, standard):
    """perftool explain refuses a text of several statements before connecting (exit 2), and what
    it does send is only its EXPLAIN wrappers; with --allow-dml too, the canary keeps its rows."""
    target.set_standard_strings(standard)
    args = ["explain", "--dsn", target.dsn, "--format", "json", "--no-proof"] + (["--allow-dml"] if dml else [])
    stdin = None
    if path == "argument":
        args += [text]
    elif path == "file":
        f = tmp_path_factory.mktemp("sql") / "statement.sql"
        f.write_text(text, encoding="utf-8")
        args += ["-f", str(f)]
    else:
        stdin = text
    result, executed = run(target, args, stdin)
    assert result.exit_code in (0, 1, 2, 3), result.output
    assert "Traceback" not in result.output
    assert unexpected(executed) == []
    assert not any("DROP TABLE canary" in s and not _wrappers().match(s) for s in executed)
    target.assert_intact()


def _log_line(kind: str, text: str) -> str:
    return f"2026-05-01 12:00:00.000 UTC [4242] app@db LOG:  duration: 1.500 ms  {kind}: {text}\n"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=texts, text=texts, standard=st.booleans())
def test_hostile_log_statements_and_bind_values(target, tmp_path_factory, value, text, standard):
    """A bind value logged by the application (`\\' ; SET … ; DROP TABLE canary; --`) is a value a
    user of the web application chose: it comes back as a psycopg literal, never pasted in."""
    target.set_standard_strings(standard)
    logged = value.replace("'", "''")
    log = (_log_line("execute <unnamed>", "SELECT * FROM canary WHERE v = $1 AND n = $2")
           + f"2026-05-01 12:00:00.000 UTC [4242] app@db DETAIL:  parameters: $1 = '{logged}', $2 = '3'\n"
           + _log_line("statement", text))
    f = tmp_path_factory.mktemp("log") / "postgresql.log"
    f.write_text(log, encoding="utf-8")
    result, executed = run(target, ["indexes", "recommend", "--dsn", target.dsn, "--log", str(f), "-f", "json"])
    check(target, result, executed)


@pytest.mark.parametrize("standard", [True, False])
def test_pg_stat_statements_texts_and_every_read_only_command(target, tmp_path, standard):
    """Statements an application ran (valid for its own setting of standard_conforming_strings,
    with payloads in comments, quoted identifiers and strings) reach pg_stat_statements; then every
    read-only command runs on that database."""
    target.set_standard_strings(standard)
    app_statements = [
        "SELECT id FROM canary WHERE v = 'a\\' /* ; DROP TABLE canary; -- */' AND n = 1",
        "SELECT id AS \"x; DROP TABLE canary; --\" FROM canary WHERE n = 2",
        "SELECT id FROM canary /* '; COMMIT; DROP TABLE canary; -- */ WHERE n = 3",
        "SELECT id FROM canary WHERE v = $q$'; DROP TABLE canary; --$q$ AND n = 4",
        "SELECT id FROM canary WHERE v = E'\\'; DROP TABLE canary; --' AND n = 5",
        "SELECT id FROM canary -- '; DROP TABLE canary\n WHERE n = 6",
    ]
    with psycopg.connect(target.dsn, autocommit=True) as conn:
        for text in app_statements:
            try:
                conn.execute(text)
            except psycopg.Error:
                pass    # invalid under this setting: the application would have failed too
    snapshot = tmp_path / "set.yaml"
    commands = [
        ["indexes", "recommend", "--dsn", target.dsn, "-f", "json"],
        ["queries", "--dsn", target.dsn, "-f", "json"],
        ["analyze", "--dsn", target.dsn, "-f", "json"],
        ["indexes", "health", "--dsn", target.dsn, "-f", "json"],
        ["indexes", "snapshot", "--dsn", target.dsn, "-o", str(snapshot)],
        ["indexes", "diff", "--dsn", target.dsn, "--set", str(snapshot), "-f", "json"],
        ["indexes", "check", "--dsn", target.dsn, "--set", str(snapshot), "-f", "json"],
        ["indexes", "--check", "--dsn", target.dsn, "--set", str(snapshot)],
    ]
    try:
        for args in commands:
            result, executed = run(target, args)
            check(target, result, executed)
    finally:
        target.set_standard_strings(True)


def test_sessions_are_read_only_from_the_start_up_packet(target):
    """default_transaction_read_only comes in the start-up packet (before any statement) and again
    as a session setting; a session that is made read-write by hand still cannot escape: each
    costing batch runs in BEGIN READ ONLY … ROLLBACK."""
    from perftool.db.connect import connect

    with connect(target.dsn) as conn:
        row = conn.execute("SELECT current_setting('default_transaction_read_only'), "
                           "current_setting('standard_conforming_strings'), "
                           "(SELECT setting FROM pg_settings WHERE name = 'default_transaction_read_only' "
                           "AND source = 'client')").fetchone()
        assert row == ("on", "on", None) or row[:2] == ("on", "on")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("DROP TABLE canary")
    target.assert_intact()


def test_a_setting_changed_during_costing_is_rolled_back(target):
    """Even if something the planner evaluated changed a setting, the batch's ROLLBACK undoes it."""
    from perftool.db.connect import connect
    from perftool.db.statement_send import Command, run_read_only

    with connect(target.dsn) as conn:
        run_read_only(conn, [Command("SELECT set_config('default_transaction_read_only', 'off', false)", True)])
        assert conn.execute("SHOW default_transaction_read_only").fetchone() == ("on",)


def test_a_statement_whose_planning_times_out_is_skipped_and_the_others_are_costed(target):
    """An IMMUTABLE function the planner folds at plan time: its statement times out once, is
    skipped with a reason naming --statement-timeout, and the rest of the workload is advised."""
    target.admin("CREATE OR REPLACE FUNCTION slow_plan(x int) RETURNS int LANGUAGE plpgsql IMMUTABLE "
                 "AS $$BEGIN PERFORM pg_sleep(2); RETURN x; END$$")
    result, executed = run(target, [
        "--statement-timeout", "300ms", "indexes", "recommend", "--dsn", target.dsn, "-f", "json",
        "--query", "SELECT * FROM canary WHERE n = slow_plan(3)",
        "--query", "SELECT * FROM canary WHERE v = 'v7'"])
    check(target, result, executed, codes=(0,))
    import json

    doc = json.loads(result.stdout)
    assert [(s["query"], s["reason"]) for s in doc["skipped"]] == [(
        "SELECT * FROM canary WHERE n = slow_plan(3)",
        "EXPLAIN failed: planning took longer than the statement timeout (300ms): raise it with --statement-timeout")]
    assert [r["columns"] for r in doc["recommendations"]] == [["v"]]
    # planned once (one timeout), not once per batch and again alone
    assert sum("slow_plan(3)" in s and "EXPLAIN" in s for s in executed) == 1


def test_through_pgbouncer_the_session_guards_still_hold(target, pgbouncer):
    """pgbouncer refuses the `options` start-up parameter (unless told to ignore it): perftool
    connects without it, and its session settings still make the session read-only."""
    from perftool.db.connect import connect

    dsn = f"postgresql://postgres@127.0.0.1:{pgbouncer}/{target.name}"
    with pytest.raises(psycopg.OperationalError, match="unsupported startup parameter"):
        psycopg.connect(dsn, options="-c default_transaction_read_only=on").close()
    with connect(dsn) as conn:
        assert conn.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
        assert conn.execute("SHOW standard_conforming_strings").fetchone() == ("on",)
    result, executed = run(target, ["indexes", "recommend", "--dsn", dsn, "-f", "json",
                                    "--query", "SELECT * FROM canary WHERE v = 'v1'"])
    check(target, result, executed, codes=(0,))
