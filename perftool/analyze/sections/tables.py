"""Tables: seq-scan-heavy large tables with the statements that hit them ("missing index"),
dead tuples and autovacuum lag, per-table cache behaviour and primary keys."""

from __future__ import annotations

from typing import Any

from perftool.analyze.sections import AnalysisContext, AnalysisSection, SectionResult, register
from perftool.db.sql import statement_text
from perftool.ddl import plain
from perftool.health.checks.fix_sql import FixPlan, FixStep, spec_step
from perftool.report.model import Column, Finding, Section, Severity
from perftool.workload.patterns import filter_columns

MIN_ROWS_PER_SEQ_SCAN = 1000   # a seq scan that reads fewer rows is cheap whatever the table
DEAD_MIN_TUPLES = 10_000
DEAD_SHARE_WARNING = 0.20


def create_index_step(schema: str, table: str, columns: list[str]) -> FixStep:
    """CREATE INDEX CONCURRENTLY on the columns (perftool.ddl, named like every index), as a FixStep."""
    return spec_step(plain(schema, table, columns))


@register
class TablesSection(AnalysisSection):
    key = "tables"
    title = "Tables"
    order = 20

    def analyze(self, ctx: AnalysisContext) -> SectionResult:
        th = ctx.options.thresholds
        block = int(ctx.merged.database.get("block_size") or 8192)
        rows: list[dict[str, Any]] = []
        findings: list[Finding] = []
        for t in ctx.merged.tables:
            seq, idx = t.get("seq_scan") or 0, t.get("idx_scan") or 0
            scans = seq + idx
            share = seq / scans if scans else 0.0
            # n_live_tup is 0 after pg_stat_reset() until the next (auto)analyze: fall back to reltuples
            live = max(t.get("n_live_tup") or 0, t.get("reltuples") or 0)
            dead = t.get("n_dead_tup") or 0
            dead_share = dead / (live + dead) if (live + dead) else 0.0
            rows.append({
                "table": f"{t['schema']}.{t['table']}", "rows": live, "size_bytes": t.get("table_bytes"),
                "seq_scan": seq, "seq_share": round(share, 4), "seq_tup_read": t.get("seq_tup_read") or 0,
                "idx_scan": idx, "dead_share": round(dead_share, 4), "has_pk": bool(t.get("has_pk")),
                "last_autovacuum": t.get("last_autovacuum"),
                "writes": (t.get("n_tup_ins") or 0) + (t.get("n_tup_upd") or 0) + (t.get("n_tup_del") or 0),
            })
            rows_per_seq = (t.get("seq_tup_read") or 0) / seq if seq else 0
            if share > th.seq_scan_share and live >= th.seq_scan_min_rows and rows_per_seq >= MIN_ROWS_PER_SEQ_SCAN:
                findings.append(self._seq_scan_finding(ctx, t, share, rows_per_seq, block))
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
        rows.sort(key=lambda r: (-(r["seq_tup_read"] or 0), r["table"]))
        no_pk = sum(1 for r in rows if not r["has_pk"])
        heavy = sum(1 for f in findings if f.code == "T201")
        summary = f"{len(rows)} tables, {heavy} seq-scan heavy, {no_pk} without a primary key"
        section = Section("tables", "Tables by rows read in sequential scans", [
            Column("table", "table"), Column("rows", "rows", "int"), Column("size_bytes", "size", "bytes"),
            Column("seq_scan", "seq scans", "int"), Column("seq_share", "seq %", "pct"),
            Column("seq_tup_read", "rows seq-read", "int"), Column("idx_scan", "idx scans", "int"),
            Column("dead_share", "dead %", "pct"), Column("has_pk", "PK", "text"),
        ], rows[: max(ctx.options.limit, 10)])
        metrics = [("perftool_table_seq_scans", "Sequential scans of the table",
                    {"table": str(r["table"])}, float(r["seq_scan"])) for r in rows]
        return SectionResult([section], findings, summary, metrics=metrics)

    @staticmethod
    def _vacuum_fix(t: dict) -> str:
        now = statement_text("fix_vacuum_table", schema=t["schema"], table=t["table"])
        if t.get("autovacuum_enabled") is False:
            return (now + "\n-- autovacuum is disabled for this table (or the server): turn it back on\n"
                    + statement_text("fix_autovacuum_enable", schema=t["schema"], table=t["table"]))
        return (now + "\n-- then make autovacuum keep up on this table:\n"
                + statement_text("fix_autovacuum_scale_factor", schema=t["schema"], table=t["table"])
                + "\n-- and look for long transactions holding back the xmin horizon")

    def _seq_scan_finding(self, ctx: AnalysisContext, t: dict, share: float, rows_per_seq: float,
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
        fix_steps: list[FixStep] = []
        for s in scanners[:4]:
            cols = filter_columns(s.query, t["table"])
            if cols:
                step = create_index_step(t["schema"], t["table"], cols)
                if step.sql not in [x.sql for x in fix_steps] and len(fix_steps) < 3:
                    fix_steps.append(step)
        fix = "\n".join(x.sql for x in fix_steps)
        fix += ("\n" if fix else "") + ("-- check with: perftool indexes recommend (HypoPG what-if costing)")
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
                      "queryids": [s.queryid for s in scanners[:3]]},
            plan=FixPlan(fix, fix_steps) if fix_steps else None,
        )
