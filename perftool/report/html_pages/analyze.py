"""The `analyze` page: score gauge with the per-area deductions, time by statement and by table as
bar charts, the top statements with links to their findings. Cache, seq-scan and index-health
sections follow as the generic tables (with links to the findings on their objects)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from perftool.report.html_pages import FindingLinks, PagePart, bar_chart, cell, section_table
from perftool.report.model import Report
from perftool.report.values import format_value, human_ms

GRADES = ((90, "good"), (70, "fair"), (0, "poor"))


@dataclass
class Gauge:
    score: int
    grade: str
    arc: str          # SVG path of the filled part of the half circle
    track: str        # SVG path of the whole half circle


def gauge(score: int) -> Gauge:
    cx, cy, r = 110, 110, 90
    fraction = max(0.0, min(1.0, score / 100))
    angle = math.pi * (1 - fraction)
    x, y = cx + r * math.cos(angle), cy - r * math.sin(angle)
    track = f"M {cx - r} {cy} A {r} {r} 0 0 1 {cx + r} {cy}"
    arc = f"M {cx - r} {cy} A {r} {r} 0 0 1 {x:.2f} {y:.2f}" if fraction > 0 else ""
    grade = next(g for bar, g in GRADES if score >= bar)
    return Gauge(score, grade, arc, track)


def parts(report: Report, links: FindingLinks) -> list[PagePart]:
    out = []
    score = report.data.get("score")
    if score:
        areas = [{"area": name, **a, "width": 200 * a["deduction"] / a["cap"] if a["cap"] else 0}
                 for name, a in score["areas"].items()]
        health = report.section("health")
        out.append(PagePart("analyze_score.html.j2", {
            "gauge": gauge(int(score["score"])), "areas": areas,
            "summary": health.rows if health else [],
            "workload": report.data.get("workload") or {},
        }, sections=("health", "score_by_area"), title="Health score", anchor="score"))
    statements = report.section("statements")
    if statements is not None:
        rows = []
        for r in statements.rows:
            rows.append({"rank": r.get("rank"), "query": cell(r.get("query"), "query"),
                         "calls": format_value(r.get("calls"), "int"), "mean": human_ms(r.get("mean_ms")),
                         "p95": human_ms(r.get("p95_ms")), "total": human_ms(r.get("total_ms")),
                         "share": format_value(r.get("share"), "pct"), "share_width": 60 * float(r.get("share") or 0),
                         "findings": links.for_queryid(r.get("queryid")), "anchor": f"statement-{r.get('rank')}"})
        chart = bar_chart("time-by-statement", "Time by statement", [
            {"label": f"#{r.get('rank')} {r.get('query') or ''}", "value": r.get("total_ms"),
             "value_text": f"{human_ms(r.get('total_ms'))} · {format_value(r.get('share'), 'pct')}",
             "href": f"#statement-{r.get('rank')}"} for r in statements.rows],
            caption="Total execution time of each statement in the window, with its share of all statements' time.")
        out.append(PagePart("analyze_statements.html.j2", {
            "section": statements, "rows": rows, "chart": chart}, sections=("statements",),
            title="Top statements", anchor="statements"))
    by_table = report.section("by_table")
    if by_table is not None and by_table.rows:
        chart = bar_chart("time-by-table", "Time by table", [
            {"label": r.get("table") or "", "value": r.get("total_ms"),
             "value_text": f"{human_ms(r.get('total_ms'))} · {format_value(r.get('share'), 'pct')}"}
            for r in by_table.rows], caption=by_table.note)
        out.append(PagePart("chart_and_table.html.j2", {"chart": chart, "table": section_table(by_table, links)},
                            sections=("by_table",), title="Time by table", anchor="time-by-table"))
    return out


