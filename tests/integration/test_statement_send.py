"""`statement_send.run_read_only` / `run_rolled_back` on a real server: one libpq pipeline of
PQsendQueryParams commands (`_exchange`), values loaded as psycopg's cursors load them, a failed
command reported with what came before it, and a session that stays usable after a failure, an
interruption or a batch larger than the socket buffers."""

from __future__ import annotations

import signal
import threading
import time

import psycopg
import pytest
from psycopg import pq

from perftool.db.connect import connect
from perftool.db.statement_send import BatchFailed, Command, run_read_only, run_rolled_back


def _usable(conn: psycopg.Connection) -> None:
    """Idle, out of pipeline mode, read-only as perftool's sessions are."""
    assert conn.pgconn.pipeline_status == pq.PipelineStatus.OFF
    assert conn.info.transaction_status == pq.TransactionStatus.IDLE
    assert conn.execute("SELECT 41 + 1").fetchone() == (42,)
    assert conn.execute("SHOW transaction_read_only").fetchone() == ("on",)


def test_values_come_back_as_a_cursor_loads_them(fresh_db):
    queries = ["SELECT '[1, {\"a\": 2}]'::json", "SELECT 7::int8", "SELECT 1.5::float8", "SELECT 'x'::text",
               "SELECT NULL::int", "SELECT true", "SELECT '{3,4}'::int[]", "SELECT WHERE false"]
    with connect(fresh_db) as conn:
        got = run_read_only(conn, [Command(q, result=True) for q in queries])
        expected = [conn.execute(q).fetchone() for q in queries]
        _usable(conn)
    assert got == [row[0] if row is not None else None for row in expected]
    assert got == [[1, {"a": 2}], 7, 1.5, "x", None, True, [3, 4], None]


def test_only_the_wanted_results_are_returned_in_order(fresh_db):
    with connect(fresh_db) as conn:
        before = conn.execute("SHOW work_mem").fetchone()
        assert before != ("3MB",)
        got = run_read_only(conn, [Command("SELECT 1", result=True), Command("SELECT 2"),
                                   Command("SET work_mem = '3MB'"), Command("SELECT 3", result=True)])
        assert got == [1, 3]
        assert conn.execute("SHOW work_mem").fetchone() == before     # the SET is rolled back with the batch
        _usable(conn)


def test_a_failed_command_names_its_position_and_the_results_before_it(fresh_db):
    with connect(fresh_db) as conn:
        with pytest.raises(BatchFailed) as failed:
            run_read_only(conn, [Command("SELECT 1", result=True), Command("SELECT 2"),
                                 Command("SELECT * FROM no_such_table", result=True),
                                 Command("SELECT 4", result=True)])
        assert failed.value.index == 2
        assert failed.value.results == [1]
        assert isinstance(failed.value.error, psycopg.errors.UndefinedTable)
        assert 'relation "no_such_table" does not exist' in str(failed.value.error)
        _usable(conn)
        # the first command failing, and a write refused by the read-only transaction
        with pytest.raises(BatchFailed) as first:
            run_read_only(conn, [Command("SELEC 1", result=True)])
        assert (first.value.index, first.value.results) == (0, [])
        assert isinstance(first.value.error, psycopg.errors.SyntaxError)
        with pytest.raises(BatchFailed) as write:
            run_read_only(conn, [Command("CREATE TABLE t_escape (x int)")])
        assert isinstance(write.value.error, psycopg.errors.ReadOnlySqlTransaction)
        _usable(conn)


def test_two_commands_in_one_text_are_refused_by_the_server(fresh_db):
    with connect(fresh_db) as conn:
        with pytest.raises(BatchFailed) as failed:
            run_read_only(conn, [Command("SELECT 1; SELECT 2", result=True)])
        assert "cannot insert multiple commands into a prepared statement" in str(failed.value.error)
        _usable(conn)


def test_a_rolled_back_write_is_undone(fresh_db, sql):
    sql(fresh_db, "CREATE TABLE kept (x int)")
    with connect(fresh_db) as conn:
        got = run_rolled_back(conn, [Command("INSERT INTO kept VALUES (1) RETURNING x", result=True)])
        assert got == [1]
        assert conn.execute("SELECT count(*) FROM kept").fetchone() == (0,)
        _usable(conn)


def test_a_batch_larger_than_the_socket_buffers_goes_through(fresh_db):
    """3,000 commands of 2 kB each, with 40 kB results (6 MB out, 120 MB back): the batch is sent
    while its results arrive (libpq reads when a send would block; the loop waits on both), or the
    two sides would wait on each other's full buffers."""
    pad = "x" * 2000
    commands = [Command(f"SELECT repeat('y', 40000) AS v, '{pad}' AS p, {k}", result=True) for k in range(3000)]
    with connect(fresh_db) as conn:
        t0 = time.perf_counter()
        got = run_read_only(conn, commands)
        assert time.perf_counter() - t0 < 60
        _usable(conn)
    assert len(got) == 3000 and all(v == "y" * 40000 for v in got)


def test_an_interrupted_batch_is_cancelled_and_the_session_stays_usable(fresh_db):
    """Ctrl-C during a long command: the batch is cancelled at once (not left to run its 20 s),
    KeyboardInterrupt reaches the caller, and the session can run the next batch."""
    assert threading.current_thread() is threading.main_thread()

    def interrupt(_signum, _frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        with connect(fresh_db, statement_timeout_ms=60_000) as conn:   # (not a shorter one another test set)
            signal.setitimer(signal.ITIMER_REAL, 0.5)
            t0 = time.perf_counter()
            with pytest.raises(KeyboardInterrupt):
                run_read_only(conn, [Command("SELECT 1", result=True), Command("SELECT pg_sleep(20)", result=True)])
            assert time.perf_counter() - t0 < 10
            _usable(conn)
            assert run_read_only(conn, [Command("SELECT 5", result=True)]) == [5]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_lost_connection_is_an_operational_error_not_a_hang(fresh_db, sql):
    with connect(fresh_db, statement_timeout_ms=60_000) as conn:
        pid = conn.info.backend_pid
        killer = threading.Timer(0.5, lambda: sql(fresh_db, "SELECT pg_terminate_backend(%s)", (pid,)))
        killer.start()
        try:
            t0 = time.perf_counter()
            with pytest.raises(psycopg.OperationalError):
                run_read_only(conn, [Command("SELECT pg_sleep(20)", result=True)])
            assert time.perf_counter() - t0 < 10
        finally:
            killer.join()
        assert conn.closed or conn.broken
