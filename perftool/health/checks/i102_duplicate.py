"""I102 — duplicate index."""

from __future__ import annotations

from perftool.catalog.schema import IndexInfo
from perftool.health.checks import CheckContext, check, scans
from perftool.health.checks.fix_sql import drop_index, drop_step
from perftool.report.model import Finding
from perftool.report.values import human_bytes


def keeper_rank(ix: IndexInfo) -> tuple:
    """The index of a duplicate group to keep: primary key, then constraint, then unique, then
    the most used, then the oldest."""
    return (not ix.is_primary, not ix.backs_constraint, not ix.is_unique, -ix.idx_scan, ix.oid)


def comparable(ix: IndexInfo) -> bool:
    """Indexes the duplicate and overlap checks compare: valid, not an attached partition index
    (its partitioned parent is compared), not behind an exclusion constraint (operators differ)."""
    return ix.is_valid and not ix.is_attached and not ix.is_exclusion


@check("I102")
def duplicate_indexes(ctx: CheckContext) -> list[Finding]:
    out = []
    for t in ctx.catalog.tables:
        groups: dict[tuple, list[IndexInfo]] = {}
        for ix in t.indexes:
            if comparable(ix):
                groups.setdefault(ix.identity(), []).append(ix)
        for members in groups.values():
            if len(members) < 2:
                continue
            members.sort(key=keeper_rank)
            keep = members[0]
            for ix in members[1:]:
                constraint = f" (constraint {ix.constraint_name})" if ix.backs_constraint else ""
                out.append(ctx.finding(
                    "I102", title=f"duplicate index {ix.qualified}: same as {keep.name}",
                    object=ix.qualified,
                    detail=(f"{ix.name}{constraint} indexes {t.qualified} ({ix.columns_text()})"
                            f"{' WHERE ' + ix.predicate if ix.predicate else ''} exactly like {keep.name}"
                            f"{' (' + _role(keep) + ')' if _role(keep) else ''}. It takes "
                            f"{human_bytes(ix.size_bytes)} and has {scans(ix.idx_scan)}; {keep.name} has "
                            f"{scans(keep.idx_scan)}."),
                    fix=drop_index(ix),
                    # the kept copy may be dropped instead when another finding drops it too
                    # (fix_compose: never both copies) — only when the two are alike
                    steps=[drop_step(ix, keep=keep, alternative=drop_index(keep) if alike(ix, keep) else "")],
                    evidence={"table": t.qualified, "duplicate_of": keep.qualified, "size_bytes": ix.size_bytes,
                              "idx_scan": ix.idx_scan, "kept_idx_scan": keep.idx_scan,
                              "kept_size_bytes": keep.size_bytes}))
    return out


def alike(a: IndexInfo, b: IndexInfo) -> bool:
    """Two copies either of which can stay: the same standing as primary key, constraint, unique."""
    return keeper_rank(a)[:3] == keeper_rank(b)[:3]


def _role(ix: IndexInfo) -> str:
    if ix.is_primary:
        return "the primary key"
    if ix.backs_constraint:
        return f"constraint {ix.constraint_name}"
    return "unique" if ix.is_unique else ""
