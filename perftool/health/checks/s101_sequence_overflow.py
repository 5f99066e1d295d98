"""S101 — sequence close to overflow."""

from __future__ import annotations

from perftool.catalog.schema import SequenceInfo
from perftool.db.sql import statement_text
from perftool.health.checks import CheckContext, check
from perftool.report.model import Finding, Severity

TYPE_RANGE = {
    "smallint": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}


def sequence_usage(s: SequenceInfo) -> tuple[float, int, str] | None:
    """(fraction used, values left, what limits it) — the sequence's own range, narrowed by the
    type of the column it feeds; None before the first nextval or for a cycling sequence."""
    if s.last_value is None or s.cycle or s.increment == 0:
        return None
    lo, hi = s.min_value, s.max_value
    limit_by = "sequence"
    col = TYPE_RANGE.get(s.owner_type or "")
    if col is not None:
        if s.increment > 0 and col[1] < hi:
            hi, limit_by = col[1], "column"
        if s.increment < 0 and col[0] > lo:
            lo, limit_by = col[0], "column"
    span = hi - lo
    if span <= 0:
        return None
    if s.increment > 0:
        used, left = (s.last_value - lo) / span, (hi - s.last_value) // s.increment
    else:
        used, left = (hi - s.last_value) / span, (s.last_value - lo) // -s.increment
    return max(0.0, min(used, 1.0)), max(int(left), 0), limit_by


@check("S101")
def sequences_near_overflow(ctx: CheckContext) -> list[Finding]:
    th = ctx.thresholds
    out = []
    for s in ctx.catalog.sequences:
        usage = sequence_usage(s)
        if usage is None:
            continue
        used, left, limit_by = usage
        if used <= th.sequence_warning:
            continue
        severity = Severity.error if used > th.sequence_critical else Severity.warning
        fixes = []
        owner = f"{s.owner_schema}.{s.owner_table}.{s.owner_column}" if s.owner_table else None
        if s.owner_table and s.owner_column and s.owner_type in ("smallint", "integer"):
            fixes.append("-- rewrites the table under an ACCESS EXCLUSIVE lock: schedule it, or add a bigint column, "
                         "backfill in batches and swap")
            fixes.append(statement_text("chk_column_to_bigint", schema=s.owner_schema or s.schema,
                                        table=s.owner_table, column=s.owner_column))
        if s.data_type in ("smallint", "integer"):
            fixes.append(statement_text("chk_sequence_as_bigint", schema=s.schema, sequence=s.name))
        if not fixes:
            fixes.append("-- the sequence and its column are bigint already: raise MAXVALUE or plan a new key")
        limit = (f"the {s.owner_type} column {owner}" if limit_by == "column"
                 else f"the {s.data_type} sequence's maximum")
        out.append(ctx.finding(
            "S101", severity=severity,
            title=f"sequence {s.qualified} has used {used:.0%} of its range ({left:,} values left)",
            object=s.qualified,
            detail=(f"last value {s.last_value:,}; the limit is {limit}. Warning above {th.sequence_warning:.0%}, "
                    f"error above {th.sequence_critical:.0%}." + (f" It feeds {owner}." if owner else "")),
            fix="\n".join(fixes),
            evidence={"last_value": s.last_value, "data_type": s.data_type, "max_value": s.max_value,
                      "min_value": s.min_value, "increment": s.increment, "used": round(used, 6),
                      "values_left": left, "limited_by": limit_by, "column": owner, "column_type": s.owner_type}))
    return out
