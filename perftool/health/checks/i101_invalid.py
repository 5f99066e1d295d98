"""I101 — invalid index."""

from __future__ import annotations

import re

from perftool.health.checks import CheckContext, check
from perftool.health.checks.fix_sql import drop_index, recreate_concurrently
from perftool.report.model import Finding
from perftool.report.values import human_bytes

_LEFTOVER = re.compile(r"_cc(new|old)[0-9]*$")


@check("I101")
def invalid_indexes(ctx: CheckContext) -> list[Finding]:
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
