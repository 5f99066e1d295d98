"""The `explain` page: each plan as a tree of node rows (indented by depth) with the node's own
(exclusive) time as a bar and a text label (ms and share of the total), its estimate factor and the
rows its filters removed; each P1xx tip is linked from the node it is about; the what-if proof
(HypoPG) as estimated cost before → after."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from perftool.report.html_pages import FindingLinks, LinkedFinding, PagePart, paired_chart
from perftool.report.model import Report
from perftool.report.values import format_value

SHARE_WIDTH = 160   # the exclusive-time bar at 100 %
INDENT_PX = 18      # per tree level


@dataclass
class NodeRow:
    node_id: Any
    depth: int
    label: str
    anchor: str
    own: str            # "12.3 ms · 45%", "" when the plan was not run
    share: float | None
    width: float
    uncertain: bool
    total: str
    rows: str
    loops: str
    estimate: str
    underestimated: bool | None
    removed: str
    buffers: str
    tips: list[LinkedFinding] = field(default_factory=list)


@dataclass
class Proof:
    source: str
    indexes: list[str]
    before: str
    after: str
    saved: str
    changes: list[tuple[str, str]]
    error: str


def _cost(v: Any) -> str:
    return "" if v is None else f"{float(v):,.2f}"


def _tips_by_node(report: Report, links: FindingLinks, plan_no: int, several: bool) -> dict[str, list[LinkedFinding]]:
    """P1xx findings keyed by the id of the node they are about (evidence node_id); with several
    plans the finding's object starts with "plan N: "."""
    out: dict[str, list[LinkedFinding]] = {}
    for item in links.items:
        f = item.finding
        node_id = (f.evidence or {}).get("node_id")
        if not f.code.startswith("P") or node_id is None:
            continue
        if several and not (f.object or "").startswith(f"plan {plan_no}: "):
            continue
        out.setdefault(str(node_id), []).append(item)
    return out


def _node_rows(rows: list[dict[str, Any]], tips: dict[str, list[LinkedFinding]], prefix: str) -> list[NodeRow]:
    out = []
    for r in rows:
        share = r.get("share")
        own = ""
        if r.get("own") is not None:
            own = str(r["own"]) + ("" if share is None else f" · {format_value(share, 'pct')}")
        factor = r.get("estimate_factor")
        out.append(NodeRow(
            node_id=r.get("id"), depth=int(r.get("depth") or 0), label=str(r.get("node") or ""),
            anchor=f"{prefix}node-{r.get('id')}", own=own, share=share,
            width=0.0 if share is None else max(1.0, SHARE_WIDTH * min(1.0, float(share))),
            uncertain=bool(r.get("time_uncertain")),
            total=format_value(r.get("inclusive_ms"), "ms"), rows=format_value(r.get("rows"), "int"),
            loops=format_value(r.get("loops"), "int"), estimate=str(r.get("estimate") or ""),
            underestimated=None if factor is None or str(r.get("estimate")) == "ok"
            else "under" in str(r.get("estimate")),
            removed=format_value(r.get("removed"), "int") if r.get("removed") else "",
            buffers=str(r.get("buffers") or ""), tips=tips.get(str(r.get("id")), [])))
    return out


def _proofs(statement: dict[str, Any]) -> list[Proof]:
    out = []
    for p in statement.get("proofs") or []:
        saved = p.get("saved_share")
        out.append(Proof(str(p.get("source") or ""), list(p.get("indexes") or []), _cost(p.get("before_cost")),
                         _cost(p.get("after_cost")), "" if saved is None else format_value(saved, "pct"),
                         [(str(c.get("before")), str(c.get("after"))) for c in p.get("changes") or []],
                         str(p.get("error") or "")))
    return out


def parts(report: Report, links: FindingLinks) -> list[PagePart]:
    statements = report.data.get("statements") or []
    plans = [s for s in report.sections if s.key == "plan" or s.key.startswith("plan_")]
    several = len(plans) > 1
    out = []
    for n, section in enumerate(plans, 1):
        suffix = section.key[len("plan"):]
        prefix = f"plan{n}-" if several else ""
        statement = statements[n - 1] if n - 1 < len(statements) else {}
        nodes = _node_rows(section.rows, _tips_by_node(report, links, n, several), prefix)
        proofs = _proofs(statement)
        chart = None
        good = [p for p in statement.get("proofs") or [] if p.get("before_cost") is not None
                and p.get("after_cost") is not None]
        if good:
            chart = paired_chart(f"{prefix}whatif", "Estimated cost with the hypothetical indexes, before → after", [
                {"label": "; ".join(p.get("indexes") or []) or str(p.get("source")),
                 "before": p["before_cost"], "after": p["after_cost"], "before_text": _cost(p["before_cost"]),
                 "after_text": _cost(p["after_cost"]) + (
                     f" (−{float(p['saved_share']):.1%})" if p.get("saved_share") else "")}
                for p in good], caption="planner estimates (HypoPG); nothing was created.")
            chart.legend = [("before", "before (as is)"), ("after", "after (with the hypothetical index)")]
        timed = any(r.share is not None for r in nodes)
        out.append(PagePart("explain_plan.html.j2", {
            "section": section, "nodes": nodes, "statement": statement, "timed": timed,
            "proofs": proofs, "chart": chart, "indent": INDENT_PX, "share_width": SHARE_WIDTH,
            "part_id": f"{prefix}plan",
        }, sections=(section.key, f"whatif{suffix}"), title=section.title if several else "Plan",
            anchor=f"{prefix}plan"))
    return out
