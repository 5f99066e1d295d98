"""GitHub Actions workflow commands: one `::error` / `::warning` / `::notice` annotation per
finding (shown on the run and, when the finding names a file and line, on that line of the pull
request), then one plain summary line.

Escaping follows the Actions toolkit: in messages `%`, CR and LF are percent-encoded; in
properties also `:` and `,`.
"""

from __future__ import annotations

from typing import IO

from perftool.report.model import Report

LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    return str(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(report: Report, out: IO[str], *, color: bool = False, width: int | None = None) -> None:
    lines = []
    counts = {"error": 0, "warning": 0, "info": 0}
    for f in report.findings:
        counts[f.severity.value] += 1
        props = [f"title={escape_property(f'{f.code} {f.title}')}"]
        if f.evidence.get("file"):
            props.insert(0, f"file={escape_property(str(f.evidence['file']))}")
            if isinstance(f.evidence.get("line"), int):
                props.insert(1, f"line={f.evidence['line']}")
        message = (f"[{f.object}] " if f.object else "") + (f.detail or f.title)
        if f.fix:
            message += "\nfix:\n" + f.fix
        message += f"\n(docs/checks/{f.code}.md)"
        lines.append(f"::{LEVEL[f.severity.value]} {','.join(props)}::{escape_data(message)}")
    summary = ", ".join(f"{counts[k]} {k}" for k in ("error", "warning", "info"))
    lines.append(f"perftool {report.command}: {summary}" + (f"; {'; '.join(report.notes)}" if report.notes else ""))
    out.write("\n".join(lines) + "\n")
