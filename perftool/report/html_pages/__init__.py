"""The pieces HTML pages are made of: page parts, tables, links to findings and chart geometry.

A command's page module (registered in perftool/report/html_format.py `PAGES`) has
`parts(report, links) -> list[PagePart]`: each part names a template under
perftool/report/templates and the values it shows, and the section keys it shows, which the
generic tables then leave out. Charts are geometry computed here and drawn as inline SVG by the
templates' macros (autoescaped like everything else); no chart library.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from perftool.report.model import Finding, Section
from perftool.report.values import format_value, one_line


@dataclass
class PagePart:
    template: str                      # e.g. "analyze.html.j2"
    context: dict[str, Any]
    sections: tuple[str, ...] = ()     # section keys this part shows: the generic tables skip them
    title: str = ""                    # its entry in the page's contents
    anchor: str = ""


@dataclass
class LinkedFinding:
    finding: Finding
    anchor: str


class FindingLinks:
    """Each finding's anchor on the page, and which findings name a statement (evidence queryid or
    queryids) or an object, so tables and charts can link to them."""

    def __init__(self, findings: list[Finding]):
        self.items = [LinkedFinding(f, f"finding-{i + 1}-{f.code}") for i, f in enumerate(findings)]
        self._by_queryid: dict[str, list[LinkedFinding]] = {}
        self._by_object: dict[str, list[LinkedFinding]] = {}
        self._by_code: dict[str, list[LinkedFinding]] = {}
        for item in self.items:
            self._by_code.setdefault(item.finding.code, []).append(item)
            ev = item.finding.evidence or {}
            ids = list(ev.get("queryids") or []) + ([ev["queryid"]] if ev.get("queryid") is not None else [])
            for q in dict.fromkeys(str(q) for q in ids):
                self._by_queryid.setdefault(q, []).append(item)
            if item.finding.object:
                self._by_object.setdefault(item.finding.object, []).append(item)

    def for_queryid(self, queryid: Any) -> list[LinkedFinding]:
        return self._by_queryid.get(str(queryid), []) if queryid is not None else []

    def for_object(self, name: Any) -> list[LinkedFinding]:
        return self._by_object.get(str(name), []) if isinstance(name, str) and name else []

    def for_row(self, row: dict[str, Any], section: Section) -> list[LinkedFinding]:
        """The findings about a table row: its statement's, its code's (a `code` column), then those
        whose object is one of its texts."""
        found = list(self.for_queryid(row.get("queryid")))
        if isinstance(row.get("code"), str):  # a row per check code (index health, the gate's checks)
            found += [item for item in self._by_code.get(row["code"], []) if item not in found]
        for c in section.columns:
            value = row.get(c.key)
            names = [value, *value.split(", ")] if isinstance(value, str) and ", " in value else [value]
            for name in names:  # a list of objects ("a, b") links to each one's findings
                for item in self.for_object(name):
                    if item not in found:
                        found.append(item)
        return found


@dataclass
class Cell:
    text: str
    numeric: bool = False
    full: str = ""          # the whole text when `text` is shortened (a statement)
    is_query: bool = False


@dataclass
class Table:
    key: str
    title: str
    note: str
    headers: list[tuple[str, bool]]     # (header, numeric)
    rows: list[tuple[list[Cell], list[LinkedFinding]]]
    has_links: bool


QUERY_WIDTH = 140


def cell(value: Any, kind: str) -> Cell:
    if kind == "query":
        full = " ".join(str(value or "").split())
        short = one_line(full, QUERY_WIDTH)
        return Cell(short, False, full if short != full else "", True)
    return Cell(format_value(value, kind), kind not in ("text", "query"))


def section_table(section: Section, links: FindingLinks) -> Table:
    rows = []
    for r in section.rows:
        rows.append(([cell(r.get(c.key), c.kind) for c in section.columns], links.for_row(r, section)))
    return Table(section.key, section.title, section.note, [(c.header, c.numeric) for c in section.columns],
                 rows, any(found for _, found in rows))


# ---- charts -------------------------------------------------------------------------------------

CHART_WIDTH = 760
ROW_HEIGHT = 22
LABEL_WIDTH = 300
BAR_X = LABEL_WIDTH + 10
BAR_MAX = 330
LABEL_CHARS = 42


@dataclass
class Bar:
    label: str          # shortened, drawn left of the bar
    title: str          # the whole label (tooltip and screen readers)
    value_text: str     # drawn right of the bar
    y: float
    width: float
    href: str = ""
    series: str = "a"   # CSS class: a / before / after / segment colours


@dataclass
class BarChart:
    key: str
    title: str
    bars: list[Bar]
    height: float
    width: int = CHART_WIDTH
    bar_x: int = BAR_X
    legend: list[tuple[str, str]] = field(default_factory=list)   # (series, text)
    caption: str = ""


def bar_chart(key: str, title: str, items: list[dict[str, Any]], caption: str = "") -> BarChart:
    """Horizontal bars, one per item: {"label", "value", "value_text", "href"?}; scaled to the largest."""
    top = max((float(i["value"] or 0) for i in items), default=0.0) or 1.0
    bars = [Bar(one_line(i["label"], LABEL_CHARS), " ".join(str(i["label"]).split()), i["value_text"],
                n * ROW_HEIGHT, max(1.0, BAR_MAX * float(i["value"] or 0) / top), i.get("href", ""))
            for n, i in enumerate(items)]
    return BarChart(key, title, bars, max(ROW_HEIGHT, len(bars) * ROW_HEIGHT) + 4, caption=caption)


def paired_chart(key: str, title: str, items: list[dict[str, Any]], caption: str = "") -> BarChart:
    """Before → after: two bars per item ({"label", "before", "after", "value_text"}), on one scale."""
    top = max((max(float(i["before"] or 0), float(i["after"] or 0)) for i in items), default=0.0) or 1.0
    bars = []
    for n, i in enumerate(items):
        y = n * 2 * ROW_HEIGHT
        label = " ".join(str(i["label"]).split())
        bars.append(Bar(one_line(label, LABEL_CHARS), label, f"before {i['before_text']}", y,
                        max(1.0, BAR_MAX * float(i["before"] or 0) / top), i.get("href", ""), "before"))
        bars.append(Bar("", label, f"after {i['after_text']}", y + ROW_HEIGHT - 4,
                        max(1.0, BAR_MAX * float(i["after"] or 0) / top), i.get("href", ""), "after"))
    return BarChart(key, title, bars, max(ROW_HEIGHT, len(items) * 2 * ROW_HEIGHT) + 4,
                    legend=[("before", "before (no new index)"), ("after", "after (recommended indexes)")],
                    caption=caption)
