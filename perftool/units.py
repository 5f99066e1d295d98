"""Sizes and durations given on the command line or in perftool.yaml, read the way PostgreSQL
reads them: the one parser for every such option.

`parse_size("1.5GiB")` → bytes. Units B, kB, MB, GB, TB (PostgreSQL's: powers of 1024) and KiB,
MiB, GiB, TiB, any case, with or without the B (`10M`, `1g`); a bare number is bytes.

`parse_duration_ms("30s")` → 30000. Units: us, ms, s (or sec), min, h, d — PostgreSQL's own
spellings, matched whole (`m` is not a unit: perftool never guesses a unit from its first letter).
A bare number is milliseconds, as for statement_timeout.
"""

from __future__ import annotations

import re

from perftool.db.errors import UsageError

_SIZE = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>[kmgt]?i?b?)\s*$", re.I)
_BYTES = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4}
_DURATION = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>us|ms|s|sec|min|h|d)?\s*$", re.I)
_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "sec": 1000.0, "min": 60_000.0, "h": 3_600_000.0, "d": 86_400_000.0}


def parse_size(text: str | int | None, *, what: str = "size") -> int | None:
    """`10MB`, `1.5 GiB`, `500kB`, `2048` → bytes; None/"" → None."""
    if text is None or text == "":
        return None
    if isinstance(text, int):
        return text
    m = _SIZE.match(str(text))
    unit = (m["unit"] or "").lower() if m else ""
    if not m or unit in ("i", "ib") or (unit.endswith("i") and len(unit) == 2):
        raise UsageError(f"invalid {what} {text!r}", "use a number with a unit: 500kB, 10MB, 1.5GiB, 2GB")
    return int(float(m["n"]) * _BYTES[unit.rstrip("b").rstrip("i")])


def parse_duration_ms(text: str | int | float | None, *, what: str = "duration") -> int | None:
    """`30s`, `500ms`, `2min`, `1.5h`, `250` (ms) → whole milliseconds; None/"" → None."""
    if text is None or text == "":
        return None
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        m = _DURATION.match(str(text))
        if not m:
            raise UsageError(f"invalid {what} {text!r}", "use a number with a unit: 500ms, 30s, 2min, 1h")
        value = float(m["n"]) * _MS[(m["unit"] or "ms").lower()]
    if value < 0:
        raise UsageError(f"invalid {what} {text!r}: it cannot be negative")
    return int(round(value))
