"""The workload's statements as the advisor sees them (`Item`): the predicates each one's plan can
use, its weight and costs, its own candidates and its floor."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from perftool.advisor.indexdef import IndexDef
from perftool.advisor.predicates import Analysis, Constant, StatementKind, analyze
from perftool.catalog.schema import Catalog, TableName
from perftool.gc_pause import gc_paused
from perftool.workload.sources import WorkloadStatement
from perftool.workload.statement_text import collect_young, strip_leading_comments


@dataclass
class Item:
    """One workload statement as the advisor sees it."""

    position: int
    statement: WorkloadStatement
    analysis: Analysis
    weight: float = 1.0
    sid: int | None = None
    base: float | None = None
    final: float | None = None
    skip: str | None = None
    written_rows: float = 0.0
    used: frozenset[IndexDef] = frozenset()
    seed: frozenset[IndexDef] = frozenset()     # its own candidates
    seed_keys: frozenset | None = None           # (key columns, predicate) of its seeds without INCLUDE
    floor: float | None = None                   # its cost with all of them (and the other seeds of its batch)
    indexable: dict[TableName, set[str]] = field(default_factory=dict)
    constants: dict[TableName, set[Constant]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for acc in self.analysis.accesses:
            self.indexable.setdefault(acc.table, set()).update(acc.indexable)
            self.constants.setdefault(acc.table, set()).update(acc.constants)

    @property
    def costed_sid(self) -> int:
        """Its what-if statement id; only asked of statements that were costed."""
        if self.sid is None:
            raise ValueError(f"statement {self.position} was not costed")
        return self.sid

    @functools.cached_property
    def tables(self) -> list[TableName]:
        return self.analysis.tables

    def relevant(self, ix: IndexDef) -> bool:
        """Whether `ix` could change this statement's plan: it can use the index's leading column,
        or the index covers every column it reads from that table (index-only scan), and it
        implies the index's partial predicate."""
        t = ix.table_key
        read = self.analysis.referenced.get(t)
        if read is None:
            return False
        if ix.where and not set(ix.where) <= self.constants.get(t, set()):
            return False
        if ix.columns[0] in self.indexable.get(t, ()):
            return True
        return bool(read) and read <= set(ix.columns) | set(ix.include)


def build_items(statements: list[WorkloadStatement], catalog: Catalog) -> list[Item]:
    """Each statement analysed (`predicates.analyze`), the garbage collector paused (`gc_paused`).

    The parsed trees are kept for the run and each holds dozens of objects: with the collector on,
    every 25 % of heap growth set off a full collection over all trees parsed so far (three or four
    on Dexter's 4,950 statements: 0.3-0.5 s of the 1.2 s the parse and the analysis took, CPU,
    sqlglotc). The analysis makes little cyclic garbage; `statement_text.collect_young` bounds it."""
    items = []
    with gc_paused():
        for i, s in enumerate(statements):
            collect_young()
            a = analyze(s.text, catalog)
            it = Item(position=i, statement=s, analysis=a, skip=a.skip)
            if it.skip is None and a.kind is StatementKind.SELECT and not a.accesses:
                it.skip = "reads no table"
            items.append(it)
    return items


def set_weights(items: list[Item], mode: str) -> None:
    """Each statement's weight: its calls, or (`total_time`) its total time per cost unit."""
    for it in items:
        s = it.statement
        if mode == "total_time" and s.total_ms > 0 and it.base:
            it.weight = s.total_ms / it.base
        else:
            it.weight = max(float(s.calls), 0.0) or 1.0


def written_rows(it: Item, planned: float | None) -> float:
    """Rows one execution of a write statement writes (0 for a read)."""
    a = it.analysis
    if not a.kind.writes:
        return 0.0
    per_call = it.statement.rows_per_call
    if per_call is not None:
        return per_call
    if a.insert_rows is not None:
        return float(a.insert_rows)
    return float(planned or 0.0)


def explainable(text: str) -> str:
    """The statement text as EXPLAIN takes it: leading comments and trailing semicolons gone."""
    body = strip_leading_comments(text).strip()
    while body.endswith(";"):
        body = body[:-1].rstrip()
    return body
