"""Tables: seq-scan-heavy large tables with the statements that hit them ("missing index"),
dead tuples and autovacuum lag, per-table cache behaviour and primary keys."""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from typing import Any

from perftool.advisor.fixes import workload_advice
from perftool.analyze.sections import AnalysisContext, AnalysisSection, SectionResult, TablesCollected, register
from perftool.db.sql import fetch_all, statement_text
from perftool.health.checks.fix_sql import FixPlan, FixStep, spec_step
from perftool.report.model import Column, Finding, Section, Severity

MIN_ROWS_PER_SEQ_SCAN = 1000   # a seq scan that reads fewer rows is cheap whatever the table
DEAD_MIN_TUPLES = 10_000
DEAD_SHARE_WARNING = 0.20


def seq_scan_heavy(t: Mapping[str, Any], thresholds: Any) -> bool:
    """T201's rule: a large table read mostly by sequential scans that each read many rows."""
    seq, idx = t.get("seq_scan") or 0, t.get("idx_scan") or 0
    share = seq / (seq + idx) if seq + idx else 0.0
    # n_live_tup is 0 after pg_stat_reset() until the next (auto)analyze: fall back to reltuples
    live = max(t.get("n_live_tup") or 0, t.get("reltuples") or 0)
    rows_per_seq = (t.get("seq_tup_read") or 0) / seq if seq else 0
    return (share > thresholds.seq_scan_share and live >= thresholds.seq_scan_min_rows
            and rows_per_seq >= MIN_ROWS_PER_SEQ_SCAN)


@register
class TablesSection(AnalysisSection):
    key = "tables"
    title = "Tables"
    order = 20

    def collect(self, conn, info, options) -> TablesCollected:  # noqa: ANN001
        """When some table is seq-scan heavy here: the partitions' partitioned tables (statements
        name those) and the advisor's answer (`indexes recommend`'s, same statements and defaults,
        unless --no-index-advice), which T201's index fixes come from."""
        if not any(seq_scan_heavy(t, options.thresholds) for t in fetch_all(conn, "analyze_seq_scan_tables")):
            return TablesCollected()
        ancestors: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for r in fetch_all(conn, "analyze_partition_ancestors"):
            ancestors.setdefault((r["schema"], r["table"]), []).append((r["ancestor_schema"], r["ancestor"]))
        return TablesCollected(workload_advice(conn) if options.index_advice else None, ancestors)

    def analyze(self, ctx: AnalysisContext) -> SectionResult:
        th = ctx.options.thresholds
        block = int(ctx.merged.database.get("block_size") or 8192)
        findings: list[Finding] = []
        ranked: list[tuple[int, str, Mapping[str, Any]]] = []   # (-rows seq-read, table, row): the section's order
        no_pk = 0
        scanned: list[tuple[int, str, int]] = []
        for t in ctx.merged.tables:
            seq, idx, share, live, dead, dead_share = self._usage(t)
            name = f"{t['schema']}.{t['table']}"
            ranked.append((-(t.get("seq_tup_read") or 0), name, t))
            no_pk += not t.get("has_pk")
            if seq:
                scanned.append((ranked[-1][0], name, seq))
            if seq_scan_heavy(t, th):
                findings.append(self._seq_scan_finding(ctx, t, share, seq and (t.get("seq_tup_read") or 0) / seq,
                                                       block))
            base = 50 if t.get("vacuum_threshold") is None else t["vacuum_threshold"]
            scale = 0.2 if t.get("vacuum_scale_factor") is None else t["vacuum_scale_factor"]
            threshold = base + scale * live
            if dead >= DEAD_MIN_TUPLES and (dead > threshold or dead_share > DEAD_SHARE_WARNING):
                findings.append(Finding(
                    code="T202",
                    title=f"{t['schema']}.{t['table']}: {dead:,} dead tuples ({dead_share:.0%}), autovacuum is behind",
                    object=f"{t['schema']}.{t['table']}",
                    detail=(f"{dead:,} dead vs {live:,} live tuples; autovacuum should start at "
                            f"{threshold:,.0f} (threshold + scale factor × live). Last autovacuum: "
                            f"{t.get('last_autovacuum') or 'never'}. Dead tuples bloat the table and slow scans."),
                    fix=self._vacuum_fix(t),
                    evidence={"n_dead_tup": dead, "n_live_tup": live, "dead_share": round(dead_share, 4),
                              "autovacuum_threshold": round(threshold), "last_autovacuum": t.get("last_autovacuum")},
                ))
        # the table's row for the section's first rows only (10,000 tables: 10 of them)
        rows = [self._row(t) for _key, _name, t in heapq.nsmallest(max(ctx.options.limit, 10), ranked,
                                                                   key=lambda r: (r[0], r[1]))]
        heavy = sum(1 for f in findings if f.code == "T201")
        summary = f"{len(ranked)} tables, {heavy} seq-scan heavy, {no_pk} without a primary key"
        section = Section("tables", "Tables by rows read in sequential scans", [
            Column("table", "table"), Column("rows", "rows", "int"), Column("size_bytes", "size", "bytes"),
            Column("seq_scan", "seq scans", "int"), Column("seq_share", "seq %", "pct"),
            Column("seq_tup_read", "rows seq-read", "int"), Column("idx_scan", "idx scans", "int"),
            Column("dead_share", "dead %", "pct"), Column("has_pk", "PK", "text"),
        ], rows)
        # a series per table that was scanned sequentially, in the section's order: a schema of
        # 10,000 idle tables would otherwise be 10,000 zero series (and 1.3 MB of the JSON report)
        metrics = [("perftool_table_seq_scans", "Sequential scans of the table", {"table": name}, float(seq))
                   for _key, name, seq in sorted(scanned)]
        return SectionResult([section], findings, summary, metrics=metrics)

    @staticmethod
    def _usage(t: Mapping[str, Any]) -> tuple[int, int, float, float, int, float]:
        """seq scans, index scans, the seq scans' share, live rows, dead rows, the dead rows' share."""
        seq, idx = t.get("seq_scan") or 0, t.get("idx_scan") or 0
        live = max(t.get("n_live_tup") or 0, t.get("reltuples") or 0)   # n_live_tup is 0 before an ANALYZE
        dead = t.get("n_dead_tup") or 0
        return (seq, idx, seq / (seq + idx) if seq + idx else 0.0, live, dead,
                dead / (live + dead) if live + dead else 0.0)

    @classmethod
    def _row(cls, t: Mapping[str, Any]) -> dict[str, Any]:
        seq, idx, share, live, _dead, dead_share = cls._usage(t)
        return {
            "table": f"{t['schema']}.{t['table']}", "rows": live, "size_bytes": t.get("table_bytes"),
            "seq_scan": seq, "seq_share": round(share, 4), "seq_tup_read": t.get("seq_tup_read") or 0,
            "idx_scan": idx, "dead_share": round(dead_share, 4), "has_pk": bool(t.get("has_pk")),
            "last_autovacuum": t.get("last_autovacuum"),
            "writes": (t.get("n_tup_ins") or 0) + (t.get("n_tup_upd") or 0) + (t.get("n_tup_del") or 0),
        }

    @staticmethod
    def _vacuum_fix(t: Mapping[str, Any]) -> str:
        now = statement_text("fix_vacuum_table", schema=t["schema"], table=t["table"])
        if t.get("autovacuum_enabled") is False:
            return (now + "\n-- autovacuum is disabled for this table (or the server): turn it back on\n"
                    + statement_text("fix_autovacuum_enable", schema=t["schema"], table=t["table"]))
        return (now + "\n-- then make autovacuum keep up on this table:\n"
                + statement_text("fix_autovacuum_scale_factor", schema=t["schema"], table=t["table"])
                + "\n-- and look for long transactions holding back the xmin horizon")

    def _seq_scan_finding(self, ctx: AnalysisContext, t: Mapping[str, Any], share: float, rows_per_seq: float,
                          block: int) -> Finding:
        name = f"{t['schema']}.{t['table']}"
        pages = max((t.get("table_bytes") or 0) / block, 1)
        hitting = ctx.statements_for(t["schema"], t["table"])
        # statements that read about the whole table per call are the likely seq scans
        scanners = [s for s in hitting
                    if s.calls and (s.shared_blks_hit + s.shared_blks_read) / s.calls >= 0.3 * pages]
        scanners.sort(key=lambda s: -s.total_ms)
        if not scanners:
            scanners = sorted(hitting, key=lambda s: -s.total_ms)[:3]
        listing = "; ".join(
            f"`{' '.join(s.query.split())[:140]}` ({s.calls:,} calls, {s.mean_ms:,.1f} ms mean, "
            f"{(s.shared_blks_hit + s.shared_blks_read) / max(s.calls, 1):,.0f} blocks/call)"
            for s in scanners[:3])
        advice = ctx.index_advice()
        fix_steps: list[FixStep] = []
        per_statement: list[dict[str, Any]] = []     # the advisor's indexes on this table, per statement
        # on a partition: the advisor's index on its partitioned table (created ON ONLY the parent,
        # then on each partition and attached: the definition holds the steps)
        tables = {(t["schema"], t["table"]), *ctx.partition_ancestors(t["schema"], t["table"])}
        for s in scanners[:3]:
            if advice is None:
                break
            mine = [fx for fx in advice.for_statement(s.query) if fx.index.table_key in tables]
            per_statement.append({"queryid": s.queryid, "query": s.query, "indexes": [fx.name for fx in mine]})
            for fx in mine:
                if fx.definition not in [x.sql for x in fix_steps]:
                    fix_steps.append(spec_step(fx.index.spec(), name=fx.name, sql=fx.definition))
        fix = "\n".join(x.sql for x in fix_steps)
        if advice is None:
            fix += "-- find the index with: perftool indexes recommend (HypoPG what-if costing)"
        elif advice.error:
            fix += f"-- the index advisor could not run here ({advice.error}): see perftool indexes recommend"
        elif fix_steps:
            fix += f"\n-- from the index advisor ({advice.label}): perftool indexes recommend shows the costs"
        else:
            fix += (f"-- the index advisor ({advice.label}) finds no index that pays for these statements "
                    "(perftool indexes recommend --explain-choice says why)")
        severity = Severity.warning
        live = max(t.get("n_live_tup") or 0, t.get("reltuples") or 0)
        return Finding(
            code="T201", severity=severity,
            title=f"{name} is read by sequential scans ({share:.0%} of its scans, {live:,} rows)",
            object=name,
            detail=(f"{t['seq_scan']:,} sequential scans read {t['seq_tup_read']:,} rows "
                    f"({rows_per_seq:,.0f} per scan) against {t.get('idx_scan') or 0:,} index scans; "
                    f"the table is {(t.get('table_bytes') or 0) / 1048576:,.1f} MiB. "
                    + (f"Statements that read it: {listing}." if listing else "No statement in "
                       "pg_stat_statements names it (a replica's, or reset).")),
            fix=fix,
            evidence={"seq_scan": t["seq_scan"], "seq_tup_read": t["seq_tup_read"], "idx_scan": t.get("idx_scan"),
                      "n_live_tup": live, "seq_share": round(share, 4),
                      "queryids": [s.queryid for s in scanners[:3]],
                      "index_advice": None if advice is None or advice.error else advice.label,
                      "statement_indexes": per_statement},
            plan=FixPlan(fix, fix_steps) if fix_steps else None,
        )
