"""I104 — unused index."""

from __future__ import annotations

from perftool.catalog.schema import supports_foreign_key
from perftool.health.checks import CheckContext, check, scans, unused_on_every_host
from perftool.health.checks.fix_sql import drop_step
from perftool.report.model import Finding, Severity
from perftool.report.values import human_bytes


def _age(seconds: float) -> str:
    return f"{seconds / 86400:,.1f} days" if seconds >= 86400 else f"{seconds / 3600:,.1f} h"


@check("I104")
def unused_indexes(ctx: CheckContext) -> list[Finding]:
    th = ctx.thresholds
    age = ctx.catalog.stats_age_s
    unused = []
    for t in ctx.catalog.tables:
        for ix in t.indexes:
            if (not ix.is_valid or ix.is_attached or ix.is_unique or ix.backs_constraint
                    or ix.idx_scan > th.unused_index_max_scans):   # used here: used somewhere
                continue
            per_host = ctx.scans(ix)
            if not unused_on_every_host(per_host, th.unused_index_max_scans):
                continue
            serves = [fk for fk in t.foreign_keys if supports_foreign_key(ix, fk)]
            if any(not any(supports_foreign_key(o, fk) for o in t.indexes if o is not ix) for fk in serves):
                continue
            unused.append((t, ix, per_host))
    window_s = th.unused_index_min_stats_days * 86400
    if unused and window_s > 0 and (age is None or age < window_s):
        # too short a window: a weekly or monthly job may not have run yet. Say so once (and write
        # no finding: on a large schema that is tens of thousands of DROP statements not shown).
        ctx.count_note("I104 silent", len(unused), lambda total: (
            f"I104 (unused index) silent: the scan counters are {_age(age) if age is not None else 'of unknown age'} "
            f"old, less than unused_index_min_stats_days ({th.unused_index_min_stats_days:g} days); "
            f"{total} index(es) have ≤ {th.unused_index_max_scans:,} scans so far "
            "(thresholds: unused_index_min_stats_days in perftool.yaml reports them sooner)"))
        return []
    since = (f"since the statistics reset at {ctx.catalog.stats_reset:%Y-%m-%d %H:%M}" if ctx.catalog.stats_reset
             else "since the server's statistics began")
    window = f" The counters are {_age(age)} old." if age is not None else ""
    out = []
    for t, ix, per_host in unused:
        if len(per_host) == 1:
            used = f"has {scans(next(iter(per_host.values())))} {since} (threshold ≤ {th.unused_index_max_scans:,})"
        else:
            used = (f"has {', '.join(f'{scans(n)} on {h}' for h, n in per_host.items())} {since} "
                    f"(threshold ≤ {th.unused_index_max_scans:,} on every host)")
        small = ix.size_bytes < th.unused_index_min_bytes
        drop = drop_step(ix)
        out.append(ctx.finding(
            "I104", title=f"unused index {ix.qualified} ({human_bytes(ix.size_bytes)})", object=ix.qualified,
            severity=Severity.info if small else Severity.warning,
            detail=(f"{ix.name} on {t.qualified} ({ix.columns_text()}) takes {human_bytes(ix.size_bytes)} and "
                    f"{used}.{window}" + (" Small, but still written on every insert." if small else "")),
            fix=drop.sql, steps=[drop],
            evidence={"table": t.qualified, "size_bytes": ix.size_bytes, "idx_scan": per_host,
                      "stats_reset": ctx.catalog.stats_reset, "stats_age_s": age,
                      "max_scans": th.unused_index_max_scans}))
    return out
