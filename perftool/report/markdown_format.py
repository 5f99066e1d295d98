"""Markdown: good enough to paste into a ticket or a pull-request comment."""

from __future__ import annotations

from typing import IO

from perftool.report.model import Report
from perftool.report.values import format_value, one_line

SEVERITY_MARK = {"error": "🔴 error", "warning": "🟠 warning", "info": "🔵 info"}


def _escape(text: str) -> str:
    return one_line(text).replace("|", "\\|")


def _table(headers: list[str], rows: list[list[str]], numeric: list[bool]) -> list[str]:
    rule = "|" + "|".join("---:" if n else "---" for n in numeric) + "|"
    lines = ["| " + " | ".join(headers) + " |", rule]
    lines += ["| " + " | ".join(_escape(c) for c in r) + " |" for r in rows]
    return lines


def render(report: Report, out: IO[str], *, color: bool = False, width: int | None = None) -> None:
    srv = report.server
    lines = [f"# perftool {report.command}", ""]
    if srv:
        lines.append(
            f"Server `{srv.get('host', '')}:{srv.get('port', '')}/{srv.get('database', '')}` "
            f"(PostgreSQL {srv.get('version', '?')}), generated {report.generated_at} "
            f"by perftool {report.perftool}."
        )
        lines.append("")
    for note in report.notes:
        lines += [f"> {note}", ""]
    for section in report.sections:
        lines += [f"## {section.title}", ""]
        if section.note:
            lines += [section.note, ""]
        if section.rows:
            lines += _table(
                [c.header for c in section.columns],
                [[format_value(r.get(c.key), c.kind) for c in section.columns] for r in section.rows],
                [c.numeric for c in section.columns],
            )
        else:
            lines.append("_none_")
        lines.append("")
    lines += [f"## Findings ({len(report.findings)})", ""]
    if not report.findings:
        lines += ["No findings.", ""]
    for f in report.findings:
        lines.append(f"### {SEVERITY_MARK[f.severity.value]} `{f.code}` {f.title}")
        lines.append("")
        if f.object:
            lines += [f"**Object:** `{f.object}`", ""]
        if f.detail:
            lines += [f.detail, ""]
        if f.fix:
            lines += ["**Fix:**", "", "```sql" if _looks_sql(f.fix) else "```", f.fix, "```", ""]
    out.write("\n".join(lines).rstrip() + "\n")


def _looks_sql(text: str) -> bool:
    head = text.lstrip().split(None, 1)[0].upper() if text.strip() else ""
    return head in {"CREATE", "DROP", "ALTER", "VACUUM", "ANALYZE", "REINDEX", "SELECT", "SET", "GRANT", "--"}
