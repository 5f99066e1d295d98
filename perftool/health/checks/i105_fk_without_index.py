"""I105 — foreign key without a supporting index."""

from __future__ import annotations

from perftool.catalog.schema import supports_foreign_key
from perftool.health.checks import CheckContext, check
from perftool.health.checks.fix_sql import KeyPart, create_step
from perftool.report.model import Finding
from perftool.report.values import human_bytes


@check("I105")
def foreign_keys_without_index(ctx: CheckContext) -> list[Finding]:
    out = []
    for t in ctx.catalog.tables:
        for fk in t.foreign_keys:
            if any(supports_foreign_key(ix, fk) for ix in t.indexes):
                continue
            step = create_step(t.schema, t.name, [KeyPart(column=c) for c in fk.columns])
            fix = step.sql
            if t.kind == "p":
                fix = ("-- partitioned table: CONCURRENTLY is not supported on the parent; create it ON ONLY the "
                       "parent, then CONCURRENTLY on each partition, then ALTER INDEX ... ATTACH PARTITION\n" + fix)
            cols = ", ".join(fk.columns)
            out.append(ctx.finding(
                "I105", title=f"foreign key {fk.name} on {t.qualified}({cols}) has no index", object=fk.qualified,
                detail=(f"{t.qualified}({cols}) references {fk.ref_schema}.{fk.ref_table}({', '.join(fk.ref_columns)}) "
                        f"and no index starts with {'that column' if len(fk.columns) == 1 else 'those columns'}: "
                        f"lookups by it and every delete or key update on {fk.ref_table} scan {t.qualified} "
                        f"({t.rows:,.0f} rows, {human_bytes(t.size_bytes)})."),
                fix=fix, steps=[step],
                evidence={"table": t.qualified, "columns": fk.columns,
                          "references": f"{fk.ref_schema}.{fk.ref_table}", "ref_columns": fk.ref_columns,
                          "table_rows": int(t.rows), "table_bytes": t.size_bytes, "seq_scan": t.seq_scan}))
    return out
