"""YAML: the same document as JSON."""

from __future__ import annotations

from typing import IO

from perftool.report.model import Report


def render(report: Report, out: IO[str], *, color: bool = False, width: int | None = None) -> None:
    import yaml

    yaml.safe_dump(report.as_dict(), out, sort_keys=False, allow_unicode=True, width=100)
