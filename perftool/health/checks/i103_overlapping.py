"""I103 — overlapping (redundant prefix) index."""

from __future__ import annotations

from perftool.catalog.schema import IndexInfo
from perftool.ddl import IndexSpec, from_index
from perftool.health.checks import CheckContext, check, scans
from perftool.health.checks.fix_sql import drop_index, drop_step
from perftool.health.checks.i102_duplicate import comparable
from perftool.report.model import Finding
from perftool.report.values import human_bytes


def covered_by(small: IndexInfo, big: IndexInfo, specs: dict[int, IndexSpec] | None = None) -> bool:
    """Whether btree `big` serves every lookup `small` serves (IndexSpec.prefix_of, the one rule:
    same predicate, `small`'s key a left prefix of `big`'s with the same operator classes and
    collations, in the same order or all reversed, `small`'s INCLUDE columns all in `big`); not
    the same index, not a duplicate (I102). `specs`: the IndexSpecs already built, by index oid
    (a table's indexes are compared pairwise)."""
    if small is big or small.method != "btree" or big.method != "btree":
        return False
    if len(small.columns) > len(big.columns) or (small.predicate or "") != (big.predicate or ""):
        return False              # cheap necessary conditions of prefix_of, before building specs
    if not small.columns or not big.columns or small.columns[0].definition != big.columns[0].definition:
        return False
    if len(small.columns) == len(big.columns) and not set(small.include) < set(big.include):
        return False              # same key: redundant only when big includes strictly more
    if specs is None:
        return from_index(small).prefix_of(from_index(big))
    for ix in (small, big):
        if ix.oid not in specs:
            specs[ix.oid] = from_index(ix)
    return specs[small.oid].prefix_of(specs[big.oid])


@check("I103")
def overlapping_indexes(ctx: CheckContext) -> list[Finding]:
    out = []
    specs: dict[int, IndexSpec] = {}
    for t in ctx.catalog.tables:
        usable = [ix for ix in t.indexes if comparable(ix)]
        for small in usable:
            if small.is_unique or small.backs_constraint:
                continue
            bigger = [big for big in usable if covered_by(small, big, specs)]
            if not bigger:
                continue
            big = min(bigger, key=lambda b: (len(b.columns), b.size_bytes, b.name))
            out.append(ctx.finding(
                "I103", title=f"index {small.qualified} is a prefix of {big.name}", object=small.qualified,
                detail=(f"{small.name} ({small.columns_text()}) is covered by {big.name} ({big.columns_text()})"
                        f"{' with the same predicate ' + small.predicate if small.predicate else ''}. "
                        f"{small.name}: {human_bytes(small.size_bytes)}, {scans(small.idx_scan)}; "
                        f"{big.name}: {human_bytes(big.size_bytes)}, {scans(big.idx_scan)}."),
                fix=drop_index(small), steps=[drop_step(small, keep=big)],
                evidence={"table": t.qualified, "covered_by": big.qualified, "size_bytes": small.size_bytes,
                          "idx_scan": small.idx_scan, "covering_size_bytes": big.size_bytes,
                          "covering_idx_scan": big.idx_scan}))
    return out
