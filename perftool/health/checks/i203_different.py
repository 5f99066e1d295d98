"""I203 — index differs from its declaration."""

from __future__ import annotations

from dataclasses import replace

from perftool.db.sql import statement_text
from perftool.health.checks import CheckContext, check
from perftool.health.checks.fix_sql import drop_index, drop_step, index_name
from perftool.health.checks.i201_missing import declared_step, source_evidence
from perftool.report.model import Finding


@check("I203", needs_index_set=True)
def different_indexes(ctx: CheckContext) -> list[Finding]:
    out = []
    for item in ctx.drift().different:
        d, a = item.declared, item.actual
        assert d is not None and a is not None
        if d.name and d.name != a.name:
            new = declared_step(d)
        else:
            temp = index_name(d.table, [c.column or "expr" for c in d.columns], "new_idx")
            new = declared_step(replace(d, name=temp), declared=False)
        steps = [new.sql, drop_index(a)]
        if not (d.name and d.name != a.name) and d.name:
            steps.append(statement_text("chk_rename_index", schema=d.schema, index=new.name, new_name=d.name))
        what = "; ".join(item.differences)
        out.append(ctx.finding(
            "I203", title=f"index {a.qualified} differs from its declaration: {what}", object=a.qualified,
            detail=f"{d.source}: declares {d.describe()}; the database has {a.definition}. Differences: {what}.",
            fix="\n".join(steps), steps=[new, drop_step(a)],
            evidence={"table": item.table, "declared": d.describe(), "actual": a.definition,
                      "differences": item.differences, **source_evidence(d)}))
    return out
