"""Human formatting of section values, shared by the table and markdown renderers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from perftool.report.model import Report

# Control characters (C0 but tab and newline, DEL, C1) and the bidirectional overrides would
# rewrite a terminal, a table's layout or an XML file: humans see them as escapes (`\x00`).
_UNPRINTABLE = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7F, 0xA0)] if c not in (0x09, 0x0A)}
_UNPRINTABLE.update({c: f"\\u{c:04x}" for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]})


def human_bytes(n: float | None) -> str:
    if n is None:
        return ""
    n = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover


def human_ms(ms: float | None) -> str:
    if ms is None:
        return ""
    ms = float(ms)
    if ms >= 3_600_000:
        return f"{ms / 3_600_000:.1f} h"
    if ms >= 60_000:
        return f"{ms / 60_000:.1f} min"
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    if ms >= 10:
        return f"{ms:.0f} ms"
    return f"{ms:.2f} ms"


def human_int(n: float | None) -> str:
    if n is None:
        return ""
    return f"{int(round(float(n))):,}"


def format_value(value: Any, kind: str = "text") -> str:
    """Render one cell for humans. `pct` values are fractions (0.5 → "50.0 %")."""
    if value is None:
        return ""
    if kind == "ms":
        return human_ms(value)
    if kind == "bytes":
        return human_bytes(value)
    if kind == "int":
        return human_int(value)
    if kind == "pct":
        return f"{float(value) * 100:.1f} %"
    if kind == "float":
        return f"{float(value):,.2f}"
    if kind == "ratio":
        return f"{float(value):.1f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def one_line(text: str, width: int | None = None) -> str:
    """Collapse whitespace (statement texts span lines) and cut to `width` characters."""
    flat = " ".join(str(text).split())
    if width and len(flat) > width:
        return flat[: max(1, width - 1)] + "…"
    return flat


def printable(value: Any) -> Any:
    """`value` with every control character in its strings shown as an escape (`\\x00`, `\\x1b`),
    recursively through lists, tuples and dicts. Tabs and newlines stay (renderers lay them out)."""
    if isinstance(value, str):
        return value.translate(_UNPRINTABLE)
    if isinstance(value, dict):
        return {k: printable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [printable(v) for v in value]
    if isinstance(value, tuple):
        return tuple(printable(v) for v in value)
    return value


def for_humans(report: Report) -> Report:
    """A copy of `report` whose texts are `printable`: what the human formats (table, markdown,
    the gate summary, GitHub annotations, JUnit XML) render. JSON, YAML and CSV stay faithful."""
    from dataclasses import replace

    return replace(
        report, server=printable(report.server), notes=printable(report.notes), data=printable(report.data),
        sections=[replace(s, title=printable(s.title), note=printable(s.note), rows=printable(s.rows),
                          columns=[replace(c, header=printable(c.header)) for c in s.columns])
                  for s in report.sections],
        findings=[replace(f, title=printable(f.title), object=printable(f.object), detail=printable(f.detail),
                          fix=printable(f.fix), evidence=printable(f.evidence)) for f in report.findings])
