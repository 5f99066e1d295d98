"""Statements and their statistics: the workload every analysis starts from.

`collect_statements` reads pg_stat_statements (version differences handled by SQL variant files)
into `StatementStats` records; `statement_from_row` is the single mapping from a row, also used
by unit tests with recorded rows from other server versions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg


@dataclass
class StatementStats:
    queryid: int | None
    query: str
    calls: int
    total_ms: float
    mean_ms: float
    stddev_ms: float = 0.0
    min_ms: float = 0.0
    max_ms: float = 0.0
    plan_ms: float = 0.0
    rows: int = 0
    shared_blks_hit: int = 0
    shared_blks_read: int = 0
    shared_blks_dirtied: int = 0
    shared_blks_written: int = 0
    temp_blks_read: int = 0
    temp_blks_written: int = 0
    io_read_ms: float = 0.0
    io_write_ms: float = 0.0
    wal_bytes: int = 0
    role: str | None = None
    database: str | None = None
    toplevel: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_per_call(self) -> float:
        return self.rows / self.calls if self.calls else 0.0

    @property
    def hit_ratio(self) -> float | None:
        """Shared-buffer hit ratio of this statement's block accesses (None: it touched none)."""
        total = self.shared_blks_hit + self.shared_blks_read
        return self.shared_blks_hit / total if total else None

    @property
    def io_ms(self) -> float:
        return (self.io_read_ms or 0.0) + (self.io_write_ms or 0.0)

    @property
    def temp_blks(self) -> int:
        return self.temp_blks_read + self.temp_blks_written

    @property
    def hidden(self) -> bool:
        """pg_stat_statements hides other roles' texts without pg_read_all_stats."""
        return self.query.startswith("<insufficient privilege>")


_INT_FIELDS = ("calls", "rows", "shared_blks_hit", "shared_blks_read", "shared_blks_dirtied",
               "shared_blks_written", "temp_blks_read", "temp_blks_written", "wal_bytes")
_FLOAT_FIELDS = ("total_ms", "mean_ms", "stddev_ms", "min_ms", "max_ms", "plan_ms", "io_read_ms", "io_write_ms")

# Column names of pg_stat_statements before PG13, and the PG17 renames, mapped to ours, so recorded
# rows of any version can be turned into records.
_LEGACY_NAMES = {
    "total_time": "total_ms", "mean_time": "mean_ms", "stddev_time": "stddev_ms",
    "min_time": "min_ms", "max_time": "max_ms",
    "total_exec_time": "total_ms", "mean_exec_time": "mean_ms", "stddev_exec_time": "stddev_ms",
    "min_exec_time": "min_ms", "max_exec_time": "max_ms", "total_plan_time": "plan_ms",
    "blk_read_time": "io_read_ms", "blk_write_time": "io_write_ms",
    "shared_blk_read_time": "io_read_ms", "shared_blk_write_time": "io_write_ms",
}


def statement_from_row(row: dict[str, Any]) -> StatementStats:
    """Map a pg_stat_statements row (our SQL's aliases, or raw column names of PG 12–18)."""
    data: dict[str, Any] = {}
    for key, value in row.items():
        data[_LEGACY_NAMES.get(key, key)] = value
    known = set(StatementStats.__dataclass_fields__) - {"extra"}
    kwargs = {k: v for k, v in data.items() if k in known}
    for k in _INT_FIELDS:
        kwargs[k] = int(kwargs.get(k) or 0)
    for k in _FLOAT_FIELDS:
        kwargs[k] = float(kwargs.get(k) or 0.0)
    kwargs["query"] = kwargs.get("query") or ""
    kwargs["toplevel"] = bool(kwargs.get("toplevel", True))
    if kwargs.get("queryid") is not None:
        kwargs["queryid"] = int(kwargs["queryid"])
    kwargs.setdefault("queryid", None)
    if not kwargs["mean_ms"] and kwargs["calls"]:
        kwargs["mean_ms"] = kwargs["total_ms"] / kwargs["calls"]
    extra = {k: v for k, v in data.items() if k not in known}
    return StatementStats(**kwargs, extra=extra)


@dataclass
class StatementsMeta:
    """What is known about the pg_stat_statements view itself."""

    entries: int
    max_entries: int | None
    track: str | None
    track_io_timing: bool
    block_size: int
    dealloc: int | None
    stats_reset: dt.datetime | None


def collect_statements(conn: psycopg.Connection, *, all_databases: bool = False, min_calls: int = 1
                       ) -> list[StatementStats]:
    """All statements of this database (or of every database) in pg_stat_statements, except
    perftool's own (recognised by the marker inside their text, which survives normalisation on
    every version: PG18 drops the leading comment)."""
    from perftool.db.sql import fetch_all, own_statement_filter

    rows = fetch_all(conn, "top_statements", {"all_databases": all_databases, "min_calls": int(min_calls),
                                              "marker": own_statement_filter()})
    return [statement_from_row(r) for r in rows]


def collect_meta(conn: psycopg.Connection) -> StatementsMeta:
    from perftool.db.sql import fetch_one

    cap = fetch_one(conn, "statements_capacity") or {}
    info = fetch_one(conn, "statements_info") or {}
    return StatementsMeta(
        entries=int(cap.get("entries") or 0),
        max_entries=cap.get("max_entries"),
        track=cap.get("track"),
        track_io_timing=(cap.get("track_io_timing") == "on"),
        block_size=int(cap.get("block_size") or 8192),
        dealloc=info.get("dealloc"),
        stats_reset=info.get("stats_reset"),
    )

