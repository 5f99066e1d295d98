"""Workload: top statements, time by statement type and by table, cache hit ratios, temp files,
N+1 loops and COUNT dashboards."""

from __future__ import annotations

import datetime as dt
import heapq
from typing import Any

from perftool.analyze.sections import AnalysisContext, AnalysisSection, SectionResult, register
from perftool.health.checks.fix_sql import FixPlan, spec_step
from perftool.report.model import Column, Finding, Section, Severity
from perftool.workload.patterns import dashboard_count_findings, n_plus_one_findings
from perftool.workload.queries import STATEMENT_COLUMNS, QueryOptions, analyze_statements
from perftool.workload.statement_text import STATEMENT_TYPES, statement_type, tables

TEMP_BYTES_NOTE = 100 * 1024 * 1024  # database temp use worth a finding


def _ratio(hit: float | None, read: float | None) -> float | None:
    total = (hit or 0) + (read or 0)
    return (hit or 0) / total if total else None


@register
class WorkloadSection(AnalysisSection):
    key = "workload"
    title = "Workload"
    order = 10

    @staticmethod
    def _with_index_advice(ctx: AnalysisContext, findings: list[Finding]) -> list[Finding]:
        """Q101 (slow) and Q103 (cache misses) point at a missing index: when the index advisor ran
        (tables section), its indexes for the statement join the fix — `indexes recommend`'s answer."""
        advice = ctx.index_advice()
        if advice is None or advice.error:
            return findings
        by_id = {s.queryid: s for s in ctx.statements if s.queryid is not None}
        for f in findings:
            qid = f.evidence.get("queryid")
            s = by_id.get(qid) if qid is not None and f.code in ("Q101", "Q103") else None
            fixes = advice.for_statement(s.query) if s is not None else []
            if not fixes:
                continue
            f.fix += (f"\n-- the index advisor's answer for it ({advice.label}; perftool indexes recommend "
                      "shows the costs):\n" + "\n".join(fx.definition for fx in fixes))
            f.plan = FixPlan(f.fix, [spec_step(fx.index.spec(), name=fx.name, sql=fx.definition) for fx in fixes])
            f.evidence["indexes"] = [fx.name for fx in fixes]
        return findings

    def analyze(self, ctx: AnalysisContext) -> SectionResult:
        opts = ctx.options
        th = opts.thresholds
        snap = ctx.merged
        stmts = ctx.statements
        q = analyze_statements(stmts, QueryOptions(limit=opts.limit, thresholds=th, include_nested=True), snap.meta)
        rate = ctx.interval_s
        columns = list(STATEMENT_COLUMNS)
        rows = q.rows
        if rate:
            columns = columns[:3] + [Column("calls_per_s", "calls/s", "float"), Column("ms_per_s", "ms/s", "float")] \
                + columns[3:]
            for r in rows:
                r["calls_per_s"] = round(r["calls"] / rate, 3)
                r["ms_per_s"] = round(r["total_ms"] / rate, 3)
        if ctx.fleet:
            columns.insert(2, Column("hosts", "calls by host", "text"))
            for r, s in zip(rows, q.statements, strict=True):
                hosts = s.extra.get("hosts", {})
                r["hosts"] = " / ".join(f"{h} {c:,}" for h, c in hosts.items())
        sections = [Section("statements", f"Top {len(rows)} of {q.statement_count} statements by total time",
                            columns, rows)]
        sections.append(self._by_type(stmts, q.total_ms, rate))
        sections.append(self._by_table(stmts, q.total_ms))
        cache_section, cache_findings = self._cache(ctx)
        sections.append(cache_section)
        findings = self._with_index_advice(ctx, list(q.findings)) + cache_findings + self._temp(snap)
        findings += n_plus_one_findings(stmts, min_calls=opts.n_plus_one_min_calls)
        findings += dashboard_count_findings(stmts)
        db_ratio = _ratio(snap.database.get("blks_hit"), snap.database.get("blks_read"))
        window = self._window(ctx)
        summary = (f"{q.statement_count:,} statements, {q.total_calls:,} calls, {q.total_ms / 1000:,.1f} s "
                   f"of execution {window}; cache hit {db_ratio:.1%}" if db_ratio is not None else
                   f"{q.statement_count:,} statements, {q.total_calls:,} calls {window}")
        metrics = [("perftool_statement_total_seconds", "Execution time of the statement in the window",
                    {"queryid": str(r["queryid"])}, r["total_ms"] / 1000) for r in rows]
        metrics += [("perftool_statement_calls", "Calls of the statement in the window",
                     {"queryid": str(r["queryid"])}, r["calls"]) for r in rows]
        metrics += [("perftool_statement_mean_seconds", "Mean execution time of the statement",
                     {"queryid": str(r["queryid"])}, r["mean_ms"] / 1000) for r in rows]
        if db_ratio is not None:
            metrics.append(("perftool_cache_hit_ratio", "Shared-buffer hit ratio",
                            {"scope": "database", "name": str(snap.database.get("database"))}, db_ratio))
        return SectionResult(sections, findings, summary,
                             data={"workload": {"statements": q.statement_count, "calls": q.total_calls,
                                                "total_ms": round(q.total_ms, 3), "window": window,
                                                "interval_s": rate, "stats_reset": snap.meta.stats_reset
                                                or snap.database.get("stats_reset")}},
                             metrics=metrics)

    @staticmethod
    def _window(ctx: AnalysisContext) -> str:
        if ctx.interval_s:
            return f"in the last {ctx.interval_s:.0f} s"
        reset = ctx.merged.meta.stats_reset or ctx.merged.database.get("stats_reset")
        if reset is None:
            return "since the statistics were last reset"
        age = ctx.merged.taken_at - reset
        hours = age.total_seconds() / 3600
        human = f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} h" if hours >= 1 else \
            f"{age.total_seconds() / 60:.0f} min"
        return f"since the statistics reset {human} ago ({reset.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M} UTC)"

    @staticmethod
    def _by_type(stmts, total_ms: float, rate: float | None) -> Section:
        agg: dict[str, dict[str, Any]] = {t: {"type": t, "statements": 0, "calls": 0, "total_ms": 0.0, "rows": 0}
                                          for t in STATEMENT_TYPES}
        for s in stmts:
            a = agg[statement_type(s.query)]
            a["statements"] += 1
            a["calls"] += s.calls
            a["total_ms"] += s.total_ms
            a["rows"] += s.rows
        rows = []
        for a in agg.values():
            if not a["statements"]:
                continue
            a["total_ms"] = round(a["total_ms"], 3)
            a["share"] = round(a["total_ms"] / total_ms, 4) if total_ms else 0.0
            a["mean_ms"] = round(a["total_ms"] / a["calls"], 3) if a["calls"] else 0.0
            rows.append(a)
        return Section("by_type", "Time by statement type", [
            Column("type", "type"), Column("statements", "statements", "int"), Column("calls", "calls", "int"),
            Column("total_ms", "total", "ms"), Column("mean_ms", "mean", "ms"), Column("share", "time %", "pct"),
        ], rows)

    @staticmethod
    def _by_table(stmts, total_ms: float) -> Section:
        agg: dict[str, dict] = {}
        for s in stmts:
            for t in tables(s.query):
                a = agg.setdefault(t, {"table": t, "statements": 0, "calls": 0, "total_ms": 0.0})
                a["statements"] += 1
                a["calls"] += s.calls
                a["total_ms"] += s.total_ms
        rows = sorted(agg.values(), key=lambda a: (-a["total_ms"], a["table"]))[:15]
        for a in rows:
            a["total_ms"] = round(a["total_ms"], 3)
            a["share"] = round(a["total_ms"] / total_ms, 4) if total_ms else 0.0
        return Section("by_table", "Time by table", [
            Column("table", "table"), Column("statements", "statements", "int"), Column("calls", "calls", "int"),
            Column("total_ms", "total", "ms"), Column("share", "time %", "pct"),
        ], rows, note="A statement that touches several tables counts in full for each.")

    @staticmethod
    def _cache(ctx: AnalysisContext) -> tuple[Section, list[Finding]]:
        th = ctx.options.thresholds
        snap = ctx.merged
        rows, findings = [], []
        db = snap.database
        ratio = _ratio(db.get("blks_hit"), db.get("blks_read"))
        rows.append({"scope": "database", "name": db.get("database"), "hit_ratio": ratio,
                     "blocks_read": db.get("blks_read"), "blocks_hit": db.get("blks_hit")})
        if ratio is not None and ratio < th.cache_hit_warning and (db.get("blks_read") or 0) >= 1000:
            findings.append(Finding(
                code="D101", severity=Severity.error if ratio < th.cache_hit_critical else Severity.warning,
                title=f"database cache hit ratio {ratio:.1%}", object=str(db.get("database")),
                detail=(f"{db.get('blks_read'):,} blocks read from disk or the OS cache vs {db.get('blks_hit'):,} "
                        f"found in shared_buffers ({db.get('shared_buffers')}); warning below "
                        f"{th.cache_hit_warning:.0%}, critical below {th.cache_hit_critical:.0%}. OLTP databases "
                        "usually run above 99 %."),
                fix=("Find the statements that read most (perftool queries --sort io) and give them indexes; if the "
                     "hot data is simply larger than memory, raise shared_buffers (about 25 % of RAM) or add RAM."),
                evidence={"hit_ratio": round(ratio, 4), "blks_read": db.get("blks_read"),
                          "blks_hit": db.get("blks_hit")},
            ))
        # the five that read most (nlargest: sorted()[:5] without sorting 10,000 tables)
        for t in heapq.nlargest(5, snap.tables, key=lambda t: t.get("heap_blks_read") or 0):
            if not (t.get("heap_blks_read") or 0):
                continue
            r = _ratio(t.get("heap_blks_hit"), t.get("heap_blks_read"))
            rows.append({"scope": "table", "name": f"{t['schema']}.{t['table']}", "hit_ratio": r,
                         "blocks_read": t.get("heap_blks_read"), "blocks_hit": t.get("heap_blks_hit")})
            if r is not None and r < th.cache_hit_warning and t["heap_blks_read"] >= 10_000:
                findings.append(Finding(
                    code="T203", severity=Severity.error if r < th.cache_hit_critical else Severity.warning,
                    title=f"table {t['schema']}.{t['table']} misses the cache: hit ratio {r:.1%}",
                    object=f"{t['schema']}.{t['table']}",
                    detail=(f"{t['heap_blks_read']:,} heap blocks read outside shared_buffers vs "
                            f"{t['heap_blks_hit']:,} hits; the table is {t['table_bytes'] / 1048576:,.0f} MiB."),
                    fix=("Read less of it: indexes for the statements that scan it (see the tables section), or "
                         "archive cold rows; otherwise raise shared_buffers."),
                    evidence={"hit_ratio": round(r, 4), "heap_blks_read": t["heap_blks_read"],
                              "table_bytes": t["table_bytes"]},
                ))
        for i in heapq.nlargest(5, snap.indexes, key=lambda i: i.get("idx_blks_read") or 0):
            if not (i.get("idx_blks_read") or 0):
                continue
            rows.append({"scope": "index", "name": f"{i['schema']}.{i['index']}",
                         "hit_ratio": _ratio(i.get("idx_blks_hit"), i.get("idx_blks_read")),
                         "blocks_read": i.get("idx_blks_read"), "blocks_hit": i.get("idx_blks_hit")})
        section = Section("cache", "Cache hit ratio (database, most-read tables and indexes)", [
            Column("scope", "scope"), Column("name", "name"), Column("hit_ratio", "hit", "pct"),
            Column("blocks_read", "blocks read", "int"), Column("blocks_hit", "blocks hit", "int"),
        ], rows, note=f"Thresholds: warning < {th.cache_hit_warning:.0%}, critical < {th.cache_hit_critical:.0%} "
                      "(PgHero suggests > 99 % for OLTP tables).")
        return section, findings

    @staticmethod
    def _temp(snap) -> list[Finding]:
        db = snap.database
        temp_bytes = db.get("temp_bytes") or 0
        if temp_bytes < TEMP_BYTES_NOTE:
            return []
        return [Finding(
            code="D102",
            title=f"{temp_bytes / 1048576:,.0f} MiB written to temporary files ({db.get('temp_files'):,} files)",
            object=str(db.get("database")),
            detail=(f"Sorts and hashes larger than work_mem ({db.get('work_mem')}) spill to disk. The statements "
                    "responsible carry finding Q104."),
            fix=("Raise work_mem for the sessions or roles that run them (ALTER ROLE app SET work_mem = '32MB'), "
                 "or avoid the big sorts with indexes; set log_temp_files = 0 to log each spill."),
            evidence={"temp_bytes": temp_bytes, "temp_files": db.get("temp_files")},
        )]
