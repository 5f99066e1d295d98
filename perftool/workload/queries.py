"""`perftool queries`: top statements from pg_stat_statements, with estimated percentiles and
coded findings for slow, spilling and cache-missing statements.

Collection (`collect_statements`) and analysis (`analyze_statements`) are separate: the analysis
takes records, not a connection, so it is unit-tested on recorded rows of any server version.
`queries_report(dsn, options)` is the library entry point the CLI calls.

Percentiles: pg_stat_statements stores mean, stddev, min and max, not a histogram. perftool
estimates p50/p95/p99 with a log-normal model fitted to mean and stddev (latencies are right-
skewed and positive), clamped to [min, max]: sigma² = ln(1 + (sd/mean)²), mu = ln(mean) − sigma²/2,
p = exp(mu + z·sigma) with z = 0, 1.6449, 2.3263. They are estimates and are labelled so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from perftool.config import Thresholds
from perftool.report.model import Column, Finding, Report, Section, Severity, sort_findings
from perftool.workload.stats import StatementsMeta, StatementStats

if TYPE_CHECKING:
    import psycopg

SORT_KEYS = ("total", "mean", "calls", "rows", "io", "temp")
Z = {"p50": 0.0, "p95": 1.6449, "p99": 2.3263}
TEMP_MIN_BLOCKS = 1  # any temp-file use is worth a note
CACHE_MIN_READ_BLOCKS = 10_000  # 78 MiB read from disk/OS cache before a statement's hit ratio matters


@dataclass
class QueryOptions:
    sort: str = "total"
    limit: int = 20
    min_calls: int = 1
    all_databases: bool = False
    include_nested: bool = False
    thresholds: Thresholds = field(default_factory=Thresholds)

    def __post_init__(self) -> None:
        from perftool.db.errors import UsageError

        if self.sort not in SORT_KEYS:
            raise UsageError(f"unknown sort key {self.sort!r}", f"choose one of: {', '.join(SORT_KEYS)}")
        if self.limit < 0 or self.min_calls < 0:
            raise UsageError("--limit and --min-calls must be zero or more")
        check_slow_thresholds(self.thresholds)


def check_slow_thresholds(th: Thresholds) -> None:
    from perftool.db.errors import UsageError

    if th.slow_ms <= 0 or th.slow_critical_ms < th.slow_ms:
        raise UsageError(f"slow thresholds must satisfy 0 < slow_ms <= slow_critical_ms "
                         f"(got {th.slow_ms:g} and {th.slow_critical_ms:g})")


def estimate_percentiles(mean: float, stddev: float, lo: float = 0.0, hi: float = math.inf) -> dict[str, float]:
    """Log-normal estimates of p50/p95/p99 from mean and stddev, clamped to [lo, hi]."""
    if mean <= 0:
        return {k: 0.0 for k in Z}
    hi = hi if hi and hi > 0 else math.inf
    if stddev <= 0:
        return {k: min(max(mean, lo), hi) for k in Z}
    cv = min(stddev / mean, 1e3)  # coefficient of variation, bounded so the model stays finite
    sigma2 = math.log1p(cv * cv)
    mu = math.log(mean) - sigma2 / 2.0
    sigma = math.sqrt(sigma2)
    return {k: min(max(math.exp(mu + z * sigma), lo), hi) for k, z in Z.items()}


def sort_value(s: StatementStats, key: str, io_timing: bool = True) -> float:
    if key == "total":
        return s.total_ms
    if key == "mean":
        return s.mean_ms
    if key == "calls":
        return s.calls
    if key == "rows":
        return s.rows
    if key == "io":  # one unit for every row: I/O time when it is measured, else blocks read
        return s.io_ms if io_timing else float(s.shared_blks_read)
    if key == "temp":
        return float(s.temp_blks)
    raise ValueError(key)


def statement_object(s: StatementStats) -> str:
    return f"queryid:{s.queryid}" if s.queryid is not None else "statement"


def statement_rows(stmts: list[StatementStats], total_ms: float) -> list[dict]:
    rows = []
    for i, s in enumerate(stmts, 1):
        pct = estimate_percentiles(s.mean_ms, s.stddev_ms, s.min_ms, s.max_ms)
        rows.append({
            "rank": i,
            "queryid": s.queryid,
            "queryids": s.extra.get("queryids") or ([s.queryid] if s.queryid is not None else []),
            "query": s.query or "<text unavailable>",
            "database": s.database,
            "role": s.role,
            "calls": s.calls,
            "total_ms": round(s.total_ms, 3),
            "mean_ms": round(s.mean_ms, 3),
            "stddev_ms": round(s.stddev_ms, 3),
            "min_ms": round(s.min_ms, 3),
            "max_ms": round(s.max_ms, 3),
            "p50_ms": round(pct["p50"], 3),
            "p95_ms": round(pct["p95"], 3),
            "p99_ms": round(pct["p99"], 3),
            "rows": s.rows,
            "rows_per_call": round(s.rows_per_call, 2),
            "hit_ratio": None if s.hit_ratio is None else round(s.hit_ratio, 4),
            "shared_blks_read": s.shared_blks_read,
            "temp_blks": s.temp_blks,
            "io_ms": round(s.io_ms, 3),
            "share": round(s.total_ms / total_ms, 4) if total_ms else 0.0,
        })
    return rows


STATEMENT_COLUMNS = [
    Column("rank", "#", "int"),
    Column("query", "statement", "query"),
    Column("calls", "calls", "int"),
    Column("total_ms", "total", "ms"),
    Column("mean_ms", "mean", "ms"),
    Column("stddev_ms", "stddev", "ms"),
    Column("p95_ms", "p95≈", "ms"),
    Column("p99_ms", "p99≈", "ms"),
    Column("rows_per_call", "rows/call", "float"),
    Column("hit_ratio", "hit", "pct"),
    Column("temp_blks", "temp blks", "int"),
    Column("share", "time %", "pct"),
]


def slow_statement_findings(stmts: list[StatementStats], th: Thresholds, total_ms: float) -> list[Finding]:
    out = []
    for s in stmts:
        if s.calls < th.slow_min_calls or s.mean_ms < th.slow_ms:
            continue
        severity = Severity.error if s.mean_ms >= th.slow_critical_ms else Severity.warning
        pct = estimate_percentiles(s.mean_ms, s.stddev_ms, s.min_ms, s.max_ms)
        share = s.total_ms / total_ms if total_ms else 0.0
        out.append(Finding(
            code="Q101", severity=severity,
            title=f"slow statement: mean {s.mean_ms:,.0f} ms over {s.calls:,} calls",
            object=statement_object(s),
            detail=(f"Mean {s.mean_ms:,.1f} ms (threshold {th.slow_ms:,.0f} ms, "
                    f"critical {th.slow_critical_ms:,.0f} ms), "
                    f"p95≈{pct['p95']:,.0f} ms, max {s.max_ms:,.0f} ms, {share:.1%} of total statement time. "
                    f"Statement: {' '.join(s.query.split())[:300]}"),
            fix=("Look at its plan with representative values: EXPLAIN (ANALYZE, BUFFERS) <statement>; then "
                 "perftool indexes recommend --query '<statement>' for a missing index."),
            evidence={"queryid": s.queryid, "calls": s.calls, "mean_ms": round(s.mean_ms, 3),
                      "p95_ms": round(pct["p95"], 3), "max_ms": round(s.max_ms, 3), "share": round(share, 4)},
        ))
    return out


def temp_spill_findings(stmts: list[StatementStats], block_size: int = 8192) -> list[Finding]:
    out = []
    for s in stmts:
        if s.temp_blks_written < TEMP_MIN_BLOCKS:
            continue
        spilled = s.temp_blks_written * block_size
        out.append(Finding(
            code="Q104",
            title=f"statement writes temporary files ({spilled / 1048576:,.1f} MiB over {s.calls:,} calls)",
            object=statement_object(s),
            detail=(f"Sorts or hashes that do not fit in work_mem spill to disk: {s.temp_blks_written:,} temp blocks "
                    f"written. Statement: {' '.join(s.query.split())[:300]}"),
            fix=("Give it more memory for this session (SET work_mem = '64MB' before it runs, or ALTER ROLE ... SET "
                 "work_mem), or avoid the sort/hash with an index that returns rows in the needed order."),
            evidence={"queryid": s.queryid, "temp_blks_written": s.temp_blks_written, "temp_bytes": spilled},
        ))
    return out


def cache_miss_findings(stmts: list[StatementStats], th: Thresholds) -> list[Finding]:
    out = []
    for s in stmts:
        ratio = s.hit_ratio
        if ratio is None or s.shared_blks_read < CACHE_MIN_READ_BLOCKS or ratio >= th.cache_hit_warning:
            continue
        severity = Severity.error if ratio < th.cache_hit_critical else Severity.warning
        out.append(Finding(
            code="Q103", severity=severity,
            title=f"statement misses the buffer cache: hit ratio {ratio:.1%}",
            object=statement_object(s),
            detail=(f"{s.shared_blks_read:,} blocks read outside shared_buffers vs {s.shared_blks_hit:,} hits "
                    f"(warning below {th.cache_hit_warning:.0%}, critical below {th.cache_hit_critical:.0%}). "
                    f"Statement: {' '.join(s.query.split())[:300]}"),
            fix=("Read fewer blocks: an index for its filter (perftool indexes recommend --query ...), or a covering "
                 "index; if the working set is simply larger than memory, raise shared_buffers."),
            evidence={"queryid": s.queryid, "hit_ratio": round(ratio, 4), "shared_blks_read": s.shared_blks_read},
        ))
    return out


def meta_findings(meta: StatementsMeta | None) -> list[Finding]:
    if meta is None:
        return []
    out = []
    full = meta.max_entries and meta.entries >= 0.9 * meta.max_entries
    if (meta.dealloc or 0) > 0 or full:
        out.append(Finding(
            code="Q105",  # title and severity: the code's
            object="pg_stat_statements",
            detail=(f"{meta.entries:,} of {meta.max_entries or '?'} entries used; "
                    f"{meta.dealloc or 0:,} evictions since "
                    "the last reset. Evicted statements' numbers are lost, so totals and shares are understated."),
            fix="Raise pg_stat_statements.max (restart needed), e.g. ALTER SYSTEM SET pg_stat_statements.max = 10000;",
            evidence={"entries": meta.entries, "max_entries": meta.max_entries, "dealloc": meta.dealloc},
        ))
    if not meta.track_io_timing:
        out.append(Finding(
            code="Q106",
            title="track_io_timing is off: I/O time per statement is not measured",
            object="track_io_timing",
            detail="Without it blk_read_time/blk_write_time stay 0 and --sort io falls back to blocks read.",
            fix="ALTER SYSTEM SET track_io_timing = on; SELECT pg_reload_conf();  (check its cost with pg_test_timing)",
        ))
    return out


@dataclass
class QueriesResult:
    statements: list[StatementStats]  # the selected, sorted top statements
    rows: list[dict]
    findings: list[Finding]
    total_ms: float
    total_calls: int
    statement_count: int


def analyze_statements(stmts: list[StatementStats], options: QueryOptions,
                       meta: StatementsMeta | None = None) -> QueriesResult:
    """Pure analysis: merge entries of the same text, sort, cut to the limit, compute derived
    columns and findings. pg_stat_statements keeps one entry per parameter *type* (psycopg sends
    small ints as int2 and larger ones as int8), so one application statement can have several
    queryids; they are merged and all listed in `queryids`."""
    from perftool.workload.fleet import merge_statements

    chosen = [s for s in stmts if options.include_nested or s.toplevel]
    pool = [s for s in merge_statements({"": chosen}) if s.calls >= options.min_calls]
    total_ms = sum(s.total_ms for s in pool)
    io_timing = meta.track_io_timing if meta else True
    ordered = sorted(pool, key=lambda s: (-sort_value(s, options.sort, io_timing), -s.total_ms, s.queryid or 0))
    top = ordered[: options.limit] if options.limit else ordered
    findings = (slow_statement_findings(pool, options.thresholds, total_ms)
                + cache_miss_findings(pool, options.thresholds)
                + temp_spill_findings(pool, meta.block_size if meta else 8192)
                + meta_findings(meta))
    sort_findings(findings)
    return QueriesResult(
        statements=top, rows=statement_rows(top, total_ms), findings=findings, total_ms=total_ms,
        total_calls=sum(s.calls for s in pool), statement_count=len(pool),
    )


def collect_and_analyze(conn: psycopg.Connection, options: QueryOptions):
    """Collect from a connection (checking the extension first) and analyse."""
    from perftool.db.connect import require_pg_stat_statements, server_info
    from perftool.workload.stats import collect_meta, collect_statements

    info = server_info(conn)
    require_pg_stat_statements(info)
    meta = collect_meta(conn)
    # --min-calls applies after entries of the same text are merged, not in SQL
    stmts = collect_statements(conn, all_databases=options.all_databases)
    return info, meta, analyze_statements(stmts, options, meta)


def queries_report(dsn: str, options: QueryOptions | None = None) -> Report:
    """Library entry point: connect read-only, collect, analyse, and return the Report."""
    from perftool.db.connect import connect
    from perftool.db.privileges import statement_texts_note

    options = options or QueryOptions()
    with connect(dsn) as conn:
        info, meta, result = collect_and_analyze(conn, options)
    notes = [n for n in [statement_texts_note(info.user, info.can_read_all_stats)] if n]
    scope = "all databases" if options.all_databases else f"database {info.database}"
    return Report(
        command="queries",
        server=info.as_dict(),
        sections=[Section(
            key="statements",
            title=f"Top {len(result.rows)} of {result.statement_count} statements by {options.sort} ({scope})",
            columns=STATEMENT_COLUMNS, rows=result.rows,
            note="p95≈/p99≈ are log-normal estimates from mean and stddev (docs/commands/queries.md).",
        )],
        findings=result.findings,
        notes=notes,
        data={"summary": {
            "statements": result.statement_count,
            "calls": result.total_calls,
            "total_ms": round(result.total_ms, 3),
            "sort": options.sort,
            "stats_reset": meta.stats_reset,
            "pg_stat_statements_entries": meta.entries,
            "pg_stat_statements_max": meta.max_entries,
        }},
    )
