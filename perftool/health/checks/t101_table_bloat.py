"""T101 — table bloat (estimated)."""

from __future__ import annotations

from perftool.health.checks import CheckContext, check
from perftool.health.checks.fix_sql import vacuum_full
from perftool.health.checks.i109_index_bloat import bloat_severity
from perftool.report.model import Finding
from perftool.report.values import human_bytes


@check("T101", needs_statistics=True)
def bloated_tables(ctx: CheckContext) -> list[Finding]:
    out = []
    for b in ctx.catalog.table_bloat:
        severity = bloat_severity(b, ctx.thresholds)
        t = ctx.catalog.table(b.schema, b.table)
        if severity is None or t is None:
            continue
        out.append(ctx.finding(
            "T101", severity=severity,
            title=f"table {t.qualified} is about {b.bloat_ratio:.0%} bloat ({human_bytes(b.bloat_bytes)})",
            object=t.qualified,
            detail=(f"{t.qualified} takes {human_bytes(b.real_bytes)} for {t.rows:,.0f} live rows, which need about "
                    f"{human_bytes(b.real_bytes - b.bloat_bytes)} at fillfactor {b.fillfactor} "
                    f"(estimate from pg_stats; {t.n_dead_tup:,} dead rows now)."),
            fix=("-- VACUUM FULL locks the table for its whole run: use a maintenance window, or pg_repack online\n"
                 + vacuum_full(t.schema, t.name)),
            evidence={"table": t.qualified, "size_bytes": b.real_bytes, "bloat_bytes": b.bloat_bytes,
                      "bloat_ratio": round(b.bloat_ratio, 4), "n_dead_tup": t.n_dead_tup,
                      "n_live_tup": t.n_live_tup, "fillfactor": b.fillfactor}))
    return out
