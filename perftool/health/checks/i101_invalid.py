"""I101 — invalid index."""

from __future__ import annotations

import re

from perftool.health.checks import CheckContext, check
from perftool.health.checks.fix_sql import drop_index, recreate_concurrently
from perftool.report.values import human_bytes

_LEFTOVER = re.compile(r"_cc(new|old)[0-9]*$")


@check(code="I101", severity="error", title="invalid index")
def invalid_indexes(ctx: CheckContext):
    """An index marked invalid (`pg_index.indisvalid = false`), usually left behind by a
    `CREATE INDEX CONCURRENTLY` or `REINDEX CONCURRENTLY` that failed (a unique build that met a
    duplicate, a deadlock, a cancelled statement, a lock timeout).

    Why it hurts: the planner never uses an invalid index, yet every INSERT and UPDATE still
    maintains it (when it is `indisready`), so it costs writes and disk for nothing. Worse,
    `CREATE INDEX CONCURRENTLY IF NOT EXISTS` sees the name taken and silently keeps the broken one.

    How to fix: drop it without blocking writes and build it again; a `_ccnew` / `_ccold` index is
    the leftover of a failed REINDEX CONCURRENTLY and is only dropped. For a unique index, remove
    the duplicate values first or the build fails again.
    """
    out = []
    for t in ctx.catalog.tables:
        for ix in t.indexes:
            if ix.is_valid:
                continue
            leftover = bool(_LEFTOVER.search(ix.name))
            if ix.kind == "I":
                detail = ("A partitioned index is invalid until an index is attached for every partition "
                          "(CREATE INDEX ON ONLY ... then ALTER INDEX ... ATTACH PARTITION).")
                fix = ("-- attach an index of each partition that has none:\n"
                       "-- ALTER INDEX <this index> ATTACH PARTITION <the partition's index>;")
            else:
                detail = (f"indisvalid = false{'' if ix.is_ready else ', indisready = false'}: the planner never "
                          f"uses it{', but every write still maintains it' if ix.is_ready else ''} "
                          f"({human_bytes(ix.size_bytes)}). Definition: {ix.definition}")
                if leftover:
                    detail += " It is the leftover of a failed REINDEX CONCURRENTLY: drop it."
                fix = drop_index(ix) if leftover else drop_index(ix) + "\n" + recreate_concurrently(ix)
            out.append(ctx.finding(
                "I101", title=f"invalid index {ix.qualified}", object=ix.qualified, detail=detail, fix=fix,
                evidence={"table": ix.table_qualified, "size_bytes": ix.size_bytes, "is_ready": ix.is_ready,
                          "definition": ix.definition}))
    return out
