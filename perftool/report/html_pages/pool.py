"""The `pool` page: connection utilisation as a meter against its warning and critical thresholds
(80 / 95 % of the usable connections unless perftool.yaml says otherwise), the lock tree as nested
lists (root blockers first, each linked to its C104 finding), then the generic tables.

`Meter` (a bar with threshold lines, a level in words and a shape) is shared with the replicas page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from perftool.report.html_pages import FindingLinks, LinkedFinding, PagePart
from perftool.report.model import Report
from perftool.report.values import format_value

METER_WIDTH = 420
# level -> (word, shape): never colour alone
LEVELS = {"ok": ("ok", "●"), "warning": ("warning", "◆"), "critical": ("critical", "▲")}


@dataclass
class Meter:
    key: str
    label: str
    value_text: str
    level: str          # ok / warning / critical
    width: float        # of the filled part, out of METER_WIDTH
    thresholds: list[tuple[float, str]]   # (x, text)
    total: int = METER_WIDTH

    @property
    def word(self) -> str:
        return LEVELS[self.level][0]

    @property
    def shape(self) -> str:
        return LEVELS[self.level][1]


def meter(key: str, label: str, value: float, value_text: str, scale: float, warn: float | None,
          crit: float | None, threshold_text=str) -> Meter:
    """`value` on a bar of 0..`scale` with lines at `warn` and `crit` (None: no line)."""
    scale = scale or 1.0
    level = "critical" if crit is not None and value >= crit else \
        "warning" if warn is not None and value >= warn else "ok"
    lines = [(METER_WIDTH * min(1.0, t / scale), threshold_text(t)) for t in (warn, crit) if t is not None]
    return Meter(key, label, value_text, level, max(1.0, METER_WIDTH * min(1.0, max(0.0, value) / scale)) if value
                 else 0.0, lines)


def utilisation_meter(report: Report) -> Meter | None:
    perf = next((p for p in report.data.get("perfdata") or [] if p.get("label") == "connections"), None)
    if perf is None or not perf.get("max"):
        return None
    used, usable = float(perf["value"]), float(perf["max"])
    return meter("connections", "Connections used", used, f"{used:,.0f} of {usable:,.0f} usable ({used / usable:.0%})",
                 usable, perf.get("warn"), perf.get("crit"),
                 threshold_text=lambda t: f"{t / usable:.0%} ({t:,.0f})")


@dataclass
class LockNode:
    pid: str
    row: dict[str, Any]
    findings: list[LinkedFinding]
    children: list[LockNode] = field(default_factory=list)


def lock_forest(rows: list[dict[str, Any]], links: FindingLinks) -> list[LockNode]:
    """The lock_tree section's depth-first rows back into trees (`depth` 0 = a root blocker)."""
    roots: list[LockNode] = []
    stack: list[LockNode] = []
    for r in rows:
        depth = int(r.get("depth") or 0)
        pid = str(r.get("pid") or "").lstrip("·└ ")
        node = LockNode(pid, {**r, "waiting": format_value(r.get("waiting_s"), "float")},
                        links.for_object(f"pid {pid}"))
        del stack[depth:]
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)
    return roots


def parts(report: Report, links: FindingLinks) -> list[PagePart]:
    out = []
    gauge = utilisation_meter(report)
    summary = report.section("summary")
    if gauge is not None or summary is not None:
        out.append(PagePart("pool_summary.html.j2", {
            "gauge": gauge, "summary": summary.rows if summary else [],
            "title": summary.title if summary else "Connections"},
            sections=("summary",) if summary else (), title="Connections", anchor="utilisation"))
    tree = report.section("lock_tree")
    if tree is not None:
        out.append(PagePart("pool_locks.html.j2", {"section": tree, "forest": lock_forest(tree.rows, links)},
                            sections=("lock_tree",), title="Lock tree", anchor="lock-tree"))
    return out
