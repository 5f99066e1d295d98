"""The `replicas` page: one verdict badge per replica (the verdict in words with a shape, so it
reads without colour) and its lag as a bar against the warning / critical lag thresholds, then the
generic tables (standbys, slots)."""

from __future__ import annotations

from dataclasses import dataclass

from perftool.report.html_pages import FindingLinks, LinkedFinding, PagePart
from perftool.report.html_pages.pool import Meter, meter
from perftool.report.model import Report
from perftool.report.values import format_value, human_ms

# verdict -> (level, shape)
VERDICTS = {"healthy": ("ok", "✓"), "primary idle": ("ok", "○"), "lagging": ("warning", "◆"),
            "replay paused": ("warning", "‖"), "receiver down": ("critical", "✕")}


@dataclass
class Replica:
    name: str
    verdict: str
    level: str
    shape: str
    lag: str
    behind: str
    row: dict
    meter: Meter
    findings: list[LinkedFinding]


def parts(report: Report, links: FindingLinks) -> list[PagePart]:
    section = report.section("verdicts")
    if section is None:
        return []
    perf = {p.get("label"): p for p in report.data.get("perfdata") or []}
    lag_perf = [p for label, p in perf.items() if str(label).endswith("_lag_ms")]
    warn = next((p.get("warn") for p in lag_perf if p.get("warn") is not None), None)
    crit = next((p.get("crit") for p in lag_perf if p.get("crit") is not None), None)
    top = max([float(r.get("lag_ms") or 0) for r in section.rows] + [float(crit or warn or 0) * 1.25]) or 1.0
    replicas = []
    for n, r in enumerate(section.rows):
        verdict = str(r.get("verdict") or "")
        level, shape = VERDICTS.get(verdict, ("warning", "?"))
        lag = float(r.get("lag_ms") or 0)
        m = meter(f"lag-{n + 1}", str(r.get("replica") or ""), lag, human_ms(lag), top, warn, crit,
                  threshold_text=human_ms)
        m.level = level  # the verdict decides (a receiver that is down has no lag figure)
        name = str(r.get("replica") or "")
        found = links.for_object(name)
        replicas.append(Replica(name, verdict, level, shape, human_ms(r.get("lag_ms")),
                                format_value(r.get("lag_bytes"), "bytes"), r, m, found))
    return [PagePart("replicas_verdicts.html.j2", {"section": section, "replicas": replicas},
                     sections=("verdicts",), title="Replicas", anchor="replicas")]
