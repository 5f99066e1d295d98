"""Human formatting of section values, shared by the table and markdown renderers."""

from __future__ import annotations

from typing import Any


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
