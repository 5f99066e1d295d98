"""Human tables: rich on a colour terminal, plain tabulate text otherwise (pipes, files, NO_COLOR).

Both forms show the same content: a header line, notes, each section as a table, then the
findings with their explanation and fix.
"""

from __future__ import annotations

import shutil
from typing import IO

from perftool.report.model import Report, Section
from perftool.report.values import format_value, one_line

QUERY_WIDTH = 70
SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def _cells(section: Section, query_width: int) -> list[list[str]]:
    rows = []
    for r in section.rows:
        row = []
        for c in section.columns:
            v = r.get(c.key)
            row.append(one_line(str(v), query_width) if c.kind == "query" and v is not None
                       else format_value(v, c.kind))
        rows.append(row)
    return rows


def _header(report: Report) -> str:
    srv = report.server
    if not srv:
        return f"perftool {report.command}"
    where = f"{srv.get('host', '')}:{srv.get('port', '')}/{srv.get('database', '')}"
    return f"perftool {report.command} — {where} (PostgreSQL {srv.get('version', '?')})"


def render(report: Report, out: IO[str], *, color: bool = False, width: int | None = None) -> None:
    if color:
        _render_rich(report, out, width)
    else:
        _render_plain(report, out, width)


def _render_plain(report: Report, out: IO[str], width: int | None) -> None:
    from tabulate import tabulate

    query_width = QUERY_WIDTH if width is None else max(30, min(QUERY_WIDTH, width // 2))
    parts = [_header(report)]
    parts += [f"note: {n}" for n in report.notes]
    for s in report.sections:
        parts.append("")
        parts.append(s.title)
        if s.note:
            parts.append(s.note)
        if s.rows:
            align = ["right" if c.numeric else "left" for c in s.columns]
            parts.append(tabulate(_cells(s, query_width), headers=[c.header for c in s.columns],
                                  tablefmt="simple", colalign=align, disable_numparse=True))
        else:
            parts.append("(none)")
    parts.append("")
    parts.append(_findings_heading(report))
    for f in report.findings:
        parts.append(f"{f.severity.value.upper():8} {f.code}  {f.title}" + (f"  [{f.object}]" if f.object else ""))
        if f.detail:
            parts.append(f"         {one_line(f.detail)}")
        if f.fix:
            for i, line in enumerate(f.fix.strip().splitlines()):
                parts.append(("         fix: " if i == 0 else "              ") + line)
    out.write("\n".join(parts).rstrip() + "\n")


def _findings_heading(report: Report) -> str:
    if not report.findings:
        return "Findings: none"
    counts: dict[str, int] = {}
    for f in report.findings:
        counts[f.severity.value] = counts.get(f.severity.value, 0) + 1
    summary = ", ".join(f"{counts[k]} {k}" for k in ("error", "warning", "info") if k in counts)
    return f"Findings ({summary})"


def _render_rich(report: Report, out: IO[str], width: int | None) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=out, width=width or shutil.get_terminal_size((120, 40)).columns,
                      highlight=False, soft_wrap=False)
    console.print(Text(_header(report), style="bold"))
    for n in report.notes:
        console.print(Text(f"note: {n}", style="dim"))
    for s in report.sections:
        table = Table(title=s.title, title_justify="left", title_style="bold", caption=s.note or None,
                      caption_justify="left", header_style="bold", expand=False)
        for c in s.columns:
            table.add_column(c.header, justify="right" if c.numeric else "left",
                             overflow="fold" if c.kind != "query" else "ellipsis",
                             max_width=QUERY_WIDTH if c.kind == "query" else None)
        for row in _cells(s, QUERY_WIDTH):
            table.add_row(*row)
        if not s.rows:
            console.print(Text(f"{s.title}: (none)", style="bold"))
        else:
            console.print(table)
    console.print(Text(_findings_heading(report), style="bold"))
    for f in report.findings:
        line = Text()
        line.append(f"{f.severity.value.upper():8}", style=SEVERITY_STYLE[f.severity.value])
        line.append(f" {f.code}  ", style="bold")
        line.append(f.title)
        if f.object:
            line.append(f"  [{f.object}]", style="dim")
        console.print(line)
        if f.detail:
            console.print(Text("         " + one_line(f.detail), style="dim"))
        if f.fix:
            for i, fl in enumerate(f.fix.strip().splitlines()):
                console.print(Text(("         fix: " if i == 0 else "              ") + fl, style="green"))
