"""`perftool explain --compare A B`: two plans of one statement, node by node, as a CI gate.

Nodes are matched scan by scan on the table they read (relation and alias), other nodes on their
type and position among the nodes of that type; a node without a counterpart is new or gone.
P112 findings use the time-share bands of P101: a node whose own time grew by ≥ 10 / 40 / 90 % of
plan A's total is info / warning / error (estimated cost instead of time when a plan has no
ANALYZE figures; timed changes under 1 ms are noise), and a scan that became a Seq Scan is a
warning. `--fail-on` turns them into exit 1.
"""

from __future__ import annotations

from typing import Any

from perftool.plans.model import Plan, PlanNode
from perftool.plans.tips import MIN_NODE_MS, SHARE_BANDS
from perftool.report.model import Column, Finding, Report, Section, Severity
from perftool.report.values import human_ms

COMPARE_COLUMNS = [
    Column("node", "node (B)"), Column("before", "node (A)"), Column("own_a", "own A"), Column("own_b", "own B"),
    Column("change", "change"), Column("rows_a", "rows A", "int"), Column("rows_b", "rows B", "int"),
]


def _key(node: PlanNode, seen: dict[tuple, int]) -> tuple:
    if node.relation or node.cte_name:
        base: tuple = ("scan", node.relation or node.cte_name, node.alias)
    else:
        base = ("node", node.node_type)
    seen[base] = seen.get(base, 0) + 1
    return (*base, seen[base])


def match(a: Plan, b: Plan) -> list[tuple[PlanNode | None, PlanNode | None]]:
    """(node of A, node of B) pairs in B's order, then A's nodes that B lost."""
    seen_a: dict[tuple, int] = {}
    by_key = {_key(n, seen_a): n for n in a.nodes()}
    seen_b: dict[tuple, int] = {}
    pairs: list[tuple[PlanNode | None, PlanNode | None]] = []
    used: set[int] = set()
    for n in b.nodes():
        other = by_key.get(_key(n, seen_b))
        if other is not None:
            used.add(other.id)
        pairs.append((other, n))
    pairs += [(n, None) for n in a.nodes() if n.id not in used]
    return pairs


def _own(node: PlanNode | None, timed: bool) -> float | None:
    """The node's own time (both plans ran), else its own estimated cost."""
    if node is None:
        return None
    if timed:
        return node.exclusive_ms
    below = sum(c.total_cost or 0.0 for c in node.children)
    return None if node.total_cost is None else max(node.total_cost - below, 0.0)


def compare_report(path_a: str, plan_a: Plan, path_b: str, plan_b: Plan) -> Report:
    timed = plan_a.analyzed and plan_b.analyzed
    unit = "ms" if timed else "cost"
    total_a = (plan_a.total_ms if timed else plan_a.root.total_cost) or 0.0
    total_b = (plan_b.total_ms if timed else plan_b.root.total_cost) or 0.0
    rows: list[dict[str, Any]] = []
    findings: list[Finding] = []
    for na, nb in match(plan_a, plan_b):
        own_a, own_b = _own(na, timed), _own(nb, timed)
        delta = (own_b or 0.0) - (own_a or 0.0)
        rows.append({
            "node": nb.label() if nb else "(gone)", "before": na.label() if na else "(new)",
            "own_a": _fmt(own_a, timed), "own_b": _fmt(own_b, timed), "own_a_value": own_a, "own_b_value": own_b,
            "change": _fmt_delta(delta, timed) if na and nb else ("new" if nb else "gone"),
            "rows_a": na.rows_total if na and na.rows_total is not None else (na.plan_rows if na else None),
            "rows_b": nb.rows_total if nb and nb.rows_total is not None else (nb.plan_rows if nb else None),
        })
        if nb is not None and total_a > 0 and delta > 0 and (not timed or delta >= MIN_NODE_MS):
            share = delta / total_a
            sev = next((s for bar, s in SHARE_BANDS if share >= bar), None)
            if sev is not None:
                findings.append(Finding(
                    code="P112", severity=sev,
                    title=f"{nb.label()}: own {unit} up by {share:.0%} of plan A's total",
                    object=nb.label(),
                    detail=(f"{_fmt(own_a, timed) or '—'} → {_fmt(own_b, timed)} "
                            f"(plan A's total {_fmt(total_a, timed)})."),
                    fix="Compare the two plans' estimates and indexes on this node (perftool explain on each).",
                    evidence={"node": nb.label(), "before": na.label() if na else None, "own_a": own_a,
                              "own_b": own_b, "share_of_a": round(share, 4), "unit": unit}))
        if na is not None and nb is not None and nb.node_type == "Seq Scan" and na.node_type != "Seq Scan" \
                and na.is_scan:
            findings.append(Finding(
                code="P112", severity=Severity.warning, title=f"{na.label()} became {nb.label()}",
                object=nb.label(), detail="The scan no longer uses an index.",
                fix="Check the index still exists and is valid, and the statistics (ANALYZE) of the table.",
                evidence={"node": nb.label(), "before": na.label(), "unit": unit}))
    change = (total_b - total_a) / total_a if total_a else None
    title = (f"{path_a} → {path_b}: {_fmt(total_a, timed)} → {_fmt(total_b, timed)}"
             + (f" ({change:+.0%})" if change is not None else ""))
    report = Report(command="explain --compare", sections=[Section(key="compare", title=title,
                                                                   columns=COMPARE_COLUMNS, rows=rows)],
                    findings=findings)
    report.data["compare"] = {"a": path_a, "b": path_b, "unit": unit, "total_a": total_a, "total_b": total_b,
                              "change": None if change is None else round(change, 4),
                              "settings_a": plan_a.settings, "settings_b": plan_b.settings}
    if not timed:
        report.notes.append("a plan has no ANALYZE figures: compared on estimated cost")
    return report


def _fmt(value: float | None, timed: bool) -> str | None:
    if value is None:
        return None
    return human_ms(value) if timed else f"{value:,.2f}"


def _fmt_delta(delta: float, timed: bool) -> str:
    sign = "+" if delta >= 0 else "−"
    return sign + (_fmt(abs(delta), timed) or "")
