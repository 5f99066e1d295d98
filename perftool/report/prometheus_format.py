"""Prometheus text exposition (format 0.0.4), for node_exporter's textfile collector or a pushgateway.

Metrics come from `report.data["metrics"]` (name, help, labels, value — see docs/prometheus.md);
every report also exposes `perftool_findings{severity,code}` and `perftool_report_timestamp_seconds`.
"""

from __future__ import annotations

import datetime as dt
from typing import IO

from perftool.report.model import Report


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: dict) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items())) + "}"


def _number(v: float) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    return f"{float(v):.10g}"


def render(report: Report, out: IO[str], *, color: bool = False, width: int | None = None) -> None:
    base = {"command": report.command}
    if report.server.get("host"):
        base["instance"] = f"{report.server.get('host')}:{report.server.get('port')}/{report.server.get('database')}"
    families: dict[str, dict] = {}
    for m in report.data.get("metrics", []):
        fam = families.setdefault(m["name"], {"help": m["help"], "type": "gauge", "samples": []})
        fam["samples"].append(({**base, **m.get("labels", {})}, m["value"]))
    counts: dict[tuple[str, str], int] = {}
    for f in report.findings:
        counts[(f.severity.value, f.code)] = counts.get((f.severity.value, f.code), 0) + 1
    fam = families.setdefault("perftool_findings", {"help": "Findings by severity and code", "type": "gauge",
                                                     "samples": []})
    for (sev, code), n in sorted(counts.items()):
        fam["samples"].append(({**base, "severity": sev, "code": code}, n))
    generated = dt.datetime.fromisoformat(report.generated_at).timestamp()
    families["perftool_report_timestamp_seconds"] = {"help": "When perftool produced this report", "type": "gauge",
                                                     "samples": [(base, generated)]}
    lines = []
    for name, fam in families.items():
        lines.append(f"# HELP {name} {_escape(fam['help'])}")
        lines.append(f"# TYPE {name} {fam['type']}")
        for labels, value in fam["samples"]:
            lines.append(f"{name}{_labels(labels)} {_number(value)}")
    out.write("\n".join(lines) + "\n")
