"""The one way statement text from outside perftool reaches a server: as data, never as a script.

Text from files, `--query`, logs and pg_stat_statements is wrapped by perftool (`EXPLAIN …`,
`PREPARE … AS …`) and sent over the extended query protocol only: one Parse/Bind/Execute per
statement, so the server itself refuses a text that holds a second command ("cannot insert
multiple commands into a prepared statement") instead of running it. There is no fallback to the
simple protocol: such a text is skipped, with `MULTIPLE_COMMANDS` as its reason.

`run_read_only()` sends a batch in one libpq pipeline inside an explicit `BEGIN READ ONLY` …
`ROLLBACK`: even a setting that a statement managed to change (a function the planner evaluates)
is rolled back with it. HypoPG's hypothetical indexes live in backend memory and survive the
rollback. Each command goes by PQsendQueryParams (`_exchange`), which is the extended protocol
whatever the text: the advisor sends tens of thousands of EXPLAINs, and psycopg's cursors spent
about 50 µs of Python on each (the 4,950-statement stress case: 0.9 s of 10.6), libpq about 7.
The values come back through psycopg's own loaders (`Transformer`), as a cursor would give them.

`send()`, for a single statement on a cursor (`migrations apply`), makes psycopg use the extended
protocol by asking for binary results, which the simple protocol (PQsendQuery) cannot deliver, so
psycopg sends PQsendQueryParams. `tests/integration/test_security.py` proves both on the server log.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
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
    from psycopg.adapt import Transformer

    from perftool.db.sql import load

    queries = [load(begin), *(c.query for c in commands), load("read_only_rollback")]
    encoding = conn.info.encoding
    encoded = [q.encode(encoding) if isinstance(q, str) else q.as_bytes(conn) for q in queries]
    try:
        with conn.lock:
            got = _exchange(conn.pgconn, encoded)
    except BaseException:       # interrupted (the batch was cancelled and read to its end): its transaction ends
        if conn.pgconn.status == pq.ConnStatus.OK and conn.pgconn.pipeline_status == pq.PipelineStatus.OFF \
                and conn.info.transaction_status != pq.TransactionStatus.IDLE:
            with suppress(psycopg.Error):
                conn.execute(load("read_only_rollback"))
        raise
    if conn.pgconn.status == pq.ConnStatus.BAD:
        message = conn.pgconn.error_message.decode(encoding, "replace").strip()
        raise psycopg.OperationalError(message or "the connection to the server was lost")
    tx = Transformer(conn)

    def first(result: pq.abc.PGresult) -> Any:
        if not result.ntuples or not result.nfields:
            return None
        tx.set_pgresult(result)
        return tx.load_row(0, tuple)[0]

    ok = (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK)
    failed = next((k for k, r in enumerate(got) if r is None or r.status not in ok), None)
    if failed is None:
        return [first(r) for r, c in zip(got[1:-1], commands, strict=True) if c.result]
    error = got[failed]
    exc = (psycopg.errors.error_from_result(error, encoding=encoding) if error is not None
           else psycopg.OperationalError("the server sent no result"))
    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        conn.execute(load("read_only_rollback"))
    index = max(0, min(failed - 1, len(commands)))   # its position among `commands` (the BEGIN's: 0)
    results = [first(r) for r, c in zip(got[1:1 + index], commands, strict=False) if c.result]
    raise BatchFailed(results, index, exc)


def _exchange(pg: Any, queries: list[bytes]) -> list[Any]:
    """Send `queries` in one libpq pipeline, each with PQsendQueryParams (the extended protocol:
    one statement per Parse message) and text results, then a Sync; the result of each (a failed
    query's error, PIPELINE_ABORTED for those after it; None for one that sent none). Waits on the
    socket with the GIL released, reading while it sends (the server's replies to a long batch
    would otherwise fill both sides' buffers). On an interruption (Ctrl-C) the batch is cancelled
    and its results read to the Sync, as psycopg does: the session stays usable."""
    import selectors

    from psycopg import pq

    sel = selectors.DefaultSelector()
    sel.register(pg.socket, selectors.EVENT_READ | selectors.EVENT_WRITE)
    pg.enter_pipeline_mode()
    try:
        try:
            for q in queries:
                pg.send_query_params(q, None, result_format=0)
            pg.pipeline_sync()
            return _read_to_sync(pg, sel, len(queries))
        except BaseException:
            if pg.status == pq.ConnStatus.OK:
                try:
                    pg.get_cancel().cancel()
                    _read_to_sync(pg, sel, len(queries), timeout=5.0)
                except Exception:   # noqa: BLE001 - the interruption is what the caller hears of
                    pass
            raise
    finally:
        sel.close()
        if pg.status == pq.ConnStatus.OK and pg.pipeline_status != pq.PipelineStatus.OFF:
            try:
                pg.exit_pipeline_mode()
            except Exception:   # noqa: BLE001 - results still pending after a failed read: the session is lost
                pg.finish()


def _read_to_sync(pg: Any, sel: Any, count: int, timeout: float | None = None) -> list[Any]:
    """Flush what is still to be sent and read the pipeline's results up to its Sync."""
    import selectors
    import time

    from psycopg import pq

    end = None if timeout is None else time.monotonic() + timeout
    out: list[Any] = []
    current: Any = None
    flushing = True
    while True:
        if flushing:
            flushing = pg.flush() == 1
        if flushing or pg.is_busy():
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if flushing else 0)
            sel.modify(pg.socket, events)
            left = None if end is None else max(0.0, end - time.monotonic())
            if left == 0.0:
                raise TimeoutError("the cancelled batch did not end")
            if any(mask & selectors.EVENT_READ for _key, mask in sel.select(left)):
                pg.consume_input()
            continue
        if pg.status == pq.ConnStatus.BAD:
            return out + [None] * (count - len(out))     # (the caller raises: the connection is lost)
        r = pg.get_result()
        if r is None:               # the end of one query's results
            out.append(current)
            current = None
            continue
        if r.status == pq.ExecStatus.PIPELINE_SYNC:
            if len(out) < count:
                out.extend([None] * (count - len(out)))
            return out
        if current is None or current.status in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
            current = r             # (a query's error stands over results before it)


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
