"""Running a statement's EXPLAIN safely: the one way `perftool explain` gets a plan from a server.

- What may run: `classify()` reads the text with sqlglot (`workload.statement_text`). SELECT /
  WITH / VALUES / TABLE run under EXPLAIN ANALYZE in BEGIN READ ONLY … ROLLBACK; INSERT / UPDATE /
  DELETE / MERGE (also a data-modifying CTE) only with `allow_dml`, in a read-write transaction
  that the same pipeline always ends with ROLLBACK (`statement_send.run_rolled_back`); with
  `analyze=False` a write is planned, never run (plain EXPLAIN, read-only). DDL, COPY, CALL, DO,
  EXPLAIN itself, any other command, and a text holding several statements are refused
  (`Refused`, exit 2); the server's "cannot insert multiple commands" is the backstop.
- How long: the session's statement_timeout is `timeout_ms` and lock_timeout the session's
  (--lock-timeout). A run cancelled by the timeout falls back to plain EXPLAIN (estimates only),
  and says so in the result's notes.
- `$n` texts (pg_stat_statements): without values, the generic plan the what-if layer makes
  (PREPARE + force_generic_plan + EXPLAIN EXECUTE with NULLs: `advisor.whatif.WhatIf`), labelled
  estimates only; with `params`, PREPARE + EXPLAIN ANALYZE EXECUTE with those values (a custom
  plan), run like any other statement.

Every statement text goes through `statement_send` (extended protocol, one command per message).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from perftool.db.errors import InputError, MissingPrivilege, PerftoolError, QueryTimeout, UsageError
from perftool.db.statement_send import (
    MULTIPLE_COMMANDS,
    BatchFailed,
    Command,
    forget_prepared,
    is_multiple_commands,
    prepared_commands,
    run_read_only,
    run_rolled_back,
)
from perftool.plans.json_plan import parse_json
from perftool.plans.model import Plan

if TYPE_CHECKING:
    import psycopg

READS = ("SELECT", "WITH", "VALUES", "TABLE")
WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE")
PREPARED_NAME = "perftool_explain"
DEFAULT_TIMEOUT_MS = 30_000


class Refused(UsageError):
    """A statement perftool explain will not run (DDL, COPY, CALL, DO, several statements, a write
    without --allow-dml): exit 2."""


@dataclass
class ExplainOptions:
    analyze: bool = True
    allow_dml: bool = False
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    params: list[str] = field(default_factory=list)
    settings: list[tuple[str, str]] = field(default_factory=list)     # SET LOCAL before the EXPLAIN


# settings --compare-setting will not change: the session's safety (timeouts, read-only) and who it is
UNSAFE_SETTINGS = frozenset({"statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout",
                             "transaction_timeout", "default_transaction_read_only", "transaction_read_only",
                             "session_authorization", "role", "default_transaction_isolation",
                             "transaction_isolation", "session_replication_role"})


# volatile built-ins without effects a rolled-back read-only run could not undo (pg_catalog only;
# the same name in another schema is the user's own function, screened like any other)
SAFE_VOLATILE = frozenset({
    "random", "random_normal", "setseed", "clock_timestamp", "timeofday", "gen_random_uuid", "pg_sleep",
    "pg_sleep_for", "pg_sleep_until", "txid_current_if_assigned", "pg_current_xact_id_if_assigned",
    "pg_current_wal_lsn", "pg_current_wal_insert_lsn", "pg_current_wal_flush_lsn", "pg_last_wal_receive_lsn",
    "pg_last_wal_replay_lsn", "pg_last_xact_replay_timestamp", "pg_is_in_recovery", "pg_backend_pid",
    "pg_stat_get_activity", "pg_stat_get_progress_info", "pg_stat_get_wal_receiver",
})
SAFE_VOLATILE_PREFIXES = ("pg_stat_get_",)
# extension functions known to have no effects
SAFE_EXTENSION_VOLATILE = frozenset({"uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4",
                                     "pg_stat_statements"})
_STRING_LITERAL = re.compile(r"'(?:[^']|'')*'")
_CALL = re.compile(r'(?:("(?:[^"]|"")+"|[A-Za-z_][\w$]*)\.)?("(?:[^"]|"")+"|[A-Za-z_][\w$]*)\s*\(')


def called_functions(doc: Any) -> set[tuple[str | None, str]]:
    """(schema or None, name) of every function call an EXPLAIN VERBOSE document's expressions and
    Function Scans show."""
    found: set[tuple[str | None, str]] = set()
    stack: list[tuple[str | None, Any]] = [(None, doc)]
    while stack:
        key, item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("Function Name"), str):
                schema = item.get("Schema")
                found.add((schema if isinstance(schema, str) else None, item["Function Name"]))
            stack.extend(item.items())
        elif isinstance(item, list):
            stack.extend((key, v) for v in item)
        elif isinstance(item, str) and key != "Node Type" and "(" in item:
            for m in _CALL.finditer(_STRING_LITERAL.sub("''", item)):
                found.add((_unquote(m.group(1)) if m.group(1) else None, _unquote(m.group(2))))
    return found


def _unquote(name: str) -> str:
    return name[1:-1].replace('""', '"') if name.startswith('"') else name


def volatile_calls(conn: psycopg.Connection, doc: Any) -> list[str]:
    """The volatile functions of unknown effect the plan calls (`schema.name`), from pg_proc."""
    from perftool.db.sql import fetch_all

    calls = called_functions(doc)
    if not calls:
        return []
    qualified = sorted((s, n) for s, n in calls if s is not None)
    rows = fetch_all(conn, "explain_volatile_functions", {
        "bare": sorted({n for s, n in calls if s is None}), "schemas": [s for s, _ in qualified],
        "names": [n for _, n in qualified]})
    out = []
    for r in rows:
        name = r["name"]
        if r["schema"] == "pg_catalog" and (name in SAFE_VOLATILE or name.startswith(SAFE_VOLATILE_PREFIXES)):
            continue
        if r["extension_member"] and name in SAFE_EXTENSION_VOLATILE:
            continue
        out.append(f"{r['schema']}.{name}")
    return sorted(set(out))


def check_setting(name: str) -> None:
    """Refuse a setting that would loosen the session's safety (exit 2)."""
    if name.lower() in UNSAFE_SETTINGS or name.lower().startswith("transaction_"):
        raise UsageError(f"perftool explain does not change {name}: it keeps the session read-only and time-limited",
                         "compare planner and resource settings (work_mem, enable_*, random_page_cost, jit, …)")


def setting_commands(settings: list[tuple[str, str]]) -> list[Command]:
    from psycopg import sql

    from perftool.db.sql import load

    for name, _ in settings:
        check_setting(name)
    return [Command(sql.SQL(load("explain_set_local")).format(name=sql.Literal(n), value=sql.Literal(v)))
            for n, v in settings]


@dataclass
class Explained:
    """One statement's plan and how it was obtained. `mode`: analyze (it ran), estimates (plain
    EXPLAIN: --no-analyze, or the timeout fallback), generic (a `$n` text's generic plan)."""

    text: str
    origin: str
    kind: str
    mode: str
    plan: Plan
    notes: list[str] = field(default_factory=list)
    document: Any = None            # the EXPLAIN (FORMAT JSON) document the plan was read from

    @property
    def estimates_only(self) -> bool:
        return self.mode != "analyze"


def classify(text: str) -> str:
    """"read" or "write"; Refused for anything perftool explain does not run."""
    from sqlglot import exp

    from perftool.workload.sources import split_statements
    from perftool.workload.statement_text import parse, strip_leading_comments

    pieces = split_statements(text)
    if not pieces:
        raise Refused("no statement to explain: the text is empty")
    if len(pieces) > 1:
        raise Refused(f"the text holds {len(pieces)} statements: {MULTIPLE_COMMANDS}",
                      "pass one statement, or a file with -f (each statement is explained on its own)")
    body = strip_leading_comments(pieces[0][1]).lstrip("( \t\r\n")
    word = body.split(None, 1)[0].upper().rstrip(";") if body.strip() else ""
    if word == "EXPLAIN":
        raise Refused("the text is an EXPLAIN already", "pass the statement itself: perftool adds EXPLAIN")
    if word in WRITES:
        return "write"
    if word not in READS:
        raise Refused(f"perftool explain does not run {word or 'this'} statements",
                      "only SELECT, WITH, VALUES, TABLE, and with --allow-dml INSERT/UPDATE/DELETE/MERGE; "
                      "DDL, COPY, CALL and DO are refused")
    tree = parse(pieces[0][1])
    if tree is not None and any(True for _ in tree.find_all(exp.Insert, exp.Update, exp.Delete, exp.Merge)):
        return "write"
    return "read"


def statement_kind(text: str) -> str:
    from perftool.workload.statement_text import statement_type

    return statement_type(text)


def explain_statement(conn: psycopg.Connection, text: str, options: ExplainOptions, origin: str = "") -> Explained:
    """The plan of one statement (already a single statement of an allowed kind: `classify`)."""
    from perftool.workload.statement_text import parameter_count

    what = classify(text)
    params = parameter_count(text)
    kind = statement_kind(text)
    if what == "write" and options.analyze and not options.allow_dml:
        raise Refused(f"{kind if kind != 'OTHER' else 'the statement'} writes: EXPLAIN ANALYZE would run it",
                      "pass --allow-dml to run it in a transaction that is rolled back, or --no-analyze")
    if options.params and len(options.params) != params:
        raise UsageError(f"the statement has {params} parameter(s) ($1…) but {len(options.params)} --param value(s)"
                         " were given")
    runner = run_rolled_back if what == "write" and options.analyze else run_read_only
    notes: list[str] = []
    if what == "read" and options.analyze and not (params and not options.params):
        volatile = volatile_calls(conn, estimate_document(conn, text, options.params or None,
                                                          settings=options.settings))
        if volatile and not options.allow_dml:
            raise Refused(f"the statement calls volatile function{'s' if len(volatile) > 1 else ''} "
                          f"{', '.join(volatile)} of unknown effect: EXPLAIN ANALYZE would run "
                          f"{'them' if len(volatile) > 1 else 'it'}",
                          "pass --no-analyze to plan it only, or --allow-dml to run it in a transaction that is "
                          "rolled back (sequences still advance); a function without effects can be declared STABLE")
        if volatile:
            runner = run_rolled_back
            notes.append(f"it calls volatile {', '.join(volatile)}: ran in a transaction that was rolled back "
                         "(--allow-dml); sequences advanced by nextval/setval are not rolled back")
    if params and not options.params:
        doc = _generic_plan(conn, text, params, options.settings)
        notes.append(f"estimates only: a generic plan (the text has ${params if params == 1 else '1…$' + str(params)}"
                     " without values; pass --param for each to run it)")
        return Explained(text, origin, kind, "generic", parse_json(doc), notes, doc)
    mode = "analyze" if options.analyze else "estimates"
    if not options.analyze:
        notes.append("estimates only (--no-analyze): the statement was planned, not run")
    try:
        doc = _explain(conn, text, options.params, analyze=options.analyze, runner=runner, settings=options.settings)
    except _Cancelled:
        notes.append(f"estimates only: the statement ran longer than --timeout ({options.timeout_ms / 1000:g} s) "
                     "and was cancelled; this is plain EXPLAIN's plan")
        mode = "estimates"
        doc = _explain(conn, text, options.params, analyze=False, runner=run_read_only, settings=options.settings)
    if what == "write" and mode == "analyze":
        notes.append("the write ran inside a transaction that was rolled back (--allow-dml): nothing was changed")
    return Explained(text, origin, kind, mode, parse_json(doc), notes, doc)


class _Cancelled(Exception):
    pass


def _explain(conn: psycopg.Connection, text: str, values: list[str], *, analyze: bool, runner,
             settings: list[tuple[str, str]] | None = None) -> Any:
    from psycopg import sql

    from perftool.db.sql import MARKER, load, load_text

    before = setting_commands(settings or [])
    if not values:
        head = load_text("explain_analyze" if analyze else "explain_estimate").strip()
        return _run(conn, [*before, Command(MARKER + head + " " + text, result=True)], runner)
    execute = "explain_execute" if analyze else "explain_execute_estimate"
    commands = [*before, Command(load("explain_custom_plan")),
                *prepared_commands(text, execute, [sql.Literal(v) for v in values], name=PREPARED_NAME)]
    try:
        return _run(conn, commands, runner)
    except BaseException:
        forget_prepared(conn, PREPARED_NAME)
        raise


def _generic_plan(conn: psycopg.Connection, text: str, params: int,
                  settings: list[tuple[str, str]] | None = None) -> Any:
    """The generic plan for a `$n` text, as the what-if layer costs one: force_generic_plan for
    the session (whatif_session), then the one PREPARE + EXPLAIN EXECUTE with NULLs recipe."""
    from psycopg import sql

    from perftool.db.sql import execute

    execute(conn, "whatif_session")
    try:
        return _run(conn, [*setting_commands(settings or []),
                           *prepared_commands(text, "whatif_explain_execute", [sql.NULL] * params,
                                              name=PREPARED_NAME)], run_read_only)
    except BaseException:
        forget_prepared(conn, PREPARED_NAME)
        raise


def _run(conn: psycopg.Connection, commands: list[Command], runner) -> Any:
    import psycopg

    from perftool.db.errors import ConnectionFailed

    try:
        results = runner(conn, commands)
    except BatchFailed as failed:
        exc = failed.error
        if is_multiple_commands(exc):
            raise Refused(MULTIPLE_COMMANDS) from None
        if isinstance(exc, psycopg.errors.QueryCanceled) and "statement timeout" in str(exc):
            raise _Cancelled() from None
        if isinstance(exc, psycopg.errors.LockNotAvailable):
            raise QueryTimeout(f"the statement waited too long for a lock: {_first_line(exc)}",
                               "raise --lock-timeout, or run it when the table is not locked") from None
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            raise MissingPrivilege(f"the server refused the statement: {_first_line(exc)}") from None
        if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
            raise Refused(f"the statement writes: {_first_line(exc)}",
                          "pass --allow-dml to run it in a transaction that is rolled back") from None
        raise InputError(f"the server refused the statement: {_first_line(exc)}") from None
    except psycopg.OperationalError as exc:
        raise ConnectionFailed(f"connection lost while explaining: {_first_line(exc)}") from None
    if not results or results[0] is None:
        raise PerftoolError("EXPLAIN returned no plan")
    return results[0]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def estimate(conn: psycopg.Connection, text: str, values: list[str] | None = None) -> Plan:
    """Plain EXPLAIN's plan (estimates only; a `$n` text without values: the generic plan)."""
    return parse_json(estimate_document(conn, text, values))


def estimate_document(conn: psycopg.Connection, text: str, values: list[str] | None = None, *,
                      settings: list[tuple[str, str]] | None = None) -> Any:
    """`estimate`'s EXPLAIN (FORMAT JSON) document."""
    from perftool.workload.statement_text import parameter_count

    params = parameter_count(text)
    if params and not values:
        return _generic_plan(conn, text, params, settings)
    return _explain(conn, text, values or [], analyze=False, runner=run_read_only, settings=settings)
