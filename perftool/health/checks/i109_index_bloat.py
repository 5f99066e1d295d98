"""I109 — index bloat (estimated)."""

from __future__ import annotations

from perftool.catalog.schema import BloatEstimate
from perftool.config import Thresholds
from perftool.health.checks import CheckContext, check
from perftool.health.checks.fix_sql import reindex
from perftool.report.model import Finding, Severity
from perftool.report.values import human_bytes


def bloat_severity(b: BloatEstimate, th: Thresholds) -> Severity | None:
    """warning above bloat_warning (and bloat_min_bytes of bloat), error above bloat_critical."""
    if not b.reliable or b.bloat_bytes < th.bloat_min_bytes or b.bloat_ratio <= th.bloat_warning:
        return None
    return Severity.error if b.bloat_ratio > th.bloat_critical else Severity.warning


@check("I109", needs_statistics=True)
def bloated_indexes(ctx: CheckContext) -> list[Finding]:
    out = []
    for b in ctx.catalog.index_bloat:
        severity = bloat_severity(b, ctx.thresholds)
        t = ctx.catalog.table(b.schema, b.table) if severity is not None else None
        ix = next((i for i in t.indexes if i.name == b.index), None) if t is not None else None
        if severity is None or ix is None:
            continue
        out.append(ctx.finding(
            "I109", severity=severity,
            title=f"index {ix.qualified} is about {b.bloat_ratio:.0%} bloat ({human_bytes(b.bloat_bytes)})",
            object=ix.qualified,
            detail=(f"{ix.name} on {ix.table_qualified} takes {human_bytes(b.real_bytes)}; its live entries need "
                    f"about {human_bytes(b.real_bytes - b.bloat_bytes)} at fillfactor {b.fillfactor} "
                    f"(estimate from pg_stats; warning above {ctx.thresholds.bloat_warning:.0%}, error above "
                    f"{ctx.thresholds.bloat_critical:.0%}, at least {human_bytes(ctx.thresholds.bloat_min_bytes)})."),
            fix=reindex(ix),
            evidence={"table": ix.table_qualified, "size_bytes": b.real_bytes, "bloat_bytes": b.bloat_bytes,
                      "bloat_ratio": round(b.bloat_ratio, 4), "fillfactor": b.fillfactor}))
    return out
