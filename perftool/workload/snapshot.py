"""Snapshots of the cumulative statistics views, and the delta between two of them.

`take_snapshot` reads pg_stat_statements, pg_stat_database, pg_stat_user_tables and
pg_stat_user_indexes (plus the point-in-time data of each registered analysis section) in one
pass. `delta(before, after)` subtracts counters so `analyze --interval N` reports what happened in
those N seconds — rates per second — instead of everything since the last statistics reset.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from perftool.catalog.schema import EXACT_SIZES_MAX
from perftool.db.beside import Beside
from perftool.db.sql import Record
from perftool.gc_pause import gc_paused
from perftool.workload.stats import StatementsMeta, StatementStats

if TYPE_CHECKING:
    import psycopg

    from perftool.db.connect import ServerInfo

STATEMENT_COUNTERS = ("calls", "total_ms", "plan_ms", "rows", "shared_blks_hit", "shared_blks_read",
                      "shared_blks_dirtied", "shared_blks_written", "temp_blks_read", "temp_blks_written",
                      "io_read_ms", "io_write_ms", "wal_bytes")
DATABASE_COUNTERS = ("xact_commit", "xact_rollback", "blks_read", "blks_hit", "tup_returned", "tup_fetched",
                     "temp_files", "temp_bytes", "deadlocks")
TABLE_COUNTERS = ("seq_scan", "seq_tup_read", "idx_scan", "n_tup_ins", "n_tup_upd", "n_tup_del",
                  "n_tup_hot_upd", "heap_blks_read", "heap_blks_hit", "idx_blks_read", "idx_blks_hit",
                  "autovacuum_count")
INDEX_COUNTERS = ("idx_scan", "idx_blks_read", "idx_blks_hit")


@dataclass
class Snapshot:
    host: str
    role: str
    info: ServerInfo
    taken_at: dt.datetime
    statements: list[StatementStats]
    meta: StatementsMeta
    database: dict[str, Any]
    tables: Sequence[Mapping[str, Any]]     # a row per table (db.sql.Record: read like a dict)
    indexes: Sequence[Mapping[str, Any]]
    extras: dict[str, Any] = field(default_factory=dict)
    interval_s: float | None = None


def take_snapshot(conn: psycopg.Connection, info: ServerInfo, *, host: str, role: str = "primary",
                  all_databases: bool = False, extras: dict[str, Any] | None = None) -> Snapshot:
    from perftool.db.connect import require_pg_stat_statements
    from perftool.db.sql import fetch_one, fetch_records, read_transaction
    from perftool.workload.stats import collect_meta, collect_statements

    require_pg_stat_statements(info)
    # the index rows on a sibling session while this one reads the rest: the server computes both
    # at once (10,000 tables: 30,000 index rows, 70 ms, beside the tables' 80 ms); each session
    # reads its counters as of its own first read (stats_session.pg15.sql), milliseconds apart
    opened: Beside[list[Record]] = Beside(conn)
    side = opened if opened.available() else None
    if side is None:
        opened.close()
    else:
        side.submit(_index_rows)
    try:
        with gc_paused(), read_transaction(conn, "stats_session"):   # a row dict per table and index: no cycles
            database = fetch_one(conn, "analyze_database") or {}
            statements = collect_statements(conn, all_databases=all_databases)
            meta = collect_meta(conn)
            tables = fetch_records(conn, "analyze_tables", {"exact_sizes_max": EXACT_SIZES_MAX})
            done, beside = side.result() if side is not None else (False, None)
            indexes = beside if done and beside is not None else fetch_records(conn, "analyze_indexes")
    finally:
        if side is not None:
            side.close()
    return Snapshot(
        host=host, role=role, info=info, taken_at=database.get("taken_at") or dt.datetime.now(dt.timezone.utc),
        statements=statements, meta=meta, database=database, tables=tables, indexes=indexes,
        extras=dict(extras or {}),
    )


def _index_rows(conn: psycopg.Connection) -> list[Record]:
    from perftool.db.sql import fetch_records, read_transaction

    with gc_paused(), read_transaction(conn, "stats_session"):
        return fetch_records(conn, "analyze_indexes")


def _sum_squares(s: StatementStats) -> float:
    return s.calls * (s.stddev_ms ** 2 + s.mean_ms ** 2)


def _statement_key(s: StatementStats) -> tuple:
    return (s.queryid, s.database, s.role, s.toplevel)


def _sub(after: Mapping[str, Any], before: Mapping[str, Any] | None, counters: tuple[str, ...]) -> dict:
    out = dict(after)
    for k in counters:
        out[k] = (after.get(k) or 0) - ((before or {}).get(k) or 0)
    return out


def delta(before: Snapshot, after: Snapshot) -> Snapshot:
    """What happened between two snapshots. Statements that did not run in between are dropped; a
    statement new in `after` counts in full. Gauges (live/dead tuples, sizes) come from `after`."""
    seconds = max((after.taken_at - before.taken_at).total_seconds(), 1e-6)
    old = {_statement_key(s): s for s in before.statements}
    statements = []
    for s in after.statements:
        prev = old.get(_statement_key(s))
        if prev is not None and prev.calls > s.calls:  # reset in between: take `after` as is
            prev = None
        changes = {k: getattr(s, k) - (getattr(prev, k) if prev else 0) for k in STATEMENT_COUNTERS}
        if changes["calls"] <= 0:
            continue
        n = changes["calls"]
        mean = changes["total_ms"] / n
        changes["mean_ms"] = mean
        # the sum of squares is calls·(sd² + mean²) at each snapshot: their difference gives the
        # window's exact variance. min/max cannot be split: min 0 and max since reset bound it.
        sq = _sum_squares(s) - (_sum_squares(prev) if prev else 0.0)
        changes["stddev_ms"] = math.sqrt(max(sq / n - mean * mean, 0.0))
        if prev is not None:
            changes["min_ms"] = 0.0
        statements.append(dataclasses.replace(s, **changes))
    old_tables = {t["relid"]: t for t in before.tables}
    old_indexes = {i["indexrelid"]: i for i in before.indexes}
    return dataclasses.replace(
        after,
        statements=statements,
        database=_sub(after.database, before.database, DATABASE_COUNTERS),
        tables=[_sub(t, old_tables.get(t["relid"]), TABLE_COUNTERS) for t in after.tables],
        indexes=[_sub(i, old_indexes.get(i["indexrelid"]), INDEX_COUNTERS) for i in after.indexes],
        interval_s=seconds,
    )
