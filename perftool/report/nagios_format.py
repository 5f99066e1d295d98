"""Nagios / Icinga plugin output: one status line with perfdata, then one line per finding.

`PERFTOOL <COMMAND> <STATE> - <summary> | 'label'=value[uom];warn;crit;min;max ...`, with the
state from the worst finding — OK (exit 0), WARNING (1), CRITICAL (2) — and UNKNOWN (3) when the
check could not run (`unknown_line`). Perfdata come from `report.data["perfdata"]`
(label, value, uom, warn, crit, min, max); see the Nagios plugin guidelines.
"""

from __future__ import annotations

import re
from typing import IO, Any

from perftool.report.model import Report

STATES = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}


def exit_code(report: Report) -> int:
    worst = report.worst()
    if worst is None:
        return 0
    return {"info": 0, "warning": 1, "error": 2}[worst.value]


def _num(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) < 1e15):
        return str(int(v))
    return f"{float(v):.6g}"


def _label(text: str) -> str:
    text = re.sub(r"[='\n|]", "_", str(text))
    return f"'{text}'" if re.search(r"\s", text) else text


def perfdata(report: Report) -> str:
    items = []
    for p in report.data.get("perfdata", []):
        fields = [_num(p.get(k)) for k in ("warn", "crit", "min", "max")]
        while fields and fields[-1] == "":
            fields.pop()
        items.append(f"{_label(p['label'])}={_num(p['value'])}{p.get('uom') or ''}"
                     + "".join(f";{f}" for f in fields))
    return " ".join(items)


def _one_line(text: str) -> str:
    return " ".join(str(text).replace("|", "/").split())


def status_line(report: Report, code: int) -> str:
    head = f"PERFTOOL {report.command.upper()} {STATES[code]}"
    ranked = sorted(report.findings, key=lambda f: -f.severity.rank)
    if ranked and ranked[0].severity.rank > 0:
        summary = _one_line(ranked[0].title)
        more = sum(1 for f in ranked if f.severity.rank > 0) - 1
        if more:
            summary += f" (+{more} more)"
    else:
        summary = "no problems found"
    perf = perfdata(report)
    return f"{head} - {summary}" + (f" | {perf}" if perf else "")


def render(report: Report, out: IO[str], *, color: bool = False, width: int | None = None) -> None:
    lines = [status_line(report, exit_code(report))]
    for f in sorted(report.findings, key=lambda f: (-f.severity.rank, f.code)):
        lines.append(f"{f.severity.value.upper()} {f.code} {_one_line(f.title)}")
    out.write("\n".join(lines) + "\n")


def unknown_line(command: str, message: str) -> str:
    """The line for a check that could not run (exit 3)."""
    return f"PERFTOOL {command.upper()} UNKNOWN - {_one_line(message)}"
