"""I202 — index not declared in the index set."""

from __future__ import annotations

from perftool.health.checks import CheckContext, check, scans
from perftool.health.checks.fix_sql import drop_index, drop_step
from perftool.health.index_sets import declared_from_index
from perftool.report.model import Finding
from perftool.report.values import human_bytes


@check("I202", needs_index_set=True)
def undeclared_indexes(ctx: CheckContext) -> list[Finding]:
    out = []
    for item in ctx.drift().extra:
        a = item.actual
        assert a is not None
        d = declared_from_index(a)
        entry = "{columns: [" + ", ".join(c.text() for c in d.columns) + "]" + (", unique: true" if d.unique else "")
        entry += f", method: {d.method}" if d.method != "btree" else ""
        entry += f", where: \"{d.where}\"" if d.where else ""
        entry += "}"
        source = ctx.index_set.tables.get((a.schema, a.table)) if ctx.index_set else None
        source = source or (ctx.index_set.complete_schemas.get(a.schema) if ctx.index_set else None)
        out.append(ctx.finding(
            "I202", title=f"index {a.qualified} is not declared in the index set", object=a.qualified,
            detail=(f"{a.definition} ({human_bytes(a.size_bytes)}, {scans(a.idx_scan)}) matches no declaration"
                    f"{' for ' + item.table if item.table else ''}. To keep it, declare it under {a.table}: {entry}"),
            fix="-- if it is not wanted (else declare it in the index set):\n" + drop_index(a), steps=[drop_step(a)],
            evidence={"table": item.table, "definition": a.definition, "size_bytes": a.size_bytes,
                      "idx_scan": a.idx_scan, "declaration": entry,
                      **({"file": source.file, "line": source.line} if source else {})}))
    return out
