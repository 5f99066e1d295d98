"""I108 — index whose leading column is mostly NULL."""

from __future__ import annotations

from perftool.health.checks import CheckContext, check, judged_column
from perftool.health.checks.fix_sql import create_step, drop_index, drop_step, index_name, key_parts
from perftool.report.model import Finding
from perftool.report.values import human_bytes

MIN_NULL_FRACTION = 0.5   # pg_stats.null_frac of the leading column
MIN_ROWS = 10_000


@check("I108", needs_statistics=True)
def mostly_null_indexes(ctx: CheckContext) -> list[Finding]:
    out = []
    for t in ctx.catalog.tables:
        if t.rows < MIN_ROWS:
            continue
        for ix in t.indexes:
            name = judged_column(ix)
            if name is None:
                continue
            col = t.columns.get(name)
            if col is None or col.null_frac is None or col.null_frac < MIN_NULL_FRACTION:
                continue
            predicate = f"{ix.columns[0].definition} IS NOT NULL"
            new = create_step(t.schema, t.name, key_parts(ix), include=ix.include, where=predicate,
                              name=index_name(t.name, [c.name or "expr" for c in ix.columns], "notnull_idx"))
            saved = int(ix.size_bytes * col.null_frac)
            out.append(ctx.finding(
                "I108", title=f"index {ix.qualified} is mostly NULLs ({col.null_frac:.0%} of {col.name})",
                object=ix.qualified,
                detail=(f"{col.null_frac:.0%} of {t.qualified}.{col.name} is NULL ({t.rows:,.0f} rows); {ix.name} "
                        f"({human_bytes(ix.size_bytes)}) stores them all. A partial index WHERE {predicate} "
                        f"would be about {human_bytes(ix.size_bytes - saved)}."),
                fix=new.sql + "\n" + drop_index(ix), steps=[new, drop_step(ix)],
                evidence={"table": t.qualified, "column": col.name, "null_frac": round(col.null_frac, 4),
                          "size_bytes": ix.size_bytes, "estimated_saving_bytes": saved, "idx_scan": ix.idx_scan}))
    return out
