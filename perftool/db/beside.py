"""Reads on a second session while the first works: `Beside(conn)` opens a sibling of `conn`
(`perftool.db.connect.sibling`: same DSN, read-only, same timeouts) in a thread at once, and runs
the one read given to `submit` there; the server works on both sessions' queries in parallel. On a
10,000-table schema the catalog's columns and foreign keys are read beside the query of its
indexes (catalog/schema.py `_collect_tables`). What a read beside keeps alive adds to the peak
memory: `analyze`'s statistics snapshot is not taken beside the catalog for that reason (119 MB
instead of 93 on 10,000 tables).

No sibling (max_connections reached, a pooler that refuses a second session): `result()` says so,
and the caller does the read on its own session, as it would without this. An error in the read is
raised again by `result()`, in the caller's thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from perftool.db.connect import sibling

if TYPE_CHECKING:
    import psycopg

T = TypeVar("T")
_NO_SIBLING = object()


class Beside(Generic[T]):
    def __init__(self, conn: psycopg.Connection) -> None:
        self._work: queue.Queue[Callable[[psycopg.Connection], T] | None] = queue.Queue(maxsize=1)
        self._opened = threading.Event()
        self._side: psycopg.Connection | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="perftool-beside")
        self._future = self._pool.submit(self._run, conn)
        self._submitted = False

    def _run(self, conn: psycopg.Connection) -> Any:
        try:
            side = self._side = sibling(conn)
        finally:
            self._opened.set()
        if side is None:
            return _NO_SIBLING
        with side:
            read = self._work.get()
            return _NO_SIBLING if read is None else read(side)

    def available(self) -> bool:
        """Whether the sibling is open (waits for the attempt, which began when this was made): a
        caller that must know before it decides where a read runs."""
        self._opened.wait()
        return self._side is not None

    def submit(self, read: Callable[[psycopg.Connection], T]) -> None:
        """Run `read(sibling)` in the thread (once the sibling is open)."""
        self._submitted = True
        self._work.put(read)

    def result(self) -> tuple[bool, T | None]:
        """(True, what the read returned), or (False, None) when no sibling could be opened."""
        value = self._future.result()
        return (False, None) if value is _NO_SIBLING else (True, value)

    def close(self) -> None:
        """Wait for the thread; a sibling opened for a read never submitted is closed unused."""
        if not self._submitted:
            self._work.put(None)
        self._pool.shutdown(wait=True)

    def __enter__(self) -> Beside[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
