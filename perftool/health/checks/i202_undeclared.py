"""I202 — index not declared in the index set."""

from __future__ import annotations

from perftool.health.checks import CheckContext, check, scans
from perftool.health.checks.fix_sql import drop_index, drop_step
from perftool.health.index_sets import declared_from_index
from perftool.report.values import human_bytes


@check(code="I202", severity="warning", title="index not declared", needs_index_set=True)
def undeclared_indexes(ctx: CheckContext):
    """An index on a table the index set covers (a table it lists, or any table of a schema whose
    file says `complete: true`) that no declaration matches. Indexes behind a primary key, unique
    or exclusion constraint are part of the table's definition and need not be declared (declare
    them to require them); invalid indexes are reported as I101.

    Why it hurts: an index nobody declared is an index nobody owns — created by hand during an
    incident, left by a reverted migration, or added in one environment only. It costs every
    write, and environments drift apart.

    How to fix: if the index is wanted, add it to the index set (`perftool indexes snapshot`
    prints every index in the set's format); if not, drop it.
    """
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
