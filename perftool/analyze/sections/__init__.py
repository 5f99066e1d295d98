"""The registry of `perftool analyze` sections.

A section is a class with a `key`, a `title`, an `order`, an optional `collect(conn, info,
options)` that reads point-in-time data while the connection is open (its result lands in
`Snapshot.extras[key]`), and a pure `analyze(ctx) -> SectionResult`. Registering a new section is
one module in this package (found with pkgutil) with an `@register` class; `analyze` itself never
changes. Each section is also
available alone: `perftool analyze --section KEY`.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from perftool.advisor.fixes import WorkloadAdvice
from perftool.report.model import Finding, Section

if TYPE_CHECKING:
    from perftool.analyze.options import AnalyzeOptions, UnreachableHost
    from perftool.workload.snapshot import Snapshot
    from perftool.workload.stats import StatementStats

_REGISTRY: dict[str, type[AnalysisSection]] = {}


@dataclass
class SectionResult:
    sections: list[Section] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    summary: str = ""                       # the one-line summary at the top of the report
    data: dict[str, Any] = field(default_factory=dict)
    metrics: list[tuple[str, str, dict[str, str], float]] = field(default_factory=list)  # name, help, labels, value
    notes: list[str] = field(default_factory=list)   # report notes: what could not be seen, and why


class AnalysisSection:
    key: ClassVar[str]
    title: ClassVar[str]
    order: ClassVar[int] = 50
    # collect() may run on a sibling session (db/beside.py) while the sections before it collect on
    # the main one; the sections after it wait for it (analyze/run.py `_collect_sections`)
    beside: ClassVar[bool] = False

    def collect(self, conn, info, options: AnalyzeOptions) -> Any:  # noqa: ANN001
        return None

    def analyze(self, ctx: AnalysisContext) -> SectionResult:
        raise NotImplementedError


def register(cls: type[AnalysisSection]) -> type[AnalysisSection]:
    _REGISTRY[cls.key] = cls
    return cls


def all_sections() -> list[AnalysisSection]:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return [cls() for cls in sorted(_REGISTRY.values(), key=lambda c: (c.order, c.key))]


def section_keys() -> list[str]:
    return [s.key for s in all_sections()]


TableKey = tuple[str, str]


@dataclass
class TablesCollected:
    """What the tables section reads while connected: the index advisor's answer (None when no
    table is seq-scan heavy, or with --no-index-advice) and, for each partition, the partitioned
    tables it belongs to, nearest first (statements and the advisor name those)."""

    advice: WorkloadAdvice | None = None
    ancestors: dict[TableKey, list[TableKey]] = field(default_factory=dict)


@dataclass
class AnalysisContext:
    """What every section sees: the options, each host's snapshot and the combined one."""

    options: AnalyzeOptions
    hosts: list[Snapshot]
    merged: Snapshot
    unreachable: list[UnreachableHost] = field(default_factory=list)   # fleet hosts left out (R103)

    @property
    def interval_s(self) -> float | None:
        return self.merged.interval_s

    @property
    def fleet(self) -> bool:
        return len(self.hosts) > 1

    @cached_property
    def statements(self) -> list[StatementStats]:
        """Statements of the window, entries with the same normalized text merged: pg_stat_statements
        keeps one entry per parameter *type* (psycopg sends small ints as int2, larger as int8), which
        would split one application statement in several."""
        from perftool.workload.fleet import merge_statements

        chosen = [s for s in self.merged.statements if s.toplevel or self.options.include_nested]
        return merge_statements({self.merged.host: chosen})

    @cached_property
    def statements_by_table(self) -> dict[str, list[StatementStats]]:
        """Bare and schema-qualified table name → statements that read or write it."""
        from perftool.workload.statement_text import tables

        out: dict[str, list[StatementStats]] = {}
        for s in self.statements:
            for t in tables(s.query):
                for name in {t, t.rsplit(".", 1)[-1]}:
                    out.setdefault(name, []).append(s)
        return out

    def _tables_collected(self) -> TablesCollected:
        from perftool.workload.fleet import lead_snapshot

        lead = lead_snapshot(self.hosts) if self.hosts else self.merged
        got = lead.extras.get("tables")
        return got if isinstance(got, TablesCollected) else TablesCollected()

    def index_advice(self) -> WorkloadAdvice | None:
        """The index advisor's answer (`indexes recommend`'s), when the tables section collected it
        on the lead host (the primary's workload): the index fixes of T201, Q101 and Q103."""
        return self._tables_collected().advice

    def partition_ancestors(self, schema: str, table: str) -> list[TableKey]:
        """The partitioned tables `schema.table` is a partition of, nearest first (none for another table)."""
        return self._tables_collected().ancestors.get((schema, table), [])

    def statements_for(self, schema: str, table: str) -> list[StatementStats]:
        """Statements that name the table, or a partitioned table it is a partition of."""
        seen, out = set(), []
        names = [(schema, table), *self.partition_ancestors(schema, table)]
        for name in [n for s, t in names for n in (f"{s}.{t}", t)]:
            for s in self.statements_by_table.get(name, []):
                if id(s) not in seen:
                    seen.add(id(s))
                    out.append(s)
        return out
