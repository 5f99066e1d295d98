"""`--format summary`: the terse verdict a CI log wants — the default of `perftool indexes --check`.

For the CI gate (a report with `data["gate"]`): when the gate passes, one summary line; when it
fails, every finding on one line (with its fix SQL when it is at or above --fail-on), worst first,
then the summary line. For any other report: every finding on one line, worst first, then the
counts by severity (no verdict: that is the exit code's, from --fail-on).
"""

from __future__ import annotations

from typing import IO

from perftool.report.model import Finding, Report, Severity

SEVERITIES = ("error", "warning", "info")


def counts(findings: list[Finding]) -> dict[str, int]:
    """Findings by severity: {"error": n, "warning": n, "info": n}."""
    out = dict.fromkeys(SEVERITIES, 0)
    for f in findings:
        out[f.severity.value] += 1
    return out


def render(report: Report, out: IO[str], *, color: bool = False, width: int | None = None) -> None:
    n = counts(report.findings)
    text = ", ".join(f"{n[k]} {k}{'s' if n[k] != 1 and k != 'info' else ''}" for k in SEVERITIES)
    gate = report.data.get("gate")
    if gate is None:
        lines = [_line(f) for f in report.findings]
        out.write("\n".join([*lines, f"perftool {report.command}: {text}"]) + "\n")
        return
    fail_on = gate.get("fail_on", "error")
    bar = Severity(fail_on).rank if fail_on in SEVERITIES else 99
    lines = []
    failing = [f for f in report.findings if f.severity.rank >= bar]
    for f in report.findings if failing else []:
        lines.append(_line(f))
        for i, fl in enumerate(f.fix.strip().splitlines() if f.severity.rank >= bar else []):
            lines.append(("         fix: " if i == 0 else "              ") + fl)
    srv = report.server
    where = f"{srv.get('host', '?')}:{srv.get('port', '?')}/{srv.get('database', '?')}"
    extras = []
    if gate.get("ignored"):
        extras.append(f"{gate['ignored']} ignored")
    if gate.get("baselined"):
        extras.append(f"{gate['baselined']} in baseline")
    verdict = "FAILED" if failing else "ok"
    summary = (f"perftool indexes --check: {verdict} — {text} (fail on {fail_on})"
               + (f", {', '.join(extras)}" if extras else "")
               + f"; {gate.get('checks', 0)} checks on {where}")
    if not failing and report.findings:
        summary += " (--format table for details)"
    # a green gate that could not see everything says so
    lines += [f"note: {note}" for note in gate.get("unseen") or []]
    lines.append(summary)
    out.write("\n".join(lines) + "\n")


def _line(f: Finding) -> str:
    return f"{f.severity.value.upper():8} {f.code}  {f.object}: {f.title}"
