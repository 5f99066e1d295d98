"""CSV: each section as a table with all raw fields (machine units), findings last.

With several tables in one report each starts with a `# <key>` line and tables are separated by
a blank line; a single table is plain CSV that any tool reads.
"""

from __future__ import annotations

import csv
from typing import IO

from perftool.report.model import Report

FINDING_FIELDS = ["code", "severity", "title", "object", "detail", "fix"]


def render(report: Report, out: IO[str], *, color: bool = False, width: int | None = None) -> None:
    tables = [(s.key, _fields(s), s.rows) for s in report.sections]
    if report.findings or not tables:
        tables.append(("findings", FINDING_FIELDS, [f.as_dict() for f in report.findings]))
    many = len(tables) > 1
    for i, (key, fields, rows) in enumerate(tables):
        if many:
            if i:
                out.write("\n")
            out.write(f"# {key}\n")
        writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(row.get(k)) for k in fields})


def _fields(section) -> list[str]:
    """The displayed columns first, then every other raw field the rows carry (queryid, …)."""
    fields = [c.key for c in section.columns]
    for row in section.rows:
        fields += [k for k in row if k not in fields]
    return fields


def _cell(value: object) -> object:
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    if hasattr(value, "value"):
        return value.value  # enums
    return value
