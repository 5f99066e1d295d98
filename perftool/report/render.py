"""The one choice point for output formats.

`FORMATS` maps a format name to the module that renders it; each module has
`render(report, out, *, color: bool, width: int | None) -> None`. Adding a format is one module
and one line here; commands never change.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from perftool.report.model import Report

FORMATS: dict[str, str] = {
    "table": "perftool.report.table_format",
    "json": "perftool.report.json_format",
    "yaml": "perftool.report.yaml_format",
    "csv": "perftool.report.csv_format",
    "markdown": "perftool.report.markdown_format",
    "prometheus": "perftool.report.prometheus_format",
    "sarif": "perftool.report.sarif_format",
    "github": "perftool.report.github_format",
    "junit": "perftool.report.junit_format",
    "nagios": "perftool.report.nagios_format",
    "html": "perftool.report.html_format",
    "summary": "perftool.report.summary_format",
}
# formats read by people (or by parsers that reject control characters): their texts go through
# values.for_humans, so a NUL or an escape sequence in a statement text shows as `\x00`, `\x1b`
PRINTABLE_FORMATS = {"table", "markdown", "github", "junit", "nagios", "html", "summary"}


def color_wanted(out: IO[str], no_color: bool = False) -> bool:
    """Colour only on a terminal, never with NO_COLOR set (https://no-color.org) or --no-color."""
    if no_color or os.environ.get("NO_COLOR", "") != "":
        return False
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty())


def render(report: Report, fmt: str = "table", out: IO[str] | None = None, *, no_color: bool = False,
           width: int | None = None) -> None:
    out = out or sys.stdout
    module_name = FORMATS.get(fmt)
    if module_name is None:
        from perftool.db.errors import UsageError

        raise UsageError(f"unknown format {fmt!r}", f"choose one of: {', '.join(FORMATS)}")
    module = importlib.import_module(module_name)
    if fmt in PRINTABLE_FORMATS:
        from perftool.report.values import for_humans

        report = for_humans(report)
    module.render(report, out, color=color_wanted(out, no_color), width=width)


def render_to_string(report: Report, fmt: str = "table", width: int | None = 120) -> str:
    import io

    buf = io.StringIO()
    render(report, fmt, buf, no_color=True, width=width)
    return buf.getvalue()
