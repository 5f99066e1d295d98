"""I107 — btree index on an array column."""

from __future__ import annotations

from perftool.health.checks import CheckContext, check, scans
from perftool.health.checks.fix_sql import KeyPart, create_step, drop_index, drop_step
from perftool.report.model import Finding
from perftool.report.values import human_bytes


@check("I107")
def array_btree_indexes(ctx: CheckContext) -> list[Finding]:
    out = []
    for t in ctx.catalog.tables:
        array_columns = {name for name, col in t.columns.items() if col.is_array}
        if not array_columns:   # most tables: nothing to look for in their indexes
            continue
        for ix in t.indexes:
            if ix.method != "btree" or not ix.is_valid or ix.is_attached:
                continue
            arrays = [c.name for c in ix.columns if c.name in array_columns]
            if not arrays:
                continue
            gin = create_step(t.schema, t.name, [KeyPart(column=c) for c in arrays], method="gin",
                              where=ix.predicate)
            fix, steps = gin.sql + "\n" + drop_index(ix), [gin, drop_step(ix)]
            if ix.backs_constraint or ix.is_unique:
                fix, steps = "-- " + ix.name + " enforces uniqueness: keep it if you need that\n" + gin.sql, [gin]
            out.append(ctx.finding(
                "I107", title=f"btree index {ix.qualified} on array column {', '.join(arrays)}", object=ix.qualified,
                detail=(f"{ix.name} on {t.qualified} ({ix.columns_text()}) compares whole arrays: it cannot serve "
                        f"@>, && or = ANY(...). It takes {human_bytes(ix.size_bytes)}, {scans(ix.idx_scan)}."),
                fix=fix, steps=steps,
                evidence={"table": t.qualified, "columns": arrays,
                          "types": [t.columns[c].type for c in arrays], "size_bytes": ix.size_bytes,
                          "idx_scan": ix.idx_scan}))
    return out
