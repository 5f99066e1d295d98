"""I201 — declared index missing."""

from __future__ import annotations

from dataclasses import replace

from perftool.db.sql import statement_text
from perftool.health.checks import CheckContext, check
from perftool.health.checks.fix_sql import FixStep, spec_step
from perftool.health.index_sets import DeclaredIndex
from perftool.report.model import Finding


def declared_create(d: DeclaredIndex) -> str:
    """CREATE INDEX CONCURRENTLY for a declaration (a primary key: its unique index, to promote)."""
    return declared_step(d).sql


def declared_step(d: DeclaredIndex, *, declared: bool | None = None) -> FixStep:
    """The FixStep of declared_create(d): its name is the declaration's (kept) when it has one."""
    return spec_step(d.spec(), name=d.name, declared=bool(d.name) if declared is None else declared)


def source_evidence(d: DeclaredIndex | None) -> dict:
    if d is None or d.source is None:
        return {}
    return {"file": d.source.file, "line": d.source.line}


@check("I201", needs_index_set=True)
def missing_indexes(ctx: CheckContext) -> list[Finding]:
    out = []
    for item in ctx.drift().missing:
        d = item.declared
        assert d is not None
        note = f" {item.note[0].upper() + item.note[1:]}." if item.note else ""
        step = declared_step(d)
        steps = [step]
        fix = step.sql
        if d.primary:
            name = d.name or f"{d.table}_pkey"
            step = declared_step(replace(d, name=name), declared=True)
            promote = statement_text("chk_add_primary_key_using_index", schema=d.schema, table=d.table,
                                     constraint=name, index=name)
            steps = [step, FixStep("add_primary_key", d.schema, d.table, name, promote, needs=step.needs,
                                   generated_name=False)]
            fix = step.sql + "\n" + promote
        if item.note.startswith("table "):
            fix = "-- create the table first (migration missing?)\n" + fix
        out.append(ctx.finding(
            "I201", title=f"declared index missing: {d.label}", object=d.label,
            detail=f"{d.source}: declares {d.describe()}; no index on {item.table} is equivalent.{note}",
            fix=fix, steps=steps,
            evidence={"table": item.table, "declared": d.describe(), "name": d.name, **source_evidence(d)}))
    return out
