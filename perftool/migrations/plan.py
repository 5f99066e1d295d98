"""The statements of an index change, in the order they must run, before any framework wraps them.

A create is: the invalid-index guard (drop an INVALID index of the same name, the leftover of a
failed build), `CREATE INDEX CONCURRENTLY IF NOT EXISTS` (safe after the guard), and a check that
fails when the index is not valid afterwards. On a partitioned table: `CREATE INDEX IF NOT EXISTS …
ON ONLY parent` (no data, an instant), then per partition guard + `CONCURRENTLY` + `ATTACH
PARTITION`, then the check on the parent (valid once every partition is attached). The session
settings come first: `lock_timeout` for the lock waits, `statement_timeout = 0` for the build.
Every CREATE/DROP INDEX comes from perftool/ddl.py; the rest from db/sql/migration_*.sql.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from perftool.db.sql import load_text
from perftool.ddl import attach_sql, drop_sql
from perftool.migrations.changes import Change

DEFAULT_LOCK_TIMEOUT = "2s"    # perftool's lock_timeout default (db/connect.DEFAULT_LOCK_TIMEOUT_MS, --lock-timeout)


@dataclass(frozen=True)
class Statement:
    """One statement (no semicolon). `concurrent`: it must run alone, outside a transaction block."""

    sql: str
    kind: str               # setting, guard, build, attach, check, drop
    concurrent: bool = False
    index: str = ""         # schema.name of the index it is about
    # squawk rules this statement breaks on purpose (PostgreSQL allows no other form), with the
    # reason: SQL files carry `-- squawk-ignore RULE` before it (docs/migrations.md)
    ignore: tuple[str, ...] = ()
    reason: str = ""


@dataclass
class Steps:
    change: Change
    up: list[Statement] = field(default_factory=list)
    down: list[Statement] = field(default_factory=list)
    down_note: str = ""     # why the down step does nothing, when it does nothing


def settings(lock_timeout: str = DEFAULT_LOCK_TIMEOUT) -> list[Statement]:
    from psycopg import sql

    return [Statement(_compose("migration_lock_timeout", value=sql.Literal(lock_timeout)), "setting"),
            Statement(_compose("migration_statement_timeout", value=sql.Literal(0)), "setting")]


def guard(schema: str, name: str) -> Statement:
    from psycopg import sql

    return Statement(_compose("migration_drop_invalid", schema=sql.Literal(schema), name=sql.Literal(name),
                              index=sql.Identifier(schema, name)), "guard", index=f"{schema}.{name}")


def check_valid(schema: str, name: str) -> Statement:
    from psycopg import sql

    return Statement(_compose("migration_check_valid", schema=sql.Literal(schema), name=sql.Literal(name)),
                     "check", index=f"{schema}.{name}")


def build(change: Change) -> list[Statement]:
    """Guard, build(s), attach(es) and check of a create (or the create half of a rebuild)."""
    spec, name = change.spec, change.name
    assert spec is not None
    qualified = f"{change.schema}.{name}"
    if not change.partitions:
        return [guard(change.schema, name),
                Statement(spec.create_sql(concurrently=True, name=name, if_not_exists=True), "build", True, qualified),
                check_valid(change.schema, name)]
    out = [Statement(spec.create_sql(only=True, name=name, if_not_exists=True), "build", False, qualified,
                     ("require-concurrent-index-creation",),
                     "a partitioned table refuses CONCURRENTLY; ON ONLY builds no data, the partitions' "
                     "indexes are built concurrently below")]
    for p in change.partitions:
        out += [guard(p.schema, p.name),
                Statement(spec.create_sql(concurrently=True, name=p.name, table=(p.schema, p.table),
                                          if_not_exists=True), "build", True, f"{p.schema}.{p.name}"),
                Statement(attach_sql(change.schema, name, p.schema, p.name), "attach", False, qualified)]
    out.append(check_valid(change.schema, name))
    return out


def drop(change: Change) -> Statement:
    """DROP INDEX CONCURRENTLY IF EXISTS; a partitioned index cannot be dropped concurrently (it
    takes its partitions' indexes along, under lock_timeout)."""
    if change.partitions:
        return Statement(drop_sql(change.schema, change.name, concurrently=False), "drop", False, change.qualified,
                         ("require-concurrent-index-deletion",),
                         "a partitioned index cannot be dropped concurrently; lock_timeout bounds the wait")
    return Statement(drop_sql(change.schema, change.name, concurrently=True), "drop", True, change.qualified)


def steps(change: Change) -> Steps:
    out = Steps(change)
    if change.action == "create":
        out.up = build(change)
        out.down = [drop(change)]
    elif change.action == "drop":
        out.up = [drop(change)]
        if change.spec is not None:
            out.down = build(change)
        else:
            out.down_note = f"{change.qualified}'s definition is not in the input: the drop cannot be reversed"
    else:  # rebuild
        out.up = [drop(change), *build(change)]
        out.down_note = f"{change.qualified} was INVALID: there is nothing to go back to"
    return out


def plan(changes: list[Change]) -> list[Steps]:
    return [steps(c) for c in changes]


@functools.cache
def _template(name: str) -> str:
    lines = [ln for ln in load_text(name).splitlines() if ln.strip() and not ln.lstrip().startswith("--")]
    return "\n".join(lines).strip().rstrip(";")


def _compose(template: str, **parts) -> str:
    from psycopg import sql

    return sql.SQL(_template(template)).format(**parts).as_string(None)
