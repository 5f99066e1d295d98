"""`perftool indexes apply`: run index changes against the database, one index at a time — the one
writing command besides `sandbox`.

For each index: an INVALID leftover of the same name is dropped (`DROP INDEX CONCURRENTLY`), a valid
one is kept (skipped), then `CREATE INDEX CONCURRENTLY` (no IF NOT EXISTS: the name was just made
free) under `lock_timeout`, with `statement_timeout = 0`. A lock timeout drops what the failed build
left and retries with exponential backoff — so a retry never meets "already exists". Any other
failure (a duplicate in a unique index, a cancel) drops the INVALID leftover too and is reported.
Partitioned tables: ON ONLY the parent, each partition concurrently and attached, the parent checked
valid; ON ONLY and ATTACH (the steps writers queue behind) are not sent while a session idle in
transaction or open for lock_timeout already holds a conflicting lock — counted as a lock timeout and
retried, so no writer is held behind a request waiting out its lock_timeout. Afterwards `ANALYZE` of
each table built on. A second session polls `pg_stat_progress_create_index` for the progress
callback (the CLI's progress bar).

The statements are perftool's own (ddl.py: CREATE/DROP/ALTER INDEX of an IndexSpec) and go over the
extended protocol (`statement_send.send`), one statement per message, so text inside a predicate or
expression can never become a second statement. Pre-flight (`preflight`) lists what a concurrent build
would wait for: open transactions of this database (pid, state, age), and each table's size and
write rate.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from perftool.db.sql import compose, fetch_all, fetch_one
from perftool.db.statement_send import send
from perftool.ddl import attach_sql, drop_sql
from perftool.migrations.changes import Change, Partition, resolve_partitions
from perftool.report.model import Column, Report, Section
from perftool.report.values import human_bytes

if TYPE_CHECKING:
    import psycopg

Progress = Callable[[str, dict[str, Any]], None]


@dataclass
class ApplyOptions:
    lock_timeout_ms: int = 2000      # perftool's default (db/connect.DEFAULT_LOCK_TIMEOUT_MS)
    retries: int = 5                 # attempts after the first one, on lock timeouts only
    backoff_s: float = 1.0           # first wait; doubled each retry, at most max_backoff_s
    max_backoff_s: float = 30.0
    poll_s: float = 0.5              # progress polling interval
    analyze: bool = True
    dry_run: bool = False
    sample_s: float = 1.0            # pre-flight write-rate sample


@dataclass
class Outcome:
    change: Change
    status: str = "pending"          # built, dropped, skipped, failed, planned
    seconds: float = 0.0
    attempts: int = 0
    size_bytes: int | None = None
    message: str = ""
    indexes: list[str] = field(default_factory=list)   # every index built (parent and partitions)


class LockTimedOut(Exception):
    pass


# the lock modes a writer's ROW EXCLUSIVE queues behind, by the mode a short DDL step takes
CONFLICTS_WITH_SHARE = ["RowExclusiveLock", "ShareUpdateExclusiveLock", "ShareRowExclusiveLock",
                        "ExclusiveLock", "AccessExclusiveLock"]
CONFLICTS_WITH_ACCESS_EXCLUSIVE = ["AccessShareLock", "RowShareLock", *CONFLICTS_WITH_SHARE, "ShareLock"]


class BuildFailed(Exception):
    pass


def _noop(event: str, data: dict[str, Any]) -> None:
    pass


# --- pre-flight -----------------------------------------------------------------------------------


# CREATE INDEX CONCURRENTLY reads the heap twice (the build, then the validation) and writes the index:
# a build's work, in bytes, for the time estimate
BUILD_SCANS = 2


@dataclass
class Preflight:
    sections: list[Section]
    heap_bytes: dict[tuple[str, str], int]
    scan_bytes_per_s: float | None    # the read rate the scan probe measured (None: no probe ran)
    probed: int = 0                   # bytes the probe read


def build_bytes(change: Change, heap_bytes: dict[tuple[str, str], int]) -> int | None:
    """The work of building `change`'s index: BUILD_SCANS reads of its table's heap (of each partition's,
    on a partitioned table) plus the index's estimated size when known. None: nothing to build."""
    if change.action not in ("create", "rebuild"):
        return None
    if change.partitions:
        heap = sum(heap_bytes.get((p.schema, p.table), 0) for p in change.partitions)
    else:
        heap = heap_bytes.get((change.schema, change.table), 0)
    return BUILD_SCANS * heap + (change.size_bytes or 0)


def scan_probe(conn: psycopg.Connection, heap_bytes: dict[tuple[str, str], int]) -> tuple[float | None, int]:
    """Bytes per second this server reads the tables at: `count(*)` over each table's first 1024 pages
    (a bounded, read-only TID range scan; PostgreSQL 14+), timed by the server (EXPLAIN ANALYZE's
    execution time). Returns the rate (None when nothing could be read) and the bytes read."""
    if conn.info.server_version < 140000:
        return None, 0
    block = int(fetch_one(conn, "migration_block_size")["block_size"])  # type: ignore[index]
    read, seconds = 0, 0.0
    for (schema, table), heap in heap_bytes.items():
        if heap <= 0:
            continue
        with conn.cursor() as cur:
            cur.execute(compose("migration_scan_probe", table=[(schema, table)]))  # type: ignore[list-item]
            row = cur.fetchone()
        plan = row[0][0] if row else {}
        top = plan.get("Plan", {})
        read += block * (int(top.get("Shared Hit Blocks", 0)) + int(top.get("Shared Read Blocks", 0)))
        seconds += float(plan.get("Execution Time", 0.0)) / 1000
    return (read / seconds if read and seconds > 0 else None), read


def preflight(conn: psycopg.Connection, changes: list[Change], sample_s: float = 1.0) -> Preflight:
    """What a concurrent build would wait for, how big and busy its tables are, and how fast this
    server reads them (the rate the build-time estimate starts from)."""
    sessions = fetch_all(conn, "migration_preflight_sessions")
    pairs = sorted({(c.schema, c.table) for c in changes if c.table}
                   | {(p.schema, p.table) for c in changes for p in c.partitions})
    params = {"schemas": [p[0] for p in pairs], "tables": [p[1] for p in pairs]}
    first = {(r["schema_name"], r["table_name"]): r for r in fetch_all(conn, "migration_preflight_tables", params)}
    if sample_s > 0 and first:
        time.sleep(sample_s)
        second = {(r["schema_name"], r["table_name"]): r for r in fetch_all(conn, "migration_preflight_tables", params)}
    else:
        second = first
    tables = []
    for key, row in first.items():
        later = second.get(key, row)
        rate = (later["writes"] - row["writes"]) / sample_s if sample_s > 0 else None
        tables.append({"table": f"{key[0]}.{key[1]}", "total_bytes": later["total_bytes"],
                       "heap_bytes": later["heap_bytes"], "live_rows": later["live_rows"],
                       "writes_per_s": rate})
    heap = {key: int(second.get(key, row)["heap_bytes"]) for key, row in first.items()}
    scan_rate, probed = scan_probe(conn, heap)
    waits = [{"pid": s["pid"], "user": s["usename"], "application": s["application_name"], "state": s["state"],
              "xact_seconds": round(s["xact_seconds"] or 0.0, 1), "query": s["query"]} for s in sessions]
    rate_note = (f" Read rate: {human_bytes(scan_rate)}/s, measured by reading {human_bytes(probed)} of these "
                 "tables (count(*) over at most 1024 pages each)." if scan_rate else
                 " Read rate: not measured (empty tables, or PostgreSQL before 14: no TID range scan).")
    return Preflight([
        Section("waits", f"{len(waits)} open transaction(s) a concurrent build would wait for", [
            Column("pid", "pid", "int"), Column("user", "user"), Column("application", "application"),
            Column("state", "state"), Column("xact_seconds", "transaction age (s)", "float"),
            Column("query", "query")], waits,
            note="CREATE INDEX CONCURRENTLY waits for every transaction open when it starts; "
                 "an idle-in-transaction session holds it up indefinitely."),
        Section("tables", "Tables to be indexed", [
            Column("table", "table"), Column("total_bytes", "total size", "bytes"),
            Column("heap_bytes", "heap", "bytes"), Column("live_rows", "rows", "int"),
            Column("writes_per_s", "writes/s", "float")], tables,
            note=f"writes/s: rows inserted, updated or deleted over a {sample_s:g} s sample." + rate_note),
    ], heap, scan_rate, probed)


class Estimator:
    """Each build's estimated time: its work (`build_bytes`) at a rate — the pre-flight's read rate
    until a build in this run finished, then the rate the builds so far achieved (work / seconds)."""

    def __init__(self, pre: Preflight):
        self.heap, self.scan_rate = pre.heap_bytes, pre.scan_bytes_per_s
        self.work, self.seconds = 0, 0.0

    def estimate(self, change: Change) -> tuple[float | None, str]:
        work = build_bytes(change, self.heap)
        if work is None:
            return None, ""
        if self.seconds > 0 and self.work > 0:
            rate, basis = self.work / self.seconds, "the builds before it in this run achieved"
        elif self.scan_rate:
            rate, basis = self.scan_rate, "this server read the tables at during the pre-flight"
        else:
            return None, "no rate measured"
        est = work / rate
        what = f"{BUILD_SCANS} heap reads" + (" + the index's estimated size" if change.size_bytes else "")
        return est, f"≈ {est:.2g} s: {human_bytes(work)} ({what}) at the {human_bytes(rate)}/s {basis}"

    def built(self, change: Change, seconds: float) -> None:
        work = build_bytes(change, self.heap)
        if work and seconds > 0:
            self.work += work
            self.seconds += seconds


# --- one index ------------------------------------------------------------------------------------


def _state(conn: psycopg.Connection, schema: str, name: str) -> dict[str, Any] | None:
    return fetch_one(conn, "migration_index_state", {"schema": schema, "name": name})


def _run(conn: psycopg.Connection, statement: str) -> None:
    import psycopg

    with conn.cursor() as cur:
        try:
            send(cur, statement)
        except psycopg.errors.LockNotAvailable as exc:
            raise LockTimedOut(str(exc).splitlines()[0]) from None
        except psycopg.errors.QueryCanceled as exc:
            raise BuildFailed(str(exc).splitlines()[0]) from None
        except psycopg.Error as exc:
            if isinstance(exc, psycopg.OperationalError) and conn.closed:
                raise
            first = str(exc).strip().splitlines()
            detail = next((ln for ln in first[1:] if ln.startswith("DETAIL")), "")
            raise BuildFailed(" ".join(filter(None, [first[0] if first else type(exc).__name__, detail]))) from None


class Applier:
    def __init__(self, dsn: str, options: ApplyOptions, progress: Progress | None = None):
        from perftool.db.connect import connect

        self.dsn, self.options, self.progress = dsn, options, progress or _noop
        self.conn = connect(dsn, read_only=False, statement_timeout_ms=0, lock_timeout_ms=options.lock_timeout_ms)

    def close(self) -> None:
        self.conn.close()

    def _with_retries(self, what: str, action: Callable[[], None], cleanup: Callable[[], None] | None = None) -> int:
        """Run `action`; on a lock timeout clean up, wait (exponential backoff) and retry. Attempts made."""
        wait = self.options.backoff_s
        for attempt in range(1, self.options.retries + 2):
            try:
                action()
                return attempt
            except LockTimedOut as exc:
                if cleanup is not None:
                    cleanup()
                if attempt > self.options.retries:
                    raise BuildFailed(f"{what}: lock timeout {attempt} time(s), gave up ({exc})") from None
                self.progress("retry", {"what": what, "attempt": attempt, "wait_s": wait, "error": str(exc)})
                time.sleep(wait)
                wait = min(wait * 2, self.options.max_backoff_s)
        raise AssertionError("unreachable")

    def _not_behind_a_long_transaction(self, schema: str, name: str, modes: list[str]) -> None:
        """Before a statement whose lock writers queue behind: when a session that is idle in
        transaction, or whose transaction has been open for lock_timeout already, holds a conflicting
        lock on `schema.name`, don't send it (a lock timeout without queueing: back off and retry) —
        queued behind that session it would hold every writer arriving meanwhile for the whole
        lock_timeout, as long as the writers' own lock_timeout."""
        holders = fetch_all(self.conn, "migration_lock_holders", {
            "schema": schema, "name": name, "modes": modes, "min_age_ms": self.options.lock_timeout_ms})
        if holders:
            h = holders[0]
            raise LockTimedOut(f"not queued behind pid {h['pid']} ({h['mode']} on {schema}.{name}, {h['state']}, "
                               f"transaction open {h['xact_seconds'] or 0:.1f} s)")

    def _drop_invalid(self, schema: str, name: str) -> bool:
        state = _state(self.conn, schema, name)
        if state is None or state["valid"] or state["kind"] == "I":
            return False
        self.progress("cleanup", {"index": f"{schema}.{name}"})
        self._with_retries(f"drop INVALID {schema}.{name}",
                           lambda: _run(self.conn, drop_sql(schema, name, concurrently=True)))
        return True

    def _build_one(self, statement: str, schema: str, name: str, outcome: Outcome) -> None:
        """CREATE INDEX CONCURRENTLY `statement` (index `schema.name`), retried on lock timeouts."""
        self._drop_invalid(schema, name)
        state = _state(self.conn, schema, name)
        if state is not None and state["valid"]:
            outcome.message = (outcome.message + f"; {schema}.{name} exists" if outcome.message
                               else f"{schema}.{name} exists")
            return

        def build() -> None:
            outcome.attempts += 1
            self._with_progress(f"{schema}.{name}", lambda: _run(self.conn, statement))

        def cleanup() -> None:
            self._drop_invalid(schema, name)

        try:
            self._with_retries(f"build {schema}.{name}", build, cleanup)
        except BuildFailed:
            cleanup()       # a failed build leaves an INVALID index: never keep it
            raise
        state = _state(self.conn, schema, name)
        if state is None or not state["valid"]:
            cleanup()
            raise BuildFailed(f"{schema}.{name} is not valid after its build")
        outcome.indexes.append(f"{schema}.{name}")

    def _with_progress(self, index: str, action: Callable[[], None]) -> None:
        """Run `action` while a second session polls pg_stat_progress_create_index for our backend."""
        from perftool.db.connect import connect

        pid = self.conn.info.backend_pid
        done = threading.Event()

        def poll() -> None:
            try:
                with connect(self.dsn) as watcher:
                    while not done.wait(self.options.poll_s):
                        row = fetch_one(watcher, "migration_progress", {"pid": pid})
                        if row is not None:
                            self.progress("progress", {"index": index, **row})
            except Exception:  # noqa: BLE001 - progress is best effort, the build goes on
                return

        self.progress("start", {"index": index})
        watcher = threading.Thread(target=poll, daemon=True)
        watcher.start()
        try:
            action()
        finally:
            done.set()
            watcher.join(timeout=5)
            self.progress("end", {"index": index})

    def create(self, change: Change, outcome: Outcome) -> None:
        spec = change.spec
        assert spec is not None
        if not change.partitions:
            self._build_one(spec.create_sql(concurrently=True, name=change.name), change.schema, change.name, outcome)
            return
        parent = spec.create_sql(only=True, name=change.name, if_not_exists=True)

        def on_only() -> None:
            self._not_behind_a_long_transaction(change.schema, change.table, CONFLICTS_WITH_SHARE)
            _run(self.conn, parent)

        def attach(p: Partition) -> None:
            self._not_behind_a_long_transaction(p.schema, p.name, CONFLICTS_WITH_ACCESS_EXCLUSIVE)
            _run(self.conn, attach_sql(change.schema, change.name, p.schema, p.name))

        self._with_retries(f"create {change.qualified} ON ONLY", on_only)
        for p in change.partitions:
            self._build_one(spec.create_sql(concurrently=True, name=p.name, table=(p.schema, p.table)),
                            p.schema, p.name, outcome)
            self._with_retries(f"attach {p.schema}.{p.name}", functools.partial(attach, p))
        state = _state(self.conn, change.schema, change.name)
        if state is None or not state["valid"]:
            raise BuildFailed(f"{change.qualified} is not valid after attaching every partition's index")
        outcome.indexes.insert(0, change.qualified)

    def drop(self, change: Change) -> None:
        state = _state(self.conn, change.schema, change.name)
        concurrently = not (state is not None and state["kind"] == "I")
        statement = drop_sql(change.schema, change.name, concurrently=concurrently)
        self._with_retries(f"drop {change.qualified}", lambda: _run(self.conn, statement))

    def analyze(self, tables: list[tuple[str, str]]) -> None:
        for schema, table in tables:
            with self.conn.cursor() as cur:
                cur.execute(compose("migration_analyze", table=[(schema, table)]))  # type: ignore[list-item]

    def apply(self, change: Change) -> Outcome:
        outcome = Outcome(change)
        started = time.monotonic()
        self.progress("change", {"change": change.label})
        try:
            if change.action in ("drop", "rebuild"):
                self.drop(change)
                outcome.status = "dropped"
            if change.action in ("create", "rebuild"):
                self.create(change, outcome)
                outcome.status = "built" if outcome.indexes else "skipped"
        except BuildFailed as exc:
            outcome.status, outcome.message = "failed", str(exc)
        outcome.seconds = round(time.monotonic() - started, 3)
        if outcome.indexes:
            state = _state(self.conn, change.schema, change.name)
            outcome.size_bytes = state["size_bytes"] if state else None
            if change.partitions:
                sizes = [_state(self.conn, p.schema, p.name) for p in change.partitions]
                outcome.size_bytes = sum(s["size_bytes"] for s in sizes if s)
        return outcome


_PARAM = re.compile(r"\$(\d+)")


def verify(dsn: str, outcomes: list[Outcome]) -> tuple[list[dict[str, Any]], list[str]]:
    """The statements each built index was recommended for, planned again on the real indexes: their
    cost now next to the advisor's estimates (EXPLAIN through the advisor's what-if session, generic
    plans for `$n` statements; no hypothetical index is created)."""
    from perftool.advisor.whatif import WhatIf
    from perftool.db.connect import connect
    from perftool.db.errors import PerftoolError

    todo = [(o, st) for o in outcomes if o.status == "built" for st in o.change.statements]
    if not todo:
        return [], []
    rows = []
    try:
        with connect(dsn) as conn:
            whatif = WhatIf(conn)
            try:
                for o, st in todo:
                    text = st["query"].strip().rstrip(";").strip()
                    params = max((int(n) for n in _PARAM.findall(text)), default=0)
                    explained = whatif.explain(whatif.add_statement(text, (), params))
                    rows.append({"index": o.change.qualified, "statement": st["origin"] or text[:60],
                                 "cost_before": st["cost_before"], "estimated_after": st["cost_after"],
                                 "cost_now": None if explained.cost is None else round(explained.cost, 2),
                                 "error": explained.error or ""})
            finally:
                whatif.close()
    except PerftoolError as exc:
        return rows, [f"not verified with real plans: {exc.message}"]
    return rows, []


def apply_report(dsn: str, changes: list[Change], options: ApplyOptions | None = None,
                 progress: Progress | None = None, *, preflight_only: bool = False) -> Report:
    """Pre-flight, then (unless dry-run or pre-flight only) apply each change in order, ANALYZE the
    tables built on, and report each change: built, skipped, dropped or failed, time, size."""
    from perftool.db.connect import connect, server_info

    options = options or ApplyOptions()
    with connect(dsn) as conn:
        info = server_info(conn)
        notes = resolve_partitions(conn, changes)
        pre = preflight(conn, changes, options.sample_s)
    sections = pre.sections
    estimator = Estimator(pre)
    estimates: dict[int, tuple[float | None, str]] = {}
    outcomes: list[Outcome] = []
    if preflight_only or options.dry_run:
        outcomes = [Outcome(c, status="planned") for c in changes]
        estimates = {id(c): estimator.estimate(c) for c in changes}
        notes.append("pre-flight only: nothing was changed" if preflight_only else "dry run: nothing was changed")
    else:
        applier = Applier(dsn, options, progress)
        try:
            for change in changes:
                estimates[id(change)] = estimator.estimate(change)
                outcome = applier.apply(change)
                if outcome.status == "built":
                    estimator.built(change, outcome.seconds)
                outcomes.append(outcome)
            built = sorted({(o.change.schema, o.change.table) for o in outcomes if o.status == "built"}
                           | {(p.schema, p.table) for o in outcomes if o.status == "built"
                              for p in o.change.partitions})
            if options.analyze and built:
                progress = progress or _noop
                progress("analyze", {"tables": [f"{s}.{t}" for s, t in built]})
                applier.analyze(built)
                notes.append("ANALYZE: " + ", ".join(f"{s}.{t}" for s, t in built))
        finally:
            applier.close()
        checked, why_not = verify(dsn, outcomes)
        notes += why_not
        if checked:
            sections.append(Section("verification", "The statements each index was for, planned again", [
                Column("index", "index"), Column("statement", "statement"),
                Column("cost_before", "cost before", "float"), Column("estimated_after", "estimated after", "float"),
                Column("cost_now", "cost now", "float"), Column("error", "error")], checked,
                note="cost before / estimated after: the advisor's HypoPG estimates; cost now: the planner's "
                     "estimate with the real index and fresh statistics."))
    rows = [{"change": o.change.action, "index": o.change.qualified,
             "table": f"{o.change.schema}.{o.change.table}" if o.change.table else "", "status": o.status,
             "estimated_s": estimates.get(id(o.change), (None, ""))[0],
             "estimate": estimates.get(id(o.change), (None, ""))[1],
             "attempts": o.attempts, "seconds": o.seconds, "size_bytes": o.size_bytes, "message": o.message}
            for o in outcomes]
    counts = {s: sum(1 for o in outcomes if o.status == s)
              for s in ("built", "skipped", "dropped", "failed", "planned")}
    title = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no changes"
    sections.append(Section("changes", f"Index changes: {title}", [
        Column("change", "change"), Column("index", "index"), Column("table", "table"), Column("status", "status"),
        Column("estimated_s", "estimated (s)", "float"), Column("estimate", "estimate"),
        Column("attempts", "attempts", "int"), Column("seconds", "seconds", "float"),
        Column("size_bytes", "size", "bytes"), Column("message", "message")], rows))
    return Report(command="indexes apply", server=info.as_dict(), sections=sections, notes=notes,
                  data={"summary": counts})


def failed(report: Report) -> int:
    return int(report.data.get("summary", {}).get("failed", 0))
