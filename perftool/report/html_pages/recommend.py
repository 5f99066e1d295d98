"""The `indexes recommend` page: estimated cost before → after per statement and the saving of
each recommended index (bar charts), and the recommended indexes' size against the budget."""

from __future__ import annotations

from dataclasses import dataclass

from perftool.report.html_pages import BAR_MAX, FindingLinks, PagePart, paired_chart
from perftool.report.model import Report
from perftool.report.values import human_bytes, one_line

STATEMENT_BARS = 25  # the costliest statements; the table below lists them all
BUDGET_WIDTH = 2 * BAR_MAX


@dataclass
class Segment:
    label: str
    x: float
    width: float
    size_text: str
    series: str


def _cost(v) -> str:
    return "" if v is None else f"{float(v):,.0f}"


def _weighted(rec: dict, key: str) -> float:
    """Σ weight × cost over the statements a recommended index serves (the workload cost's terms)."""
    return sum(float(st.get("weight") or 0) * float(st.get(key) or 0) for st in rec.get("statements") or [])


def _saved(share) -> str:
    if share is None:
        return ""
    return f" (−{float(share):.1%})" if float(share) >= 0.0005 else " (no change)"


def parts(report: Report, links: FindingLinks) -> list[PagePart]:
    out = []
    workload = report.data.get("workload") or {}
    every = report.data.get("recommendations") or []
    table = report.section("recommendations")
    names = [str(r.get("index") or "") for r in table.rows] if table is not None and len(table.rows) == len(every) \
        else []
    # GIN/GiST from the pattern (unverified) have no cost after and are outside the budget: the
    # table lists them, the charts leave them out
    shown = [(r, names[n] if n < len(names) and names[n] else str(r["definition"]))
             for n, r in enumerate(every) if r.get("verification") != "pattern"]
    recs = [r for r, _label in shown]
    labels: list[str] = [label for _r, label in shown]
    if recs:
        by_index = paired_chart("cost-by-index", "Estimated cost of the statements each index serves, before → after", [
            {"label": label, "before": _weighted(r, "cost_before"), "after": _weighted(r, "cost_after"),
             "before_text": _cost(_weighted(r, "cost_before")),
             "after_text": _cost(_weighted(r, "cost_after"))
             + (f" · saves {float(r['saved_pct']):.1%} of the workload" if r.get("saved_pct") is not None else "")
             + f" · {human_bytes(r['size_bytes'])}"}
            for r, label in zip(recs, labels, strict=True)],
            caption="the statements that use the index, weighted as in the workload cost; after = with all the "
                    "recommended indexes.")
        total = sum(int(r["size_bytes"]) for r in recs)
        budget = workload.get("budget_bytes")
        scale = max(total, int(budget or 0)) or 1
        x = 0.0
        segments = []
        for n, (r, label) in enumerate(zip(recs, labels, strict=True)):
            w = BUDGET_WIDTH * int(r["size_bytes"]) / scale
            segments.append(Segment(one_line(label, 110), x, w, human_bytes(r["size_bytes"]), f"s{n % 4}"))
            x += w
        out.append(PagePart("recommend_budget.html.j2", {
            "chart": by_index, "segments": segments, "total": human_bytes(total),
            "budget": human_bytes(budget) if budget else "",
            "budget_x": BUDGET_WIDTH * int(budget) / scale if budget else None,
            "used": f"{total / budget:.0%}" if budget else "", "width": BUDGET_WIDTH + 20,
            "workload": workload, "cost_before": _cost(workload.get("cost_before")),
            "cost_after": _cost(workload.get("cost_after")),
        }, title="Indexes and budget", anchor="budget"))
    statements = report.section("statements")
    if statements is not None and statements.rows:
        rows = sorted(statements.rows, key=lambda r: -float(r.get("cost_before") or 0))[:STATEMENT_BARS]
        chart = paired_chart("cost-by-statement", "Estimated cost per statement, before → after", [
            {"label": r.get("query") or "", "before": r.get("cost_before"), "after": r.get("cost_after"),
             "before_text": _cost(r.get("cost_before")),
             "after_text": _cost(r.get("cost_after")) + _saved(r.get("saved_pct"))}
            for r in rows],
            caption="planner estimates for one execution, with HypoPG hypothetical indexes" + (
                f"; the {len(rows)} costliest of {len(statements.rows)} statements."
                if len(rows) < len(statements.rows) else "."))
        out.append(PagePart("chart.html.j2", {"chart": chart}, title="Cost per statement", anchor="cost-by-statement"))
    return out
