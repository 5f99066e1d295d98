"""The 0–100 health score: a deterministic formula over the findings.

Each finding deducts points by severity — error 12, warning 4, info 1 — and each area's total
deduction is capped, so one noisy area cannot hide the others:

| area | codes | cap |
|---|---|---|
| queries | Q | 30 |
| tables | T | 20 |
| indexes | I | 20 |
| database | D | 10 |
| connections | C | 10 |
| replication | R | 10 |
| sequences | S | 10 |
| other | anything else | 10 |

score = 100 − Σ min(cap(area), Σ weight(finding in area)), never below 0. Same findings, same
score; the order of findings does not matter.
"""

from __future__ import annotations

from perftool.report.model import Finding

WEIGHTS = {"error": 12, "warning": 4, "info": 1}
AREAS = {"Q": ("queries", 30), "T": ("tables", 20), "I": ("indexes", 20), "D": ("database", 10),
         "C": ("connections", 10), "R": ("replication", 10), "S": ("sequences", 10)}
OTHER = ("other", 10)


def health_score(findings: list[Finding]) -> dict:
    """{"score": int, "areas": {name: {"findings", "deduction", "cap"}}} — areas listed in fixed order."""
    areas: dict[str, dict] = {name: {"findings": 0, "raw": 0, "cap": cap} for name, cap in AREAS.values()}
    areas[OTHER[0]] = {"findings": 0, "raw": 0, "cap": OTHER[1]}
    for f in findings:
        name, _ = AREAS.get(f.area, OTHER)
        areas[name]["findings"] += 1
        areas[name]["raw"] += WEIGHTS[f.severity.value]
    total = 0
    out = {}
    for name, a in areas.items():
        deduction = min(a["cap"], a["raw"])
        total += deduction
        out[name] = {"findings": a["findings"], "deduction": deduction, "cap": a["cap"]}
    return {"score": max(0, 100 - total), "areas": out}
