"""JSON: the stable, documented envelope (docs/json.md)."""

from __future__ import annotations

import json
from typing import IO

from perftool.report.model import Report


def render(report: Report, out: IO[str], *, color: bool = False, width: int | None = None) -> None:
    json.dump(report.as_dict(), out, indent=2, ensure_ascii=False, default=str)
    out.write("\n")
