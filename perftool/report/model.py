"""The records every command produces and every renderer consumes.

A command builds one `Report`: metadata (perftool version, server, time), tabular `Section`s and
`Finding`s. Renderers take a Report and never know which command made it, so adding a format never
touches a command and every format carries the same findings.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from perftool import __version__, codes


class Severity(str, Enum):
    info = "info"
    warning = "warning"
    error = "error"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2}[self.value]

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.value


@dataclass
class Finding:
    """One coded problem. `code` is stable and declared in perftool/codes.py (docs/checks/<code>.md
    documents it; an undeclared code raises codes.UnknownCode); `severity` and `title` default to
    the code's; `title` is the one-line message; `detail` explains it with the evidence; `fix` is
    SQL or a concrete action."""

    code: str
    severity: Severity = None  # type: ignore[assignment]  # None: the code's default
    title: str = ""
    object: str = ""
    detail: str = ""
    fix: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    # the fix as written and its statements (perftool.health.checks.fix_sql.FixPlan), so the fixes
    # of one report can be made to compose (fix_compose.py); not rendered
    plan: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        spec = codes.get(self.code)
        self.severity = Severity(self.severity if self.severity is not None else spec.severity)
        self.title = self.title or spec.title

    @property
    def area(self) -> str:
        """The code's letter group (Q queries, I indexes, P plans, C connections, R replication…)."""
        return self.code[:1]

    @property
    def docs(self) -> str:
        return f"docs/checks/{self.code}.md"

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "title": self.title,
            "object": self.object,
            "detail": self.detail,
            "fix": self.fix,
            "docs": self.docs,
            "evidence": _plain(self.evidence),
        }


class ColumnKind(str, Enum):
    """How a section column's values are formatted (and aligned: the numeric kinds to the right)."""

    TEXT = "text"
    QUERY = "query"       # a statement text: one line, shortened with an ellipsis in tables
    INT = "int"
    FLOAT = "float"
    MS = "ms"
    PCT = "pct"
    BYTES = "bytes"
    RATIO = "ratio"


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """The order of every report's findings: worst first, then by code and object (in place;
    returns the list)."""
    findings.sort(key=lambda f: (-f.severity.rank, f.code, f.object))
    return findings


@dataclass
class Column:
    """A section column: `key` in the row dicts, `header` for humans, `kind` for formatting: a
    ColumnKind, or its value (`Column("calls", "calls", "int")`); any other string fails here."""

    key: str
    header: str
    kind: str = ColumnKind.TEXT

    def __post_init__(self) -> None:
        self.kind = ColumnKind(self.kind)

    @property
    def numeric(self) -> bool:
        """Numbers: right-aligned in tables."""
        return self.kind not in (ColumnKind.TEXT, ColumnKind.QUERY)


@dataclass
class Section:
    """A table of results: `key` is its name in JSON/YAML, `rows` are plain dicts."""

    key: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    note: str = ""


@dataclass
class Report:
    command: str
    server: dict[str, Any] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    generated_at: str = field(
        default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    )
    perftool: str = __version__

    def section(self, key: str) -> Section | None:
        return next((s for s in self.sections if s.key == key), None)

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)

    def exit_code(self, fail_on: str | Severity | None) -> int:
        """0, or 1 when a finding is at or above `fail_on` ("never"/None disables the gate)."""
        if fail_on in (None, "never", "none"):
            return 0
        bar = Severity(fail_on).rank
        return 1 if any(f.severity.rank >= bar for f in self.findings) else 0

    def as_dict(self) -> dict[str, Any]:
        """The JSON envelope (docs/json.md): metadata, findings, then each section under its key."""
        out: dict[str, Any] = {
            "perftool": self.perftool,
            "command": self.command,
            "server": _plain(self.server),
            "generated_at": self.generated_at,
            "findings": [f.as_dict() for f in self.findings],
            "notes": list(self.notes),
        }
        for s in self.sections:
            out[s.key] = _plain(s.rows)
        for k, v in self.data.items():
            out[k] = _plain(v)
        return out


# Fields holding pg_stat_statements queryids (signed 64-bit): strings in JSON/YAML, since readers
# that keep numbers as doubles (JavaScript, jq) lose digits above 2^53 (docs/json.md).
QUERYID_KEYS = frozenset({"queryid", "queryids", "parent_queryid"})


def _plain(value: Any) -> Any:
    """JSON-ready copy: dataclasses to dicts, enums to values, dates to ISO text, Decimals to float,
    queryids (the fields in QUERYID_KEYS) to strings."""
    import decimal

    if isinstance(value, Enum):
        return value.value
    if hasattr(value, "__dataclass_fields__"):
        return _plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): _queryid_text(v) if k in QUERYID_KEYS else _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    return value


def _queryid_text(value: Any) -> Any:
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_queryid_text(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _plain(value)
