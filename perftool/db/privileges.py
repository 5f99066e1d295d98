"""What the connected role cannot see, said once, with the GRANT that fixes it (docs/privileges.md).

perftool only reads, and every read-only command works for a monitoring role (`pg_monitor`, or
just `pg_read_all_stats`). Some results need more:

- other roles' statement texts in pg_stat_statements: `pg_read_all_stats` (or superuser);
- the planner's column statistics (`pg_stats`, used by I106, I108, I109, T101 and the advisor's
  heuristic): SELECT on the table — pg_stats shows only columns the role can read;
- EXPLAIN of a workload statement (what-if costing): SELECT on the tables it reads.

The functions here turn what a session could not see into one note per report. They are pure
(names in, text out), so every command words it the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

from perftool.db.sql import statement_text

MAX_NAMED = 5          # tables named in a note (and in a GRANT ... ON t1, t2 before ALL TABLES IN SCHEMA)
READ_ALL_DATA_MAJOR = 14  # pg_read_all_data exists from PostgreSQL 14


def grant_role(granted: str, role: str) -> str:
    """`GRANT "pg_read_all_stats" TO "monitor";`"""
    return statement_text("grant_role", granted=granted, role=role)


def grant_select(tables: Iterable[tuple[str, str]], role: str, major: int = 0) -> str:
    """The GRANT that lets `role` read `tables` ((schema, name) pairs): on the tables themselves
    when few, else on every table of their schemas; from PG14 `pg_read_all_data` as the
    alternative for every table."""
    tables = sorted(set(tables))
    if len(tables) <= MAX_NAMED:
        text = statement_text("grant_select_tables", tables=list(tables), role=role)
    else:
        text = statement_text("grant_select_schemas", schemas=sorted({s for s, _ in tables}), role=role)
    if major >= READ_ALL_DATA_MAJOR:
        text += f" (or, for every table: {grant_role('pg_read_all_data', role)})"
    return text


def named(tables: Iterable[tuple[str, str]]) -> str:
    """`public.a, public.b, … (12 tables)`."""
    tables = sorted(set(tables))
    shown = ", ".join(f"{s}.{n}" for s, n in tables[:MAX_NAMED])
    return shown + (f", … ({len(tables)} tables)" if len(tables) > MAX_NAMED else "")


def statement_texts_note(role: str, can_read_all_stats: bool, *, sessions: bool = False) -> str | None:
    """pg_stat_statements hides other roles' statement texts without pg_read_all_stats (and
    pg_stat_activity their sessions' state: `sessions` for reports that count connections)."""
    if can_read_all_stats:
        return None
    also = "; other roles' sessions show no state or query in pg_stat_activity" if sessions else ""
    return (f"role {role!r} is neither superuser nor a member of pg_read_all_stats: other roles' statement texts "
            f"show as <insufficient privilege> and cannot be analysed{also}. "
            f"Fix: {grant_role('pg_read_all_stats', role)}")


def hidden_statistics_note(role: str, tables: Iterable[tuple[str, str]], codes: Iterable[str],
                           major: int = 0) -> str | None:
    """Checks that need planner statistics cannot judge tables whose pg_stats rows are hidden."""
    tables, codes = sorted(set(tables)), sorted(set(codes))
    if not tables or not codes:
        return None
    return (f"role {role!r} cannot read the planner statistics (pg_stats) of {named(tables)}: it has no SELECT "
            f"privilege on them, so {', '.join(codes)} cannot judge their columns. "
            f"Fix: {grant_select(tables, role, major)}")


def heuristic_statistics_note(role: str, tables: Iterable[tuple[str, str]], major: int = 0) -> str | None:
    """The --no-whatif ranking without column statistics for some tables."""
    tables = sorted(set(tables))
    if not tables:
        return None
    return (f"role {role!r} cannot read the planner statistics (pg_stats) of {named(tables)}: the heuristic "
            f"ranks their columns without distinct counts or common values. Fix: {grant_select(tables, role, major)}")


def unexplainable_note(role: str, tables: Iterable[tuple[str, str]], statements: int, major: int = 0) -> str:
    """Statements the role cannot EXPLAIN for lack of SELECT on their tables."""
    tables = sorted(set(tables))
    what = f"no SELECT privilege on {named(tables)}" if tables else "no privilege to read their tables"
    fix = grant_select(tables, role, major) if tables else "docs/privileges.md"
    return (f"role {role!r} has {what}: {statements} statement(s) could not be EXPLAINed (what-if costing "
            f"needs SELECT on the tables a statement reads) and are skipped. Fix: {fix}")


def unexplainable_writes_note(role: str, statements: int) -> str:
    """Writes a read-only role cannot EXPLAIN (EXPLAIN checks INSERT/UPDATE/DELETE privileges)."""
    return (f"role {role!r} may not EXPLAIN {statements} INSERT/UPDATE/DELETE statement(s) (EXPLAIN needs the "
            "statement's own privilege on the table): they are skipped; with a pg_stat_statements workload the rows "
            "they write still weigh against new indexes through the tables' write counters (no GRANT advised: "
            "a monitoring role need not write)")
