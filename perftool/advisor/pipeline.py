"""The index advisor: candidates from the workload's predicates, whole-workload selection under a
storage budget with HypoPG what-if costs, pruning, and the report.

Algorithm (docs/advisor.md has the long form):

1. **Analyse** every statement (`predicates.analyze`): per base-table access, its equality, range,
   join, ORDER BY and GROUP BY columns. Statements that cannot be used are *skipped* with a reason.
2. **Cost** each statement with no new index (`whatif.WhatIf`; generic plans for `$n`).
3. **Candidates**: every indexable column alone (Extend's single-attribute indexes), plus
   query-shaped multi-column indexes up to `max_width` — equality and join columns first (each
   order), then one range column or the ORDER BY columns (with their directions), GROUP BY column
   lists, and partial indexes for constant predicates on low-cardinality columns. Candidates that
   an existing index already covers (as a prefix) are dropped.
4. **Select** greedily (in the spirit of Extend): each step takes the move with the best
   *benefit per byte* — benefit = the weighted drop in workload cost minus the write cost of
   maintaining the index — among adding a candidate and widening a chosen index by one column
   (a key column when the statements filter or sort on it, else an INCLUDE column). A move must
   improve some statement by at least `min_improvement` of its current cost and fit the budget
   and `max_indexes`. Moves are re-evaluated lazily: a stored benefit is re-costed only when one
   of its statements' configurations changed since, and a move is taken only with a fresh cost.
   The cost of statement q under configuration C is cost(q, C ∩ relevant(q)), cached per
   (q, index set); an index is relevant to q when q can use its leading column, or it covers
   every column q reads from that table (index-only scan), and q implies its partial predicate.
5. **Prune**: an index whose removal costs no statement `min_improvement` (or whose benefit no
   longer pays its write cost) is dropped, then freed budget is refilled; repeat until stable.
6. **Verify**: every statement is costed once more with the whole recommended set, and those
   numbers (not the search's estimates) are reported.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from perftool.advisor.indexdef import IndexDef
from perftool.advisor.predicates import Access, Analysis, Constant
from perftool.catalog.schema import Catalog, TableInfo, TableName
from perftool.db.errors import MissingPrivilege, UsageError
from perftool.db.privileges import (
    grant_select,
    heuristic_statistics_note,
    named,
    unexplainable_note,
    unexplainable_writes_note,
)
from perftool.ddl import attach_sql, name_variant
from perftool.report.model import Column, Finding, Report, Section
from perftool.workload.sources import WorkloadStatement

if TYPE_CHECKING:
    import psycopg

PAGE = 8192
INDEX_ENTRY_COST = 1.0          # planner cost units to maintain one index entry (write-cost term)
LOW_CARDINALITY = 20            # at most this many distinct values: a constant on it makes a partial index
SEARCH_MAX_STATEMENTS = 500     # above this many statements the greedy runs once (no Extend-start variant,
                                # no local search): their cost grows with the workload, their gain does not
SEED_BATCH = 50                 # hypothetical indexes present at once while costing the floors
FLOOR_EPSILON = 1e-3            # moves that cannot save 0.1 % of any statement are not costed
VERIFY_MAX_STATEMENTS = 1000    # up to this many statements the final plans see every recommended index
NEAR_TIE = 0.002                # a freshly costed move within 0.2 % of the best bound is taken at once
REFINE_FORCED = 20              # candidates the "force" neighbourhood of the local search tries
MAX_EQUALITY_PERMUTED = 5       # beyond this many equality columns only their written order is tried
WEIGHTS = ("calls", "total_time")
PATTERN_OPS = {"text": "text_pattern_ops", "varchar": "varchar_pattern_ops", "bpchar": "bpchar_pattern_ops"}


@dataclass
class AdvisorOptions:
    budget_bytes: int | None = None
    max_indexes: int | None = None
    max_width: int = 3
    min_improvement: float = 0.10
    weight: str = "calls"
    whatif: bool = True
    explain_choice: bool = False
    min_calls: int = 1
    partial: bool = True            # partial-index candidates for constant predicates
    include: bool = True            # INCLUDE columns that complete an index-only scan
    refine_seconds: float = 20.0    # local search after the greedy (0: none) …
    refine_explains: int = 1200     # … that stops after this many EXPLAINs (so the result is deterministic) …
    time_budget_s: float = 30.0     # … or, on a very slow server, this long after the advisor started

    def __post_init__(self) -> None:
        if self.weight not in WEIGHTS:
            raise UsageError(f"--weight must be calls or total_time, not {self.weight!r}")
        if self.max_width < 1 or self.max_width > 32:
            raise UsageError("--max-width must be between 1 and 32")
        if self.max_indexes is not None and self.max_indexes < 0:
            raise UsageError("--max-indexes must be zero or more")
        if self.budget_bytes is not None and self.budget_bytes < 0:
            raise UsageError("--budget must be zero or more")
        if not 0.0 <= self.min_improvement < 1.0:
            raise UsageError("--min-improvement must be a fraction between 0 and 1 (0.10 = 10 %)")


class CostOracle(Protocol):
    def cost(self, sid: int, indexes: frozenset[IndexDef]) -> float | None: ...

    def size(self, ix: IndexDef) -> int | None: ...


# --- statements in the advisor -----------------------------------------------------------------------

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

    @functools.cached_property
    def tables(self) -> list[TableName]:
        return self.analysis.tables

    def relevant(self, ix: IndexDef) -> bool:
        t = ix.table_key
        read = self.analysis.referenced.get(t)
        if read is None:
            return False
        if ix.where and not set(ix.where) <= self.constants.get(t, set()):
            return False
        if ix.columns[0] in self.indexable.get(t, ()):
            return True
        return bool(read) and read <= set(ix.columns) | set(ix.include)


# --- candidates --------------------------------------------------------------------------------------

def _floor_bounds(it: Item, ix: IndexDef) -> bool:
    """Whether `it`'s floor (its cost with its own candidates) bounds what `ix` can do for it:
    `ix` is one of them, or it serves `it` only through a key prefix that is one of them and
    cannot cover every column `it` reads (no index-only scan the floor did not see)."""
    if not it.seed:
        return False
    if ix in it.seed:
        return True
    t = ix.table_key
    usable = it.indexable.get(t, ())
    cols = ix.columns
    k = 0
    while k < len(cols) and cols[k] in usable:
        k += 1
    if k == 0:
        return False  # nothing usable
    read = it.analysis.referenced.get(t)
    if read and len(read) <= len(cols) + len(ix.include) and read <= set(cols) | set(ix.include):
        return False  # an index-only scan the floor did not see
    if it.seed_keys is None:
        it.seed_keys = frozenset((s.columns, s.where) for s in it.seed if not s.include)
    return (cols[:k], ix.where) in it.seed_keys


def _opclass(table: TableInfo, catalog: Catalog, access: Access, column: str) -> str:
    """A pattern operator class when the column serves only LIKE 'prefix%' and its collation is not C."""
    info = table.columns.get(column)
    if info is None or column not in access.like_prefix or catalog.c_collation(info):
        return ""
    if column in access.equality or column in access.join or column in {c for c, _ in access.order}:
        return ""
    return PATTERN_OPS.get(info.base_type, "")


def _make(table: TableInfo, catalog: Catalog, access: Access, columns: list[str], desc: list[bool] | None = None,
          where: tuple[Constant, ...] = ()) -> IndexDef | None:
    if not columns or len(set(columns)) != len(columns):
        return None
    for c in columns:
        info = table.columns.get(c)
        if info is None or not info.btree_ok:
            return None
    ops = tuple(_opclass(table, catalog, access, c) for c in columns)
    return IndexDef(schema=table.schema, table=table.name, columns=tuple(columns),
                    desc=tuple(desc) if desc else (), opclasses=ops, where=where)


def _low_cardinality(table: TableInfo, const: Constant) -> bool:
    info = table.columns.get(const.column)
    if info is None:
        return False
    if const.op in ("IS NULL", "IS NOT NULL"):
        frac = info.null_frac if info.null_frac is not None else 0.0
        share = frac if const.op == "IS NULL" else 1.0 - frac
        return share < 0.5  # few rows match: a partial index on the rest stays small
    distinct = info.distinct_values(table.reltuples)
    return distinct is not None and 0 < distinct <= LOW_CARDINALITY


def access_candidates(access: Access, table: TableInfo, catalog: Catalog, max_width: int,
                      partial: bool = True) -> list[IndexDef]:
    """Indexes that could serve one access, in a deterministic order (singles first)."""
    out: list[IndexDef] = []

    def add(ix: IndexDef | None) -> None:
        if ix is not None and ix not in out:
            out.append(ix)

    for c in access.indexable:
        add(_make(table, catalog, access, [c]))
    eq = [c for c in [*access.equality, *access.join] if c in table.columns]
    eq = list(dict.fromkeys(eq))
    ranges = [c for c in access.range if c not in eq]
    order = [(c, d) for c, d in access.order]
    groups = [c for c in access.group]
    orders_eq = [c for c in eq if c not in {o for o, _ in order}]
    perms: list[tuple[str, ...]] = []
    for k in range(1, min(len(eq), max_width) + 1 if max_width >= 2 else 0):
        source = itertools.permutations(eq, k) if len(eq) <= MAX_EQUALITY_PERMUTED else [tuple(eq[:k])]
        perms.extend(source)
    for p in perms:
        if len(p) >= 2:
            add(_make(table, catalog, access, list(p)))
        if len(p) < max_width:
            for r in ranges:
                add(_make(table, catalog, access, [*p, r]))
    if order and max_width >= 2:
        cols = [c for c, _ in order][:max_width]
        add(_make(table, catalog, access, cols, [d for _, d in order][:max_width]))
        for e in orders_eq:
            room = max_width - 1
            if room >= 1:
                add(_make(table, catalog, access, [e, *[c for c, _ in order][:room]],
                          [False, *[d for _, d in order][:room]]))
    if len(groups) >= 2 and max_width >= 2:
        add(_make(table, catalog, access, groups[:max_width]))
    for const in access.constants if partial else []:
        if not _low_cardinality(table, const):
            continue
        others = [c for c in access.filter_columns if c != const.column]
        keys: list[list[str]] = [[c] for c in others]
        if order:
            keys.append([c for c, _ in order if c != const.column][:max_width])
        ordered = [c for c, _ in order if c != const.column]
        for e in [c for c in eq if c != const.column]:
            for r in ranges:
                if r != const.column:
                    keys.append([e, r][:max_width])
            if ordered and e not in ordered:
                keys.append([e, *ordered][:max_width])          # equality, then the ORDER BY (… LIMIT)
        for k in keys:
            k = k[:max_width]
            if k:
                directions = dict(order)
                desc = [directions.get(c, False) for c in k] if order and any(c in directions for c in k) else None
                add(_make(table, catalog, access, k, desc, where=(const,)))
    return out


def existing_defs(table: TableInfo) -> list[IndexDef]:
    """The table's valid plain-column btree indexes as IndexDefs (expression and partial indexes, and
    those with another operator class, collation or NULLS order, left out: they cover no plain
    candidate; the planner still sees them when it costs)."""
    out = []
    for ix in table.indexes:
        names = ix.column_names
        if not ix.is_valid or ix.method != "btree" or any(c is None for c in names) or not names \
                or ix.predicate or not ix.plain:
            continue
        out.append(IndexDef(schema=table.schema, table=table.name, columns=tuple(c for c in names if c),
                            desc=tuple(ix.descending[:len(ix.columns)]), include=tuple(ix.include)))
    return out


def covered_by(candidate: IndexDef, existing: list[IndexDef]) -> IndexDef | None:
    """An existing index that already serves whatever `candidate` would (candidate is its prefix)."""
    plain = IndexDef(schema=candidate.schema, table=candidate.table, columns=candidate.columns,
                     desc=candidate.desc, include=candidate.include, opclasses=candidate.opclasses)
    for e in existing:
        if plain.prefix_of(e):
            return e
    return None


def generate_candidates(items: list[Item], catalog: Catalog, max_width: int,
                        partial: bool = True) -> tuple[list[IndexDef], dict]:
    """Candidates of every usable statement (deduplicated, deterministic order) and the ones that
    existing indexes cover (candidate → the covering index's label)."""
    seen: dict[IndexDef, None] = {}
    covered: dict[IndexDef, str] = {}
    existing = {t.key: existing_defs(t) for t in catalog.tables}
    for it in items:
        own: list[IndexDef] = []
        for acc in it.analysis.accesses:
            table = catalog.get(acc.table)
            if table is None:
                continue
            for ix in access_candidates(acc, table, catalog, max_width, partial):
                if ix in covered:
                    continue
                if ix not in seen:
                    cover = covered_by(ix, existing.get(acc.table, []))
                    if cover is not None:
                        covered[ix] = _existing_name(table, cover)
                        continue
                    seen[ix] = None
                own.append(ix)
        it.seed, it.seed_keys = frozenset(own), None
    return list(seen), covered


def _existing_name(table: TableInfo, ix: IndexDef) -> str:
    for info in table.indexes:
        if tuple(c for c in info.column_names if c) == ix.columns:
            return info.name
    return ix.label()


# --- selection ---------------------------------------------------------------------------------------

@dataclass
class Move:
    new: IndexDef
    old: IndexDef | None = None
    seq: int = 0
    ratio: float = 0.0
    benefit: float = 0.0
    best_relative: float = 0.0
    delta_size: int = 0
    version: int = -1
    exact: bool = False
    status: str = "not evaluated"
    boundable: bool | None = None
    contrib: dict[int, tuple[float, float]] | None = None   # last exact costing: position → (weighted saving, relative)
    contrib_version: int = -1

    @property
    def kind(self) -> str:
        return "widen" if self.old is not None else "add"


@dataclass
class Step:
    number: int
    move: Move
    runners_up: list[Move]


class Selector:
    """Greedy benefit-per-byte selection with lazy re-evaluation (see the module docstring)."""

    def __init__(self, items: list[Item], oracle: CostOracle, options: AdvisorOptions, catalog: Catalog,
                 candidates: list[IndexDef], writes: list[Item] | None = None, deadline: float | None = None,
                 shared: dict | None = None):
        self.items = [it for it in items if it.sid is not None and it.base is not None]
        self.oracle = oracle
        self.options = options
        self.catalog = catalog
        self.candidates = candidates
        self.writes = writes or []
        self.deadline = deadline
        self.config: list[IndexDef] = []
        self.cur: dict[int, float] = {it.position: float(it.base) for it in self.items}
        self.floor: dict[int, float] = {it.position: float(it.floor if it.floor is not None else it.base)
                                        for it in self.items}
        self.changed: dict[int, int] = {it.position: 0 for it in self.items}
        self.version = 0
        self.by_table: dict[TableName, list[Item]] = {}
        self.by_leading: dict[tuple[TableName, str], list[Item]] = {}
        self.narrow: dict[TableName, list[Item]] = {}   # statements an index could cover entirely
        for it in self.items:
            for t in it.tables:
                self.by_table.setdefault(t, []).append(it)
                read = it.analysis.referenced.get(t, set())
                if read and len(read) <= options.max_width:
                    self.narrow.setdefault(t, []).append(it)
            for t, cols in it.indexable.items():
                for c in cols:
                    self.by_leading.setdefault((t, c), []).append(it)
        shared = shared if shared is not None else {}
        self._affected: dict[IndexDef, list[Item]] = shared.setdefault("affected", {})
        self._affected_pos: dict[IndexDef, set[int]] = shared.setdefault("affected_pos", {})
        self.moves: dict[tuple[IndexDef | None, IndexDef], Move] = {}
        self.heap: list[tuple[float, int, int]] = []
        self._seq = itertools.count()
        self._move_by_seq: dict[int, Move] = {}
        self.steps: list[Step] = []
        self.pruned: dict[IndexDef, str] = {}
        self.widened: dict[IndexDef, IndexDef] = {}
        self.evaluations = 0
        self.refinements = 0
        self.banned: set[IndexDef] = set()
        self.work_limit: int | None = None    # set while refining: stop after this many EXPLAINs in all
        self._penalties: dict[IndexDef, float] = {}
        self._chosen_key: tuple | None = None
        self._chosen_val: tuple[set[IndexDef], int] = (set(), 0)
        self._leading: dict[tuple, list[IndexDef]] = {}

    # -- costs --------------------------------------------------------------------------------------
    def affected(self, ix: IndexDef) -> list[Item]:
        """Statements `ix` is relevant to (see Item.relevant), in workload order."""
        got = self._affected.get(ix)
        if got is None:
            t = ix.table_key
            lead = self.by_leading.get((t, ix.columns[0]), [])
            if not ix.where and not self.narrow.get(t):
                got = list(lead)   # each uses the leading column, and nothing else could: all relevant
            else:
                pool = {it.position: it for it in lead}
                pool.update((it.position, it) for it in self.narrow.get(t, []))
                got = [pool[p] for p in sorted(pool) if pool[p].relevant(ix)]
            self._affected[ix] = got
            self._affected_pos[ix] = {it.position for it in got}
        return got

    def relevant_set(self, it: Item, config) -> frozenset[IndexDef]:
        out = []
        for ix in config:
            pos = self._affected_pos.get(ix)
            if pos is None:
                self.affected(ix)
                pos = self._affected_pos[ix]
            if it.position in pos:
                out.append(ix)
        return frozenset(out)

    def _prefetch(self, items: list[Item], config: list[IndexDef]) -> None:
        """Let the oracle cost these statements under `config` in one pipelined go, when it can."""
        prefetch = getattr(self.oracle, "prefetch", None)
        if prefetch is not None and len(items) >= 2:
            prefetch([(it.sid, self.relevant_set(it, config)) for it in items], frozenset(config))

    def size(self, ix: IndexDef) -> int:
        s = self.oracle.size(ix)
        return int(s) if s else 0

    def penalty(self, ix: IndexDef | None) -> float:
        """Write cost of keeping `ix`: weighted rows written to its table × entry cost."""
        if ix is None:
            return 0.0
        got = self._penalties.get(ix)
        if got is not None:
            return got
        total = 0.0
        cols = set(ix.columns) | set(ix.include) | {c.column for c in ix.where}   # a predicate column too
        table = self.catalog.get(ix.table_key)
        if table is not None:
            total += table.unseen_write_rows * INDEX_ENTRY_COST
        for w in self.writes:
            if w.analysis.target != ix.table_key:
                continue
            kind = w.analysis.kind
            if kind == "INSERT" or (kind == "UPDATE" and cols & w.analysis.set_columns):
                total += w.weight * max(w.written_rows, 0.0) * INDEX_ENTRY_COST
        self._penalties[ix] = total
        return total

    def total_cost(self) -> float:
        return sum(it.weight * self.cur[it.position] for it in self.items)

    # -- moves --------------------------------------------------------------------------------------
    def _chosen(self) -> tuple[set[IndexDef], int]:
        """The configuration as a set, and its size in bytes (recomputed only when it changed)."""
        key = (self.version, id(self.config), len(self.config))
        if self._chosen_key != key:
            self._chosen_key = key
            self._chosen_val = (set(self.config), sum(self.size(ix) for ix in self.config))
            self._leading = {}
            for x in self.config:
                for k in range(1, len(x.columns) + 1):
                    self._leading.setdefault((x.table_key, x.columns[:k], x.where), []).append(x)
        return self._chosen_val

    def _leads_chosen(self, ix: IndexDef, besides: IndexDef | None = None) -> IndexDef | None:
        """A chosen index (other than `besides`) that `ix` is a redundant prefix of (I103's rule)."""
        self._chosen()
        for x in self._leading.get((ix.table_key, ix.columns, ix.where), ()):
            if x != ix and x != besides and ix.prefix_of(x):
                return x
        return None

    def _fits(self, move: Move) -> bool:
        chosen, used = self._chosen()
        if move.old is not None and move.old not in chosen:
            return False
        if move.new in chosen:
            return False
        if move.old is None and self.options.max_indexes is not None and len(self.config) >= self.options.max_indexes:
            return False
        if self.options.budget_bytes is not None:
            if used + move.delta_size > self.options.budget_bytes:
                return False
        return True

    def _stale(self, move: Move) -> bool:
        if not move.exact:
            return True
        for it in self._move_items(move):
            if self.changed[it.position] > move.version:
                return True
        return False

    def _move_items(self, move: Move) -> list[Item]:
        if move.old is None:
            return self.affected(move.new)   # shared: callers only read it
        items = list(self.affected(move.new))
        have = {it.position for it in items}
        items += [it for it in self.affected(move.old) if it.position not in have]
        return items

    def evaluate(self, move: Move, items: list[Item] | None = None) -> Move:
        """Cost `move` against the current configuration (on `items`, default: all it affects)."""
        exact = items is None
        items = self._move_items(move) if items is None else items
        new_config = [ix for ix in self.config if ix != move.old] + [move.new]
        self._prefetch(items, new_config)
        benefit, best_rel = 0.0, 0.0
        contrib: dict[int, tuple[float, float]] = {}
        for it in items:
            c = self.oracle.cost(it.sid, self.relevant_set(it, new_config))
            self.evaluations += 1
            if c is None:
                continue
            if c < self.floor[it.position]:
                self.floor[it.position] = c
            cur = self.cur[it.position]
            d = cur - c
            benefit += it.weight * d
            rel = d / cur if cur > 0 else 0.0
            best_rel = max(best_rel, rel)
            contrib[it.position] = (it.weight * d, rel)
        if exact:
            move.contrib, move.contrib_version = contrib, self.version
        benefit -= self.penalty(move.new) - self.penalty(move.old)
        move.delta_size = self.size(move.new) - (self.size(move.old) if move.old is not None else 0)
        move.benefit = benefit
        move.best_relative = best_rel
        move.ratio = benefit / max(move.delta_size, PAGE)
        move.version = self.version
        move.exact = exact
        return move

    def admissible(self, move: Move) -> bool:
        bar = self.options.min_improvement
        return move.benefit > 1e-9 and move.best_relative >= max(bar, 1e-9)

    def _push(self, move: Move) -> None:
        heapq.heappush(self.heap, (-move.ratio, move.seq, move.seq))

    def _register(self, new: IndexDef, old: IndexDef | None) -> Move | None:
        key = (old, new)
        if key in self.moves:
            return None
        move = Move(new=new, old=old, seq=next(self._seq))
        self.moves[key] = move
        self._move_by_seq[move.seq] = move
        return move

    def _widenings(self, ix: IndexDef) -> list[tuple[IndexDef, list[Item]]]:
        """Indexes one column wider than `ix` that some statement could use, with the statements
        whose cost the new column can change (the others only see a larger index). A column is
        appended as a key column when a statement filters, joins, sorts or groups on it, or when it
        is the last column a statement reads (index-only scan); with INCLUDE allowed, the latter
        is also tried as an INCLUDE column."""
        if ix.width >= self.options.max_width:
            return []
        table = self.catalog.get(ix.table_key)
        found: list[IndexDef] = []
        have = set(ix.columns) | set(ix.include)
        for it in self.affected(ix):
            read = it.analysis.referenced.get(ix.table_key, set())
            if not set(ix.columns) <= read | it.indexable.get(ix.table_key, set()):
                continue
            usable = it.indexable.get(ix.table_key, set())
            missing = read - have
            for col in sorted(missing):
                info = table.columns.get(col) if table else None
                if info is None or not info.btree_ok:
                    continue
                completes = missing == {col}
                if col not in usable and not completes:
                    continue
                if not ix.include:
                    found.append(IndexDef(schema=ix.schema, table=ix.table, columns=(*ix.columns, col),
                                          desc=(*[ix.is_desc(i) for i in range(len(ix.columns))], False),
                                          opclasses=(*[ix.opclass(i) for i in range(len(ix.columns))], ""),
                                          where=ix.where))
                if completes and self.options.include and col not in usable:
                    found.append(IndexDef(schema=ix.schema, table=ix.table, columns=ix.columns, desc=ix.desc,
                                          opclasses=ix.opclasses, where=ix.where, include=(*ix.include, col)))
        out = []
        for wider in sorted(set(found), key=IndexDef.sort_key):
            added = (set(wider.columns) | set(wider.include)) - have
            primary = [it for it in self.affected(wider)
                       if added & it.analysis.referenced.get(ix.table_key, set())]
            out.append((wider, primary))
        return out

    def _add_widenings(self, ix: IndexDef) -> None:
        for wider, primary in self._widenings(ix):
            move = self._register(wider, ix)
            if move is None:
                continue
            if self._boundable(move):
                self._consider(move)
                continue
            self.evaluate(move, primary)   # screening estimate on the statements it can change
            if move.benefit > 0:
                self._push(move)
            else:
                move.status = "no benefit"

    def _boundable(self, move: Move, items: list[Item] | None = None) -> bool:
        """Whether the statements' floors bound this move: its index was among their own
        candidates when the floors were costed (else it might beat them, e.g. a covering index)."""
        if items is None:
            if move.boundable is None:
                got = self._move_items(move)
                move.boundable = bool(got) and all(_floor_bounds(it, move.new) for it in got)
            return move.boundable
        return bool(items) and all(_floor_bounds(it, move.new) for it in items)

    def bound(self, move: Move) -> tuple[float, float]:
        """(upper bound of the move's benefit, of its best relative saving) from the floors."""
        gain, rel = 0.0, 0.0
        current, floor = self.cur, self.floor
        for it in self._move_items(move):
            cur, low = current[it.position], floor[it.position]
            if cur > low:
                gain += it.weight * (cur - low)
                if cur > 0 and (cur - low) / cur > rel:
                    rel = (cur - low) / cur
        return gain - (self.penalty(move.new) - self.penalty(move.old)), rel

    def refined_bound(self, move: Move) -> tuple[float, float]:
        """An upper bound of a move's benefit now, from its last exact costing: statements whose
        index set has not changed since keep their exact saving; the others can save at most
        their current cost down to their floor (or to zero when the floor does not bound it)."""
        assert move.contrib is not None
        gain, rel = 0.0, 0.0
        for it in self._move_items(move):
            p = it.position
            if self.changed[p] <= move.contrib_version:
                d, r = move.contrib.get(p, (0.0, 0.0))
            else:
                cur = self.cur[p]
                low = self.floor[p] if _floor_bounds(it, move.new) else 0.0
                d = it.weight * max(cur - low, 0.0)
                r = (cur - low) / cur if cur > 0 else 0.0
            gain += d
            rel = max(rel, r)
        return gain - (self.penalty(move.new) - self.penalty(move.old)), rel

    def _consider(self, move: Move) -> bool:
        """Queue a move by its bound, without costing it (it is costed when it reaches the top);
        a move whose bound cannot pass the --min-improvement bar is set aside."""
        gain, rel = self.bound(move)
        if gain <= 1e-9 or rel < max(self.options.min_improvement, FLOOR_EPSILON):
            move.status = "no benefit" if gain <= 1e-9 else "below --min-improvement"
            move.exact = False
            return False
        if not move.delta_size:
            move.delta_size = self.size(move.new) - (self.size(move.old) if move.old is not None else 0)
        move.benefit = gain
        move.ratio = gain / max(move.delta_size, PAGE)
        move.exact = False
        move.version = self.version
        self._push(move)
        return True

    def _work(self) -> int:
        """EXPLAINs run so far (the oracle's count when it keeps one, else cost lookups)."""
        stats = getattr(self.oracle, "stats", None)
        return int(stats.explains) if stats is not None else self.evaluations

    def _past(self, until: float) -> bool:
        """The local search stops at its work limit (deterministic) or at `until` (a wall-clock cap)."""
        return time.perf_counter() >= until or (self.work_limit is not None and self._work() >= self.work_limit)

    def _out_of_time(self) -> bool:
        return (self.deadline is not None and time.perf_counter() > self.deadline) or \
            (self.work_limit is not None and self._work() >= self.work_limit)

    # -- the greedy loop ----------------------------------------------------------------------------
    def run(self, refine_until: float | None = None) -> list[IndexDef]:
        for ix in self.candidates:
            move = self._register(ix, None)
            if move is None:
                continue
            if self._boundable(move):
                self._consider(move)
                continue
            self.evaluate(move)
            if self.admissible(move):
                self._push(move)
            else:
                move.status = "no benefit" if move.benefit <= 1e-9 else "below --min-improvement"
        self._converge()
        if self._bundles():
            self._converge(refresh=False)
        if refine_until is not None:
            self.refine(refine_until)
        return list(self.config)

    def _bundles(self) -> bool:
        """OR branches on different columns (`email = $1 OR name = $1`) need an index per branch
        before a BitmapOr can replace the scan, so no single index pays on its own: for each such
        access, cost its missing branch indexes together and take them all when that pays."""
        by_key = {(ix.table_key, ix.columns): ix for ix in self.candidates
                  if len(ix.columns) == 1 and not ix.where and not ix.include}
        taken = False
        for it in self.items:
            for acc in it.analysis.accesses:
                if len(acc.either) < 2:
                    continue
                chosen, used = self._chosen()
                lead = {x.columns[0] for x in chosen if x.table_key == acc.table and not x.where}
                bundle = [by_key[(acc.table, (c,))] for c in acc.either
                          if c not in lead and (acc.table, (c,)) in by_key]
                if len(bundle) < 2 or any(ix in self.banned for ix in bundle):
                    continue
                size = sum(self.size(ix) for ix in bundle)
                if (self.options.budget_bytes is not None and used + size > self.options.budget_bytes) or \
                        (self.options.max_indexes is not None
                         and len(self.config) + len(bundle) > self.options.max_indexes):
                    continue
                config = [*self.config, *bundle]
                touched = {x.position: x for ix in bundle for x in self.affected(ix)}
                gain, best = 0.0, 0.0
                for x in touched.values():
                    c = self.oracle.cost(x.sid, self.relevant_set(x, config))
                    if c is None:
                        continue
                    cur = self.cur[x.position]
                    gain += x.weight * (cur - c)
                    best = max(best, (cur - c) / cur if cur > 0 else 0.0)
                gain -= sum(self.penalty(ix) for ix in bundle)
                if gain <= 1e-9 or best < max(self.options.min_improvement, 1e-9):
                    continue
                self.set_config(config)
                for ix in bundle:
                    move = self.moves.get((None, ix)) or self._register(ix, None)
                    if move is not None:
                        move.status = "taken"
                        self.steps.append(Step(number=len(self.steps) + 1, move=Move(
                            new=ix, benefit=gain / len(bundle), delta_size=self.size(ix), exact=True,
                            ratio=gain / max(size, PAGE)), runners_up=[]))
                taken = True
        return taken

    def _converge(self, refresh: bool = True) -> None:
        for _round in range(4):
            self._greedy(refresh)
            if not self._prune():
                break
            self._requeue()

    def _valid(self, move: Move) -> bool:
        chosen, _used = self._chosen()
        return (move.old is None or move.old in chosen) and move.new not in chosen and move.new not in self.banned \
            and self._leads_chosen(move.new, besides=move.old) is None

    def _requeue(self) -> None:
        self.heap = []
        for move in self.moves.values():
            if self._valid(move):
                self._push(move)

    def set_config(self, config: list[IndexDef]) -> None:
        """Switch to another configuration, re-costing only the statements whose index set changed."""
        old = set(self.config)
        self.config = list(config)
        changed = old ^ set(config)
        if not changed:
            return
        touched: dict[int, Item] = {}
        for ix in changed:
            for it in self.affected(ix):
                touched[it.position] = it
        self._recost(touched.values(), failed_to_base=True)

    def refine(self, until: float) -> None:
        """Local search after the greedy, keeping any change that makes the workload cheaper and
        restarting after it, until nothing helps or time runs out. Two neighbourhoods:
        *drop*: remove one chosen index (weakest first) and let the greedy refill the freed budget
        without it; *force*: take a promising candidate the greedy left out (best benefit first),
        evict the weakest chosen indexes until it fits, and let the greedy refill."""
        best, best_cost = list(self.config), self.total_cost()
        tried: set[frozenset[IndexDef]] = set()
        improved = True
        while improved and not self._past(until):
            improved = False
            for start, banned in self._neighbours(best, until):
                if self._past(until):
                    break
                key = frozenset(start)
                if key in tried:
                    continue
                tried.add(key)
                history = (len(self.steps), {k: m.status for k, m in self.moves.items()}, dict(self.pruned),
                           dict(self.widened))
                self.set_config(start)
                self.banned = banned
                saved_deadline, self.deadline = self.deadline, until
                self._requeue()
                self._converge(refresh=False)
                self.deadline = saved_deadline
                self.banned = set()
                cost = self.total_cost()
                if cost < best_cost * (1 - 1e-6):
                    best, best_cost = list(self.config), cost
                    self.refinements += 1
                    improved = True
                    break
                self._forget_trial(history)   # --explain-choice shows the search that led to the result
                self.set_config(best)
        self.set_config(best)

    def _forget_trial(self, history: tuple) -> None:
        steps, statuses, pruned, widened = history
        del self.steps[steps:]
        for k, m in self.moves.items():
            m.status = statuses.get(k, "not evaluated")
        self.pruned, self.widened = pruned, widened

    def replace_loss(self, old: IndexDef, new: IndexDef | None) -> float:
        """Weighted workload cost added by replacing `old` with `new` (None: dropping it)."""
        config = [x for x in self.config if x != old] + ([new] if new is not None else [])
        items = {it.position: it for it in self.affected(old)}
        if new is not None:
            items.update({it.position: it for it in self.affected(new)})
        loss = 0.0
        for it in items.values():
            c = self.oracle.cost(it.sid, self.relevant_set(it, config))
            if c is not None:
                loss += it.weight * (c - self.cur[it.position])
        return loss - self.penalty(old) + self.penalty(new)

    def _cheapest_shrink(self, keep: IndexDef) -> tuple[IndexDef, IndexDef | None] | None:
        """The way to free space that loses least per byte: drop a chosen index, or narrow it by
        its last column."""
        best, best_key = None, None
        for x in self.config:
            if x == keep:
                continue
            options: list[IndexDef | None] = [None]
            if x.include:
                options.append(IndexDef(schema=x.schema, table=x.table, columns=x.columns, desc=x.desc,
                                        opclasses=x.opclasses, where=x.where, include=x.include[:-1]))
            elif len(x.columns) > 1:
                n = len(x.columns) - 1
                options.append(IndexDef(schema=x.schema, table=x.table, columns=x.columns[:n], desc=x.desc[:n],
                                        opclasses=x.opclasses[:n], where=x.where))
            for narrower in options:
                if narrower is not None and (narrower in self.config or not self.size(narrower)):
                    continue
                freed = self.size(x) - (self.size(narrower) if narrower is not None else 0)
                if freed <= 0:
                    continue
                key = (self.replace_loss(x, narrower) / freed, x.sort_key(), narrower is None)
                if best_key is None or key < best_key:
                    best, best_key = (x, narrower), key
        return best

    def _promising(self, best: list[IndexDef], until: float) -> list[Move]:
        """Moves the greedy left out, best *current* benefit first: stored benefits are upper
        bounds from older configurations, so the top ones are re-bounded, then re-costed, until
        the top is fresh."""
        heap = [(-m.benefit, m.seq) for m in self.moves.values()
                if m.new not in best and (m.old is None or m.old in best) and m.benefit > 0]
        heapq.heapify(heap)
        out: list[Move] = []
        bounded: set[int] = set()
        fresh: set[int] = set()
        bar = max(self.options.min_improvement, FLOOR_EPSILON)
        while heap and len(out) < REFINE_FORCED and not self._past(until):
            _neg, seq = heapq.heappop(heap)
            move = self._move_by_seq[seq]
            if seq in fresh:
                out.append(move)
                continue
            if seq not in bounded and self._boundable(move):
                bounded.add(seq)
                gain, rel = self.bound(move)
                if gain > 1e-9 and rel >= bar:
                    heapq.heappush(heap, (-gain, seq))
                continue
            self.evaluate(move)
            fresh.add(seq)
            if move.benefit > 0:
                heapq.heappush(heap, (-move.benefit, seq))
        return out

    def _neighbours(self, best: list[IndexDef], until: float):
        """Starting configurations for `refine`, generated lazily so the time limit stops early:
        first each promising left-out move forced in (space freed by dropping or narrowing the
        chosen indexes that lose least per byte), then each chosen index dropped, weakest first."""
        self.set_config(best)
        budget = self.options.budget_bytes
        constrained = budget is not None or self.options.max_indexes is not None
        for m in self._promising(best, until) if constrained else []:
            if self._past(until):
                return
            start = [x for x in best if x != m.old] + [m.new]
            if self.options.max_indexes is not None and len(start) > self.options.max_indexes:
                continue
            self.set_config(start)
            while budget is not None and sum(self.size(x) for x in self.config) > budget:
                shrink = self._cheapest_shrink(keep=m.new)
                if shrink is None:
                    break
                old, narrower = shrink
                self.set_config([x for x in self.config if x != old] + ([narrower] if narrower else []))
            fits = budget is None or sum(self.size(x) for x in self.config) <= budget
            start = list(self.config)
            self.set_config(best)
            if fits:
                yield start, set()
        if self._past(until):
            return
        ranked = sorted(best, key=lambda ix: (self.marginal(ix)[0] / max(self.size(ix), PAGE), ix.sort_key()))
        for ix in ranked:
            yield [x for x in best if x != ix], {ix}

    def _greedy(self, refresh: bool = True) -> None:
        refreshes = 0 if refresh else 99
        while True:
            while self.heap:
                if self._out_of_time():
                    return
                _neg, _s, seq = heapq.heappop(self.heap)
                move = self._move_by_seq[seq]
                if not self._valid(move):
                    continue
                if move.delta_size == 0 and move.old is None:
                    move.delta_size = self.size(move.new)
                if not self._fits(move):
                    move.status = ("over budget" if self.options.budget_bytes is not None
                                   and (self.options.max_indexes is None or move.old is not None
                                        or len(self.config) < self.options.max_indexes)
                                   else "--max-indexes reached")
                    continue
                if self._stale(move):
                    rebound = move.version < self.version and (move.contrib is not None or
                                                               (not move.exact and self._boundable(move)))
                    if rebound:
                        gain, rel = self.refined_bound(move) if move.contrib is not None else self.bound(move)
                        move.exact = False
                        move.version = self.version
                        if gain <= 1e-9 or rel < max(self.options.min_improvement, FLOOR_EPSILON):
                            move.status = "no benefit" if gain <= 1e-9 else "below --min-improvement"
                            continue
                        move.benefit, move.ratio = gain, gain / max(move.delta_size, PAGE)
                        if self.heap and move.ratio < -self.heap[0][0]:
                            self._push(move)   # its bound no longer leads: cost it only if it comes back
                            continue
                    self.evaluate(move)
                    if not self.admissible(move):
                        move.status = "no benefit" if move.benefit <= 1e-9 else "below --min-improvement"
                        continue
                    if self.heap and move.ratio < (1 - NEAR_TIE) * -self.heap[0][0]:
                        self._push(move)
                        continue
                if not self.admissible(move):
                    continue
                self._apply(move)
            refreshes += 1
            if refreshes > 2 or self._out_of_time() or not self._refresh():
                return

    def _refresh(self) -> bool:
        """Re-cost every move evaluated before its statements last changed; True when one now pays."""
        pushed = False
        for move in self.moves.values():
            if not self._valid(move) or not self._fits(move) or not self._stale(move):
                continue
            if move.contrib is not None and move.version < self.version:
                gain, rel = self.refined_bound(move)
                move.exact, move.version = False, self.version
                if gain > 1e-9 and rel >= max(self.options.min_improvement, FLOOR_EPSILON):
                    move.benefit, move.ratio = gain, gain / max(move.delta_size, PAGE)
                    self._push(move)
                    pushed = True
                continue
            if self._boundable(move):
                pushed = self._consider(move) or pushed
                continue
            self.evaluate(move)
            if self.admissible(move):
                self._push(move)
                pushed = True
        return pushed

    def _apply(self, move: Move) -> None:
        runners = []
        for neg, _s, seq in heapq.nsmallest(3, self.heap):
            other = self._move_by_seq[seq]
            if other is not move:
                runners.append(Move(new=other.new, old=other.old, ratio=-neg, benefit=other.benefit,
                                    delta_size=other.delta_size, exact=other.exact))
        if move.old is not None:
            self.config = [move.new if ix == move.old else ix for ix in self.config]
            self.widened[move.old] = move.new
        else:
            self.config.append(move.new)
        move.status = "taken"
        self._recost(self._move_items(move))
        self.steps.append(Step(number=len(self.steps) + 1, move=Move(**{**move.__dict__}), runners_up=runners))
        self._add_widenings(move.new)

    def marginal(self, ix: IndexDef) -> tuple[float, float]:
        """(weighted cost the index saves given the others − its write cost, best relative saving)."""
        without = [x for x in self.config if x != ix]
        benefit, best_rel = 0.0, 0.0
        plan_uses = getattr(self.oracle, "plan_uses", None)
        need = []
        for it in self.affected(ix):
            if plan_uses is not None:
                used = plan_uses(it.sid, self.relevant_set(it, self.config))
                if used is not None and ix not in used:
                    continue   # its current plan does without ix: taking ix away cannot change its cost
            need.append(it)
        self._prefetch(need, without)
        for it in need:
            c = self.oracle.cost(it.sid, self.relevant_set(it, without))
            if c is None:
                continue
            d = c - self.cur[it.position]
            benefit += it.weight * d
            if c > 0:
                best_rel = max(best_rel, d / c)
        return benefit - self.penalty(ix), best_rel

    def _prune(self) -> bool:
        """Drop indexes the others already cover (or that no longer pay); True when any went."""
        removed = False
        bar = max(self.options.min_improvement, 1e-9)
        for ix in sorted(self.config, key=IndexDef.sort_key):   # a prefix of another chosen index adds nothing
            longer = self._leads_chosen(ix) if ix in self.config else None
            if longer is not None:
                self._drop_chosen(ix, f"its key columns lead {longer.label()}, which serves the same scans")
                removed = True
        while True:
            # weakest per byte first; among indexes the others make useless, the largest goes first
            scored = sorted(((self.marginal(ix), ix) for ix in self.config),
                            key=lambda t: (max(t[0][0], 0.0) / max(self.size(t[1]), PAGE), -self.size(t[1]),
                                           t[1].sort_key()))
            victim = next(((m, ix) for m, ix in scored if m[0] <= 1e-9 or m[1] < bar), None)
            if victim is None:
                return removed
            (benefit, rel), ix = victim
            self._drop_chosen(ix, "its benefit is covered by the other recommended indexes" if benefit <= 1e-9
                              else f"improves no statement by --min-improvement ({rel:.1%} at best)")
            removed = True

    def _drop_chosen(self, ix: IndexDef, reason: str) -> None:
        self.config.remove(ix)
        self.pruned[ix] = reason
        self._recost(self.affected(ix))

    def _recost(self, items, *, failed_to_base: bool = False) -> None:
        """The configuration changed: a new version, and these statements' costs under it (a failed
        EXPLAIN keeps the last cost, or with `failed_to_base` falls back to the cost with none)."""
        self.version += 1
        for it in items:
            c = self.oracle.cost(it.sid, self.relevant_set(it, self.config))
            if c is not None:
                self.cur[it.position] = c
            elif failed_to_base:
                self.cur[it.position] = float(it.base)
            self.changed[it.position] = self.version


def select(items: list[Item], oracle: CostOracle, options: AdvisorOptions, catalog: Catalog,
           candidates: list[IndexDef], writes: list[Item], deadline: float | None = None,
           started: float | None = None) -> Selector:
    """Run the greedy from two candidate sets — all candidates, and single columns only (Extend's
    start, where multi-column indexes grow by widening) — keep the cheaper result, then refine it.
    Both runs share the oracle's cost cache, so the second costs little."""
    singles = [ix for ix in candidates if len(ix.columns) == 1 and not ix.where]
    variants = [candidates] + ([singles] if singles and len(singles) < len(candidates)
                               and len(items) <= SEARCH_MAX_STATEMENTS else [])
    best: Selector | None = None
    shared: dict = {}
    for cands in variants:
        sel = Selector(items, oracle, options, catalog, cands, writes=writes, deadline=deadline, shared=shared)
        sel.run()
        if best is None or sel.total_cost() < best.total_cost() - 1e-9:
            best = sel
    assert best is not None
    if options.refine_seconds > 0 and len(items) <= SEARCH_MAX_STATEMENTS:
        until = time.perf_counter() + options.refine_seconds
        if started is not None and options.time_budget_s:
            until = min(until, started + options.time_budget_s)
        best.work_limit = best._work() + options.refine_explains
        best.refine(until if deadline is None else min(until, deadline))
        best.work_limit = None
    return best


# --- heuristic ranking (no HypoPG) ----------------------------------------------------------------------

def estimated_size(ix: IndexDef, table: TableInfo) -> int:
    """A btree's size from row count and column widths (fill factor 90 %, 16 bytes overhead per entry)."""
    width = sum((table.columns[c].avg_width or 8) if c in table.columns else 8 for c in (*ix.columns, *ix.include))
    rows = max(table.reltuples, 1.0)
    if ix.where:
        rows *= 0.2
    entry = 16 + 8 * math.ceil(width / 8)
    return int(max(PAGE * 2, rows * entry / 0.9 + PAGE))


def _selectivity(table: TableInfo, column: str, kind: str) -> float:
    info = table.columns.get(column)
    if kind == "range":
        return 1 / 3
    distinct = info.distinct_values(table.reltuples) if info else None
    return 1 / distinct if distinct and distinct > 0 else 0.005


def heuristic_selection(items: list[Item], catalog: Catalog, options: AdvisorOptions) -> list[tuple[IndexDef, float]]:
    """Without HypoPG: per access, the equality-first index of its filter columns scored by
    weight × rows it would skip; greedy by score per estimated byte. Unverified by the planner."""
    scores: dict[IndexDef, float] = {}
    for it in items:
        for acc in it.analysis.accesses:
            table = catalog.get(acc.table)
            if table is None or table.reltuples < 1:
                continue
            cols: list[str] = []
            sel = 1.0
            for c in [*acc.equality, *acc.join]:
                if c not in cols and len(cols) < options.max_width:
                    cols.append(c)
                    sel *= _selectivity(table, c, "eq")
            if acc.range and len(cols) < options.max_width and acc.range[0] not in cols:
                cols.append(acc.range[0])
                sel *= _selectivity(table, acc.range[0], "range")
            if not cols and acc.order and acc.limit:
                cols = [c for c, _ in acc.order][:options.max_width]
                sel = 0.01
            ix = _make(table, catalog, acc, cols) if cols else None
            if ix is None or covered_by(ix, existing_defs(table)):
                continue
            scores[ix] = scores.get(ix, 0.0) + it.weight * table.reltuples * (1.0 - sel)
    chosen: list[tuple[IndexDef, float]] = []
    used = 0
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1] / estimated_size(kv[0], catalog.by_key()[kv[0].table_key]),
                                                     kv[0].sort_key()))
    for ix, score in ranked:
        if options.max_indexes is not None and len(chosen) >= options.max_indexes:
            break
        if any(ix.prefix_of(c) for c, _ in chosen):
            continue
        size = estimated_size(ix, catalog.by_key()[ix.table_key])
        if options.budget_bytes is not None and used + size > options.budget_bytes:
            continue
        chosen.append((ix, score))
        used += size
    return chosen


# --- orchestration -----------------------------------------------------------------------------------

@dataclass
class Recommendation:
    index: IndexDef
    size_bytes: int
    benefit: float
    definition: str
    statements: list[Item]
    verified: bool = True


@dataclass
class AdvisorResult:
    items: list[Item]
    recommendations: list[Recommendation]
    cost_before: float | None
    cost_after: float | None
    options: AdvisorOptions
    seconds: float
    explains: int = 0
    cache_hits: int = 0
    covered: dict[IndexDef, str] = field(default_factory=dict)
    selector: Selector | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def analysed(self) -> list[Item]:
        return [it for it in self.items if it.skip is None]

    @property
    def skipped(self) -> list[Item]:
        return [it for it in self.items if it.skip is not None]


def _has_hypopg(conn: psycopg.Connection) -> bool:
    from perftool.db.connect import server_info

    return server_info(conn).has_extension("hypopg")


def build_items(statements: list[WorkloadStatement], catalog: Catalog) -> list[Item]:
    from perftool.advisor.predicates import analyze

    items = []
    for i, s in enumerate(statements):
        a = analyze(s.text, catalog)
        it = Item(position=i, statement=s, analysis=a, skip=a.skip)
        if it.skip is None and a.kind == "SELECT" and not a.accesses:
            it.skip = "reads no table"
        items.append(it)
    return items


def _weights(items: list[Item], mode: str) -> None:
    for it in items:
        s = it.statement
        if mode == "total_time" and s.total_ms > 0 and it.base:
            it.weight = s.total_ms / it.base
        else:
            it.weight = max(float(s.calls), 0.0) or 1.0


def read_catalog(conn: psycopg.Connection, statements: list[WorkloadStatement]) -> Catalog:
    """The advisor's scope of the catalog: the relations the statements name (and those their views
    use), with the columns' most common values and the tables' row writes."""
    from perftool.catalog.schema import collect_catalog
    from perftool.workload.statement_text import relation_names

    names = {name for s in statements for _schema, name in relation_names(s.text)}
    return collect_catalog(conn, names=names, bloat=False, sequences=False, definitions=False,
                           values=True, writes=True)


def advise(conn: psycopg.Connection, statements: list[WorkloadStatement], options: AdvisorOptions,
           *, progress=None, deadline_s: float | None = None) -> AdvisorResult:
    """Analyse, cost, select and verify. `conn` is a safe read-only session with HypoPG (unless
    `options.whatif` is off)."""
    from perftool.advisor.whatif import WhatIf
    from perftool.db.connect import use_workload_search_path
    from perftool.db.errors import MissingExtension

    t0 = time.perf_counter()
    say = progress or (lambda _m: None)
    use_workload_search_path(conn)      # names resolve as the application's would
    catalog = read_catalog(conn, statements)
    items = build_items(statements, catalog)
    usable = [it for it in items if it.skip is None]
    say(f"{len(usable)} of {len(items)} statements analysable ({time.perf_counter() - t0:.1f} s)")
    role, major = conn.info.user, conn.info.server_version // 10000
    if not options.whatif:
        _weights(usable, "calls")
        hidden = {t for it in usable for t in it.tables if not (catalog.get(t) or TableInfo(*t)).can_select}
        notes = [n for n in [heuristic_statistics_note(role, hidden, major)] if n]
        chosen = heuristic_selection(usable, catalog, options)
        names = name_book(conn, [ix for ix, _score in chosen], catalog)
        recs = [Recommendation(index=ix, size_bytes=estimated_size(ix, catalog.by_key()[ix.table_key]), benefit=score,
                               definition=definition(ix, catalog, conn, names),
                               statements=[it for it in usable if it.relevant(ix)], verified=False)
                for ix, score in chosen]
        return AdvisorResult(items=items, recommendations=recs, cost_before=None, cost_after=None, options=options,
                             seconds=time.perf_counter() - t0, notes=notes)
    if not _has_hypopg(conn):
        raise MissingExtension("extension hypopg is not installed in this database",
                               "run CREATE EXTENSION hypopg, or pass --no-whatif for an unverified heuristic ranking")
    whatif = WhatIf(conn)
    try:
        for it in usable:
            it.sid = whatif.add_statement(_explainable(it.statement.text), it.tables, it.analysis.params)
        whatif.explain_all([it.sid for it in usable])       # pipelined; explain() below reads the cache
        denied: dict[int, list[TableName]] = {}     # item position → tables it may not read
        denied_writes = 0                           # writes the role may not EXPLAIN (it may only read)
        for it in usable:
            ex = whatif.explain(it.sid, frozenset())
            if ex.cost is None:
                it.skip = f"EXPLAIN failed: {ex.error}"
                it.sid = None
                unreadable = unreadable_relations(it.statement.text, catalog)
                if unreadable:
                    denied[it.position] = unreadable
                elif (ex.error or "").lower().startswith("permission denied"):
                    if it.analysis.kind in ("INSERT", "UPDATE", "DELETE"):
                        denied_writes += 1
                    else:
                        denied[it.position] = []
                continue
            it.base = ex.cost
            it.written_rows = _written_rows(it, ex.rows)
            whatif.relevance[it.sid] = it.relevant
        costed = [it for it in usable if it.skip is None]
        notes = []
        tables = {t for ts in denied.values() for t in ts}
        if (denied or denied_writes) and not costed:
            raise MissingPrivilege(
                f"role {role!r} cannot EXPLAIN any statement of the workload: "
                + (f"no SELECT privilege on {named(tables)}" if tables else "permission denied"),
                (grant_select(tables, role, major) if tables else "docs/privileges.md")
                + " — or pass --no-whatif for an unverified heuristic ranking")
        if denied:
            notes.append(unexplainable_note(role, tables, len(denied), major))
        if denied_writes:
            notes.append(unexplainable_writes_note(role, denied_writes))
        usable = costed
        _weights(usable, options.weight)
        readers = [it for it in usable if it.analysis.accesses]
        writers = [it for it in usable if it.analysis.kind in ("INSERT", "UPDATE", "DELETE")
                   and it.analysis.target is not None]
        notes += unseen_writes(conn, statements, usable, writers, catalog)
        candidates, covered = generate_candidates(readers, catalog, options.max_width, options.partial)
        say(f"{len(candidates)} candidate indexes, {len(covered)} already covered by existing indexes "
            f"({time.perf_counter() - t0:.1f} s)")
        seed_floors(readers, whatif)
        whatif.prepare_sizes(candidates)
        candidates = [ix for ix in candidates if ix not in whatif.failed]
        say(f"best cost per statement with its own candidates known ({time.perf_counter() - t0:.1f} s)")
        deadline = (time.perf_counter() + deadline_s) if deadline_s else None
        selector = select(readers, whatif, options, catalog, candidates, writers, deadline, started=t0)
        config = list(selector.config)
        say(f"{len(config)} indexes selected after {whatif.stats.explains} EXPLAINs ({time.perf_counter() - t0:.1f} s)")
        # verification: every statement planned with the whole recommended set on its tables (a
        # cached plan of that set stands: it was re-planned if it used an index kept as irrelevant);
        # on very large workloads, with the recommended indexes relevant to it (mostly cached)
        whole = len(usable) <= VERIFY_MAX_STATEMENTS
        if whole:
            whatif.explain_all([it.sid for it in usable], frozenset(config))
        for it in usable:
            mine = set(it.tables)
            on_tables = frozenset(ix for ix in config if ix.table_key in mine and (whole or it.relevant(ix)))
            ex = whatif.explain(it.sid, on_tables)
            it.final = ex.cost if ex.cost is not None else it.base
            it.used = ex.used
        recs = []
        ranked = sorted(((selector.marginal(ix)[0], ix) for ix in config), key=lambda t: (-t[0], t[1].sort_key()))
        names = name_book(conn, [ix for _b, ix in ranked], catalog)   # the best-ranked keeps the plain name
        for benefit, ix in ranked:
            helped = [it for it in usable if ix in it.used]
            recs.append(Recommendation(index=ix, size_bytes=whatif.size(ix) or 0, benefit=benefit,
                                       definition=definition(ix, catalog, conn, names), statements=helped))
        recs.sort(key=lambda r: (-r.benefit, r.index.sort_key()))
        before = sum(it.weight * it.base for it in usable)
        after = sum(it.weight * (it.final if it.final is not None else it.base) for it in usable)
        after += sum(selector.penalty(ix) for ix in config)
        return AdvisorResult(items=items, recommendations=recs, cost_before=before, cost_after=after,
                             options=options, seconds=time.perf_counter() - t0, explains=whatif.stats.explains,
                             cache_hits=whatif.stats.cache_hits, covered=covered, selector=selector, notes=notes)
    finally:
        whatif.close()


def unreadable_relations(text: str, catalog: Catalog) -> list[TableName]:
    """The relations `text` names that this session may not read (EXPLAIN fails on them)."""
    from perftool.workload.statement_text import relation_names

    out = []
    for schema, name in relation_names(text):
        t = catalog.resolve(schema, name)
        if t is not None and not t.can_select and t.key not in out:
            out.append(t.key)
    return out


def unseen_writes(conn: psycopg.Connection, statements: list[WorkloadStatement], usable: list[Item],
                  writers: list[Item], catalog: Catalog) -> list[str]:
    """Write volume the workload's statements do not show (COPY, evicted or unparsed statements):
    rows inserted or non-HOT-updated per pg_stat_user_tables, scaled to pg_stat_statements' time
    window, minus what the analysed INSERT/UPDATE statements write. Only for a pg_stat_statements
    workload (a file's statements have no time window to compare with) on PG14+, and only when
    both windows have a reset time (a database whose counters were never reset has none). Sets
    `TableInfo.unseen_write_rows` (in the workload's weighted cost units: with `--weight total_time`,
    rows × the workload's milliseconds per cost unit), which every index on that table pays."""
    from perftool.db.sql import fetch_one

    if not statements or any(s.source != "pg_stat_statements" for s in statements):
        return []
    windows = fetch_one(conn, "advisor_stats_windows") or {}
    t_s, s_s = windows.get("tables_seconds"), windows.get("statements_seconds")
    if not t_s or not s_s or t_s <= 0:
        return []   # a window never reset (or PG13's pg_stat_statements): the counters cannot be compared
    scale = min(1.0, s_s / t_s)
    seen: dict[TableName, float] = {}
    for w in writers:
        if w.analysis.kind in ("INSERT", "UPDATE") and w.analysis.target is not None:
            rows = max(float(w.statement.calls), 0.0) * max(w.written_rows, 0.0)
            seen[w.analysis.target] = seen.get(w.analysis.target, 0.0) + rows
    per_call = sum(float(it.statement.calls) * (it.base or 0.0) for it in usable)
    unit = sum(it.weight * (it.base or 0.0) for it in usable) / per_call if per_call > 0 else 1.0
    notes = []
    for table in sorted(catalog.tables, key=lambda t: t.key):
        if table.kind not in ("r", "p", "m") or not table.writes:
            continue
        rows = (table.writes.get("n_tup_ins", 0) + table.writes.get("n_tup_upd", 0)
                - table.writes.get("n_tup_hot_upd", 0)) * scale
        extra = rows - seen.get(table.key, 0.0)
        if extra >= 1.0 and extra > 0.05 * rows:
            table.unseen_write_rows = extra * unit
            notes.append(f"write cost: {extra:,.0f} rows written to {table.qualified} by statements outside the "
                         "analysed workload (pg_stat_user_tables) weigh against indexes on it")
    return notes


def seed_floors(items: list[Item], whatif, batch: int = SEED_BATCH) -> None:
    """Each statement's cost with all its own candidates present (and those of the statements
    batched with it): the best its plan can get from them, a floor that bounds every move's
    benefit. Statements are batched Dexter-style so one set of hypothetical indexes serves many
    EXPLAINs; the sizes come along for free."""
    todo = sorted((it for it in items if it.sid is not None and it.seed),
                  key=lambda it: (sorted(it.tables), sorted(ix.sort_key() for ix in it.seed)[:1]))
    group: list[Item] = []
    union: set[IndexDef] = set()
    for it in [*todo, None]:
        if it is not None and (not group or len(union | it.seed) <= batch):
            group.append(it)
            union |= it.seed
            continue
        if group:
            results = whatif.explain_superset([g.sid for g in group], union)
            for g, ex in zip(group, results, strict=True):
                if ex.cost is not None:
                    g.floor = min(ex.cost, g.base if g.base is not None else ex.cost)
        if it is not None:
            group, union = [it], set(it.seed)


def _explainable(text: str) -> str:
    from perftool.workload.statement_text import strip_leading_comments

    body = strip_leading_comments(text).strip()
    while body.endswith(";"):
        body = body[:-1].rstrip()
    return body


def _written_rows(it: Item, planned: float | None) -> float:
    a = it.analysis
    if a.kind not in ("INSERT", "UPDATE", "DELETE"):
        return 0.0
    per_call = it.statement.rows_per_call
    if per_call is not None:
        return per_call
    if a.insert_rows is not None:
        return float(a.insert_rows)
    return float(planned or 0.0)


class NameBook:
    """Index names already taken in the database (any relation, invalid indexes included) or by an
    earlier recommendation: `free(schema, name)` returns `name`, or `name` with a number before
    `_idx` when that is taken, and books it."""

    def __init__(self, conn=None, wanted: list[tuple[str, str]] | None = None):
        from perftool.db.sql import fetch_all

        self.taken: set[tuple[str, str]] = set()
        if conn is not None and wanted:
            rows = fetch_all(conn, "advisor_taken_names",
                             {"schemas": [w[0] for w in wanted], "names": [w[1] for w in wanted]})
            self.taken = {(r["schema"], r["name"]) for r in rows}

    def free(self, schema: str, name: str) -> str:
        got, k = name, 1
        while (schema, got) in self.taken:
            k += 1
            got = name_variant(name, k)
        self.taken.add((schema, got))
        return got


def _partition_defs(ix: IndexDef, table: TableInfo | None) -> list[IndexDef]:
    return [IndexDef(schema=schema, table=part, columns=ix.columns, desc=ix.desc, include=ix.include,
                     where=ix.where, opclasses=ix.opclasses, method=ix.method)
            for schema, part in (table.partitions if table is not None and table.kind == "p" else [])]


def name_book(conn, indexes: list[IndexDef], catalog: Catalog) -> NameBook:
    """A NameBook that knows which of the names these recommendations would use are taken."""
    wanted = []
    for ix in indexes:
        wanted.append((ix.schema, ix.name()))
        wanted += [(p.schema, p.name()) for p in _partition_defs(ix, catalog.get(ix.table_key))]
    return NameBook(conn, wanted)


def definition(ix: IndexDef, catalog: Catalog, conn=None, names: NameBook | None = None) -> str:
    """The statement to run: CREATE INDEX CONCURRENTLY …; for a partitioned table the three-step
    form (ON ONLY the parent, CONCURRENTLY on each partition, ATTACH PARTITION). Names are made
    free with `names` (see NameBook)."""
    table = catalog.get(ix.table_key)
    names = names if names is not None else NameBook()
    parent = names.free(ix.schema, ix.name())
    if table is None or table.kind != "p" or not table.partitions:
        return ix.create_sql(name=parent) + ";"
    lines = [ix.create_sql(only=True, name=parent) + ";"]
    for p in _partition_defs(ix, table):
        schema, part = p.schema, p.table
        child = names.free(schema, p.name())
        lines.append(ix.create_sql(name=child, schema=schema, table=part) + ";")
        lines.append(attach_sql(ix.schema, parent, schema, child) + ";")
    return "\n".join(lines)


# --- the report ----------------------------------------------------------------------------------------

REC_COLUMNS = [
    Column("rank", "#", "int"),
    Column("index", "index", "text"),
    Column("size_bytes", "size", "bytes"),
    Column("saved_pct", "saves", "pct"),
    Column("statement_count", "statements", "int"),
    Column("definition", "CREATE INDEX", "text"),
]
STATEMENT_COLUMNS = [
    Column("query", "statement", "query"),
    Column("weight", "weight", "float"),
    Column("cost_before", "cost before", "float"),
    Column("cost_after", "cost after", "float"),
    Column("saved_pct", "saved", "pct"),
    Column("indexes", "uses", "text"),
]
SKIP_COLUMNS = [Column("query", "statement", "query"), Column("origin", "from", "text"),
                Column("reason", "why skipped", "text")]
RUNNER_COLUMNS = [Column("index", "candidate", "text"), Column("benefit", "benefit", "float"),
                  Column("size_bytes", "size", "bytes"), Column("reason", "why not chosen", "text")]


def _r(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else round(float(x), nd)


def _statement_record(it: Item) -> dict[str, Any]:
    s = it.statement
    rec: dict[str, Any] = {"query": s.text, "origin": s.origin, "weight": _r(it.weight, 4),
                           "cost_before": _r(it.base), "cost_after": _r(it.final)}
    if s.queryid is not None:
        rec["queryid"] = s.queryid
    if it.base and it.final is not None:
        rec["saved_pct"] = round(1 - it.final / it.base, 4) if it.base else 0.0
    return rec


def _runner_ups(result: AdvisorResult, limit: int = 25) -> list[dict[str, Any]]:
    sel = result.selector
    if sel is None:
        return []
    chosen = set(sel.config)
    rows = []
    for (old, new), move in sel.moves.items():
        if new in chosen:
            continue
        reason = sel.pruned.get(new)
        longer = sel._leads_chosen(new) if reason is None else None
        if longer is not None:
            reason = f"its key columns lead {longer.label()}, which serves the same scans"
        if reason is None and new in sel.widened:
            reason = f"widened into {sel.widened[new].label()}"
        if reason is None and move.status == "taken":
            reason = "chosen, then replaced by the local search"
        if reason is None:
            reason = {
                "no benefit": "no statement gets cheaper with it (given the chosen indexes)",
                "below --min-improvement": f"improves no statement by {result.options.min_improvement:.0%}",
                "over budget": "does not fit the remaining --budget",
                "--max-indexes reached": "--max-indexes reached",
            }.get(move.status, "a better benefit per byte was always available")
        label = new.label() if old is None else f"{old.label()} → {new.label()}"
        rows.append({"index": label, "benefit": _r(move.benefit), "size_bytes": move.delta_size,
                     "ratio": move.ratio, "reason": reason})
    for ix, cover in result.covered.items():
        rows.append({"index": ix.label(), "benefit": None, "size_bytes": None, "ratio": -1.0,
                     "reason": f"already covered by existing index {cover}"})
    rows.sort(key=lambda r: (-(r["ratio"] or 0), r["index"]))
    for r in rows:
        r.pop("ratio")
    return rows[:limit]


def build_report(result: AdvisorResult, server: dict[str, Any] | None = None,
                 sources: list[str] | None = None) -> Report:
    from perftool.report.values import human_bytes

    opts = result.options
    before, after = result.cost_before, result.cost_after
    saved = (1 - after / before) if before and after is not None else None
    recs_json, rec_rows, findings = [], [], []
    for rank, rec in enumerate(result.recommendations, 1):
        ix = rec.index
        share = (rec.benefit / before) if before else None
        recs_json.append({
            "table": f"{ix.schema}.{ix.table}",
            "columns": list(ix.columns),
            "descending": [ix.is_desc(i) for i in range(len(ix.columns))],
            "include": list(ix.include),
            "where": " AND ".join(c.label() for c in ix.where) or None,
            "method": ix.method,
            "definition": rec.definition,
            "size_bytes": int(rec.size_bytes),
            "benefit": _r(rec.benefit),
            "saved_pct": _r(share, 4),
            "verified": rec.verified,
            "statements": [_statement_record(it) for it in rec.statements],
        })
        rec_rows.append({"rank": rank, "index": ix.label(), "size_bytes": int(rec.size_bytes), "saved_pct": share,
                         "statement_count": len(rec.statements), "definition": rec.definition})
        helped = ", ".join(sorted({it.statement.origin for it in rec.statements})[:5])
        findings.append(Finding(
            code="A101",
            title=f"missing index: {ix.label()}" + ("" if rec.verified else " (unverified heuristic)"),
            object=f"{ix.schema}.{ix.table}",
            detail=(f"Estimated size {human_bytes(rec.size_bytes)}; "
                    + (f"saves {share:.1%} of the workload's estimated cost; " if share is not None else "")
                    + f"used by {len(rec.statements)} statement(s)" + (f" ({helped})" if helped else "") + "."),
            fix=rec.definition,
            evidence={"table": f"{ix.schema}.{ix.table}", "columns": list(ix.columns),
                      "size_bytes": int(rec.size_bytes), "benefit": _r(rec.benefit)},
        ))
    skipped = [{"query": it.statement.text, "origin": it.statement.origin, "reason": it.skip}
               for it in result.skipped]
    if skipped:
        findings.append(Finding(
            code="A102",
            title=f"{len(skipped)} statement(s) could not be analysed",
            object="workload",
            detail="; ".join(sorted({s["reason"] for s in skipped}))[:600],
            fix="See the skipped list for each statement and its reason.",
            evidence={"count": len(skipped)},
        ))
    verified = opts.whatif
    if not verified:
        findings.append(Finding(
            code="A103",
            title="heuristic recommendations, not verified with HypoPG (--no-whatif)",
            object="workload",
            detail="Ranked from predicates, row counts and column statistics only; the planner was not asked.",
            fix="Install HypoPG (CREATE EXTENSION hypopg) and run without --no-whatif to verify.",
        ))
    statements = sorted(result.analysed, key=lambda it: -(it.weight * (it.base or 0)))
    st_rows = []
    for it in statements:
        rec = _statement_record(it)
        rec["indexes"] = [ix.label() for ix in sorted(it.used, key=IndexDef.sort_key)]
        st_rows.append(rec)
    workload = {
        "statements": len(result.items),
        "analysed": len(result.analysed),
        "skipped": len(skipped),
        "cost_before": _r(before),
        "cost_after": _r(after),
        "saved_pct": _r(saved, 4),
        "verified": verified,
        "weight": opts.weight if verified else "calls",
        "budget_bytes": opts.budget_bytes,
        "recommended_bytes": sum(int(r.size_bytes) for r in result.recommendations),
        "max_indexes": opts.max_indexes,
        "max_width": opts.max_width,
        "min_improvement": opts.min_improvement,
        "sources": sources or [],
        "explains": result.explains,
        "cache_hits": result.cache_hits,
        "seconds": round(result.seconds, 3),
    }
    title = (f"{len(result.recommendations)} recommended index(es)"
             + (f": estimated workload cost {before:,.0f} → {after:,.0f} ({saved:.1%} saved)"
                if before and after is not None and saved is not None else ""))
    sections = [Section(key="recommendations", title=title + ("" if verified else " — UNVERIFIED (--no-whatif)"),
                        columns=REC_COLUMNS, rows=rec_rows,
                        note=("Costs are PostgreSQL planner estimates with HypoPG hypothetical indexes."
                              if verified else "Heuristic ranking without the planner: verify before creating."))]
    if verified:
        sections.append(Section(key="statements", title=f"Statements ({len(st_rows)} analysed)",
                                columns=STATEMENT_COLUMNS, rows=st_rows))
    sections.append(Section(key="skipped", title=f"Skipped statements ({len(skipped)})", columns=SKIP_COLUMNS,
                            rows=skipped))
    data: dict[str, Any] = {"recommendations": recs_json, "workload": workload}
    if opts.explain_choice:
        runners = _runner_ups(result)
        sections.append(Section(key="runner_ups", title="Why other candidates lost", columns=RUNNER_COLUMNS,
                                rows=runners))
        if result.selector is not None:
            data["steps"] = [{
                "step": s.number, "action": s.move.kind, "index": s.move.new.label(),
                "replaces": s.move.old.label() if s.move.old else None, "benefit": _r(s.move.benefit),
                "size_delta_bytes": s.move.delta_size, "benefit_per_mb": _r(s.move.ratio * 1048576),
                "runners_up": [{"index": r.new.label(), "benefit_per_mb": _r(r.ratio * 1048576),
                                "estimate": not r.exact} for r in s.runners_up],
            } for s in result.selector.steps]
    return Report(command="indexes recommend", server=server or {}, sections=sections, findings=findings,
                  notes=list(result.notes), data=data)


def recommend_report(dsn: str, statements_from: dict[str, Any], options: AdvisorOptions, progress=None) -> Report:
    """Library entry point: connect read-only, gather the workload, advise, build the Report.

    `statements_from`: {"files": [...], "queries": [...], "logs": [...]} — empty means
    pg_stat_statements of the connected database."""
    from perftool.db.connect import connect, server_info
    from perftool.workload import sources as ws

    files = statements_from.get("files") or []
    queries = statements_from.get("queries") or []
    logs = statements_from.get("logs") or []
    statements: list[WorkloadStatement] = []
    sources: list[str] = []
    for f in files:
        statements += ws.from_file(f)
        sources.append("stdin" if str(f) == "-" else f"file:{f}")
    if queries:
        statements += ws.from_queries(queries)
        sources.append("query")
    for lg in logs:
        statements += ws.from_log(lg)
        sources.append(f"log:{lg}")
    with connect(dsn) as conn:
        info = server_info(conn)
        if not (files or queries or logs):
            statements = ws.from_stat_statements(conn, min_calls=options.min_calls)
            sources.append("pg_stat_statements")
        statements = ws.merge(statements)
        if not statements:
            raise UsageError("no statements to analyse",
                             "pass --from FILE, --query SQL or --log FILE, or run the workload first so "
                             "pg_stat_statements has entries")
        result = advise(conn, statements, options, progress=progress)
    return build_report(result, server=info.as_dict(), sources=sources)
