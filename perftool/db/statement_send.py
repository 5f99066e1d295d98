"""The one way statement text from outside perftool reaches a server: as data, never as a script.

Text from files, `--query`, logs and pg_stat_statements is wrapped by perftool (`EXPLAIN …`,
`PREPARE … AS …`) and sent with `send()`, which always uses the extended query protocol: one
Parse/Bind/Execute per statement, so the server itself refuses a text that holds a second command
("cannot insert multiple commands into a prepared statement") instead of running it. There is no
fallback to the simple protocol: such a text is skipped, with `MULTIPLE_COMMANDS` as its reason.

How psycopg is made to use the extended protocol: the results are asked for in binary format,
which the simple protocol (PQsendQuery) cannot deliver, so psycopg sends PQsendQueryParams — in
and out of pipeline mode. `tests/integration/test_security.py` proves it on the server log.

`run_read_only()` sends a batch in one pipeline inside an explicit `BEGIN READ ONLY` … `ROLLBACK`:
even a setting that a statement managed to change (a function the planner evaluates) is rolled
back with it. HypoPG's hypothetical indexes live in backend memory and survive the rollback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

MULTIPLE_COMMANDS = "the text holds more than one SQL command: pass each statement on its own"


def send(cur: psycopg.Cursor, query: Any) -> None:
    """Execute `query` (a str or psycopg.sql.Composable holding outside text) over the extended
    protocol only. Nothing is interpolated: a `%` in the text is sent as it is."""
    import psycopg

    if isinstance(cur, psycopg.ClientCursor) or not isinstance(cur, psycopg.Cursor):
        raise TypeError("statement text goes only through a server-side-binding psycopg.Cursor")
    cur.execute(query, binary=True)


@dataclass
class Command:
    query: Any                 # str or psycopg.sql.Composable
    result: bool = False       # whether its first row's first value is wanted


class BatchFailed(Exception):
    """A command of the batch failed: `results` holds the values of the commands before it (in
    order of the wanted ones), `error` the server's error, `index` the failed command's position."""

    def __init__(self, results: list[Any], index: int, error: BaseException):
        super().__init__(str(error))
        self.results, self.index, self.error = results, index, error


def run_read_only(conn: psycopg.Connection, commands: Sequence[Command]) -> list[Any]:
    """Send `commands` in one pipelined round trip inside BEGIN READ ONLY … ROLLBACK; the first
    value of each wanted result. On an error the transaction is rolled back and BatchFailed says
    which command failed and what the ones before it returned. A lost connection is re-raised."""
    return _run_rolled_back(conn, commands, "read_only_begin")


def run_rolled_back(conn: psycopg.Connection, commands: Sequence[Command]) -> list[Any]:
    """Like `run_read_only`, in a read-write transaction that is always rolled back: for
    `perftool explain --allow-dml` (EXPLAIN ANALYZE of INSERT/UPDATE/DELETE/MERGE runs the write;
    the ROLLBACK undoes it, in the same pipeline, whatever happens)."""
    return _run_rolled_back(conn, commands, "rolled_back_begin")


def _run_rolled_back(conn: psycopg.Connection, commands: Sequence[Command], begin: str) -> list[Any]:
    import psycopg
    from psycopg import pq

    from perftool.db.sql import load

    cursors: list[tuple[psycopg.Cursor, bool]] = []
    try:
        with conn.pipeline() as pipe:
            conn.cursor().execute(load(begin))
            for command in commands:
                cur = conn.cursor()
                send(cur, command.query)
                cursors.append((cur, command.result))
            conn.cursor().execute(load("read_only_rollback"))
            pipe.sync()
    except psycopg.Error as exc:
        if conn.closed or conn.broken:
            raise
        if conn.info.transaction_status != pq.TransactionStatus.IDLE:
            conn.execute(load("read_only_rollback"))
        ok = (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK)
        done = [cur.pgresult is not None and cur.pgresult.status in ok for cur, _wanted in cursors]
        index = done.index(False) if False in done else len(cursors)
        results = [_first(cur) for (cur, wanted), ok in zip(cursors, done, strict=True) if ok and wanted]
        raise BatchFailed(results, index, exc) from None
    return [_first(cur) for cur, wanted in cursors if wanted]


def _first(cur: psycopg.Cursor) -> Any:
    row = cur.fetchone()
    return row[0] if row is not None else None


def is_multiple_commands(exc: BaseException) -> bool:
    return "cannot insert multiple commands" in str(exc)


def prepared_commands(text: str, execute: str, arguments: Sequence[Any], *, name: str) -> list[Command]:
    """The one recipe for a statement text with `$n` parameters: `PREPARE name AS <text>`, then
    the SQL file `execute` (an `EXPLAIN … EXECUTE {name} ({arguments})`; its result wanted) with
    `arguments` (psycopg Composables: `sql.NULL` for a generic plan, `sql.Literal(v)` for values),
    then `DEALLOCATE name`. The text stays data: appended to a fixed PREPARE, sent by `send()`."""
    from psycopg import sql

    from perftool.db.sql import MARKER, load_fragment

    ident = sql.Identifier(name)
    return [
        Command(sql.SQL(MARKER + load_fragment("whatif_prepare") + " ").format(name=ident) + sql.SQL(text)),
        Command(sql.SQL(MARKER + load_fragment(execute)).format(
            name=ident, arguments=sql.SQL(", ").join(arguments)), result=True),
        Command(sql.SQL(MARKER + load_fragment("whatif_deallocate")).format(name=ident)),
    ]


def forget_prepared(conn: psycopg.Connection, name: str) -> None:
    """Prepared statements outlive a rollback: drop `name` after its EXPLAIN EXECUTE failed (no
    error when it is not there, or when the connection is gone)."""
    import psycopg
    from psycopg import sql

    from perftool.db.sql import MARKER, load_fragment

    if conn.closed or conn.broken:
        return
    try:
        conn.execute(sql.SQL(MARKER + load_fragment("whatif_deallocate")).format(name=sql.Identifier(name)))
    except psycopg.errors.InvalidSqlStatementName:
        pass
