"""I104 — unused index."""

from __future__ import annotations

from perftool.core.catalog import supports_foreign_key
from perftool.core.checks import CheckContext, check, scans
from perftool.core.checks.fix_sql import drop_index
from perftool.report.values import human_bytes

YOUNG_STATS_S = 7 * 86400  # counters younger than a week may not have seen a full business cycle


@check(code="I104", severity="warning", title="unused index")
def unused_indexes(ctx: CheckContext):
    """An index that (almost) no query uses: at most `unused_index_max_scans` (50) index scans
    since the statistics were last reset, on the primary **and on every replica configured** in
    perftool.yaml, and bigger than `unused_index_min_bytes` (1 MB). Never reported: unique
    indexes, indexes behind a constraint (primary key, unique, exclusion), and the only index that
    serves a foreign key (deleting or updating a referenced row looks the referencing rows up
    through it).

    Why it hurts: each index is written on every INSERT and on UPDATEs of its columns (and stops
    HOT updates), takes disk, cache, WAL and backup space, and slows VACUUM.

    How to fix: check the evidence (scans per host, the age of the counters: a monthly report may
    not have run yet), then `DROP INDEX CONCURRENTLY`. Keep the definition in your migrations in
    case you need it back.
    """
    th = ctx.thresholds
    out = []
    age = ctx.catalog.stats_age_s
    since = (f"since the statistics reset at {ctx.catalog.stats_reset:%Y-%m-%d %H:%M}" if ctx.catalog.stats_reset
             else "since the server's statistics began")
    for t in ctx.catalog.tables:
        for ix in t.indexes:
            if not ix.is_valid or ix.is_attached or ix.is_unique or ix.backs_constraint:
                continue
            if ix.size_bytes <= th.unused_index_min_bytes:
                continue
            per_host = ctx.scans(ix)
            if max(per_host.values()) > th.unused_index_max_scans:
                continue
            serves = [fk for fk in t.foreign_keys if supports_foreign_key(ix, fk)]
            if any(not any(supports_foreign_key(o, fk) for o in t.indexes if o is not ix) for fk in serves):
                continue
            if len(per_host) == 1:
                used = f"has {scans(next(iter(per_host.values())))} {since} (threshold ≤ {th.unused_index_max_scans:,})"
            else:
                used = (f"has {', '.join(f'{scans(n)} on {h}' for h, n in per_host.items())} {since} "
                        f"(threshold ≤ {th.unused_index_max_scans:,} on every host)")
            young = age is not None and age < YOUNG_STATS_S
            detail = f"{ix.name} on {t.qualified} ({ix.columns_text()}) takes {human_bytes(ix.size_bytes)} and {used}."
            if young:
                detail += (f" The counters are only {age / 3600:,.1f} h old: make sure they cover a full business "
                           "cycle (month-end jobs, reports) before dropping.")
            out.append(ctx.finding(
                "I104", title=f"unused index {ix.qualified} ({human_bytes(ix.size_bytes)})", object=ix.qualified,
                detail=detail, fix=drop_index(ix),
                evidence={"table": t.qualified, "size_bytes": ix.size_bytes, "idx_scan": per_host,
                          "stats_reset": ctx.catalog.stats_reset, "stats_age_s": age,
                          "max_scans": th.unused_index_max_scans}))
    return out
