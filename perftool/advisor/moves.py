"""Moves of the selection — add a candidate, or widen a chosen index by one column — and their
costing against the current configuration: exactly (EXPLAINs of the statements they affect) or
as an upper bound from the statements' floors (no EXPLAIN)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from perftool.advisor.candidates import PAGE
from perftool.advisor.costs import CostModel, floor_bounds
from perftool.advisor.indexdef import IndexDef
from perftool.advisor.items import Item

NEGLIGIBLE = 1e-6               # steps saving less than this share of the workload's cost are not taken
FLOOR_EPSILON = 1e-3            # moves that cannot save 0.1 % of any statement are not costed


class MoveStatus(str, Enum):
    """Where a move stands (the last reason it was not taken, for --explain-choice)."""

    NOT_EVALUATED = "not evaluated"
    NO_BENEFIT = "no benefit"
    BELOW_BAR = "below --min-improvement"
    OVER_BUDGET = "over budget"
    MAX_INDEXES = "--max-indexes reached"
    TAKEN = "taken"


class MoveKind(str, Enum):
    ADD = "add"
    WIDEN = "widen"


@dataclass
class Move:
    """Adding index `new`, or (`old` set) widening chosen index `old` into `new`, with what its last
    costing or bound found."""

    new: IndexDef
    old: IndexDef | None = None
    seq: int = 0
    ratio: float = 0.0
    benefit: float = 0.0
    best_relative: float = 0.0
    delta_size: int = 0
    version: int = -1
    exact: bool = False
    status: MoveStatus = MoveStatus.NOT_EVALUATED
    boundable: bool | None = None
    contrib: dict[int, tuple[float, float]] | None = None   # last exact costing: position → (weighted saving, relative)
    contrib_version: int = -1
    items: list[Item] | None = field(default=None, repr=False)      # the statements it can change (cached)
    bounded: dict[int, bool] | None = field(default=None, repr=False)   # position → floor_bounds (cached)
    prefix: IndexDef | None = field(default=None, repr=False)           # its key less the last column
    primary: list[Item] | None = field(default=None, repr=False)        # a widening's statements reading what it adds
    exempt: list[tuple[int, int]] | None = field(default=None, repr=False)   # (index in items, position)
                                                                        # of statements the last column serves
    terms: tuple[Any, list[tuple[int, Item, float, float]]] | None = field(default=None, repr=False)
    # (contrib, per statement: position, statement, its saving and relative saving in contrib)

    @property
    def kind(self) -> MoveKind:
        return MoveKind.WIDEN if self.old is not None else MoveKind.ADD


@dataclass
class Step:
    """One move the greedy took, with the best moves it was preferred to."""

    number: int
    move: Move
    runners_up: list[Move]


class Moves:
    """Every move registered so far (by (old, new) and by sequence number) and their costing."""

    def __init__(self, model: CostModel):
        self.model = model
        self.by_key: dict[tuple[IndexDef | None, IndexDef], Move] = {}
        self.by_seq: dict[int, Move] = {}
        self._prefix_terms: dict[tuple[int, int], tuple[tuple[int, int, int], list[Item], Any]] = {}
        self._item_index: dict[int, tuple[list[Item], dict[int, int], list[tuple[int, int, set[str]]]]] = {}
        self._seq = itertools.count()
        self._readers: dict[tuple[Any, str], set[int]] = {}     # (table, column) → statements reading it
        self._all_read: dict[Any, bool] = {}
        # a step saving less than this cannot show in any figure reported (a millionth of the workload's
        # cost with no new index), and would make every move on its statements stale again
        self.negligible = max(1e-9, NEGLIGIBLE * sum(it.weight * model.base[it.position] for it in model.items))

    def register(self, new: IndexDef, old: IndexDef | None) -> Move | None:
        """A new move (None when it was registered before)."""
        key = (old, new)
        if key in self.by_key:
            return None
        move = Move(new=new, old=old, seq=next(self._seq))
        self.by_key[key] = move
        self.by_seq[move.seq] = move
        return move

    def items_of(self, move: Move) -> list[Item]:
        """The statements a move can change: those its new index (and the one it replaces) is relevant to."""
        if move.items is not None:
            return move.items
        new = self.model.affected(move.new)    # shared: callers only read it
        if move.old is None:
            move.items = new
            return new
        old = self.model.affected(move.old)
        if old is new:      # (a widening of an index on a table no statement reads narrowly: one shared list)
            move.items = new
            return new
        have = {it.position for it in new}
        extra = [it for it in old if it.position not in have]
        move.items = [*new, *extra] if extra else new   # relevance does not change: cached on the move
        return move.items

    def stale(self, move: Move) -> bool:
        """Whether the move's benefit is not an exact costing under the current configuration."""
        return not move.exact or self.model.last_change(self.items_of(move)) > move.version

    def fits(self, move: Move) -> bool:
        """Whether the move can be taken now: within --budget and --max-indexes."""
        chosen, used = self.model.chosen()
        options = self.model.options
        if move.old is not None and move.old not in chosen:
            return False
        if move.new in chosen:
            return False
        if move.old is None and options.max_indexes is not None and len(self.model.config) >= options.max_indexes:
            return False
        if options.budget_bytes is not None:
            if used + move.delta_size > options.budget_bytes:
                return False
        return True

    def never_fits(self, move: Move) -> bool:
        """Whether the move's index alone is larger than --budget: no configuration can take it,
        so it is never costed."""
        budget = self.model.options.budget_bytes
        return budget is not None and self.model.size(move.new) > budget

    def evaluate(self, move: Move, items: list[Item] | None = None) -> Move:
        """Cost `move` against the current configuration (on `items`, default: all it affects)."""
        exact = items is None
        items = self.items_of(move) if items is None else items
        model = self.model
        new_config = [ix for ix in model.config if ix != move.old] + [move.new]
        keys = [(it, model.relevant_after(it, move.new, move.old)) for it in items]   # = relevant_set(it, new_config)
        model.prefetch_keys(keys, frozenset(new_config))
        benefit, best_rel = 0.0, 0.0
        contrib: dict[int, tuple[float, float]] = {}
        oracle_cost = model.oracle.cost
        for it, key in keys:
            c = oracle_cost(it.costed_sid, key)
            self.model.evaluations += 1
            if c is None:
                continue
            self.model.lower_floor(it.position, c)
            cur = self.model.cur[it.position]
            d = cur - c
            benefit += it.weight * d
            rel = d / cur if cur > 0 else 0.0
            best_rel = max(best_rel, rel)
            contrib[it.position] = (it.weight * d, rel)
        if exact:
            move.contrib, move.contrib_version = contrib, self.model.version
        benefit -= self.model.penalty(move.new) - self.model.penalty(move.old)
        move.delta_size = self.model.size(move.new) - (self.model.size(move.old) if move.old is not None else 0)
        move.benefit = benefit
        move.best_relative = best_rel
        move.ratio = benefit / max(move.delta_size, PAGE)
        move.version = self.model.version
        move.exact = exact
        return move

    def setback(self, gain: float) -> MoveStatus:
        """The status of a move set aside with this (bound of its) benefit: none worth taking, or
        not enough on any statement."""
        return MoveStatus.NO_BENEFIT if gain <= self.negligible else MoveStatus.BELOW_BAR

    def admissible(self, move: Move) -> bool:
        """Whether the move pays and improves some statement by --min-improvement."""
        bar = self.model.options.min_improvement
        return move.benefit > self.negligible and move.best_relative >= max(bar, 1e-9)

    def boundable(self, move: Move, items: list[Item] | None = None) -> bool:
        """Whether the statements' floors bound this move: its index was among their own
        candidates when the floors were costed (else it might beat them, e.g. a covering index)."""
        if items is None:
            if move.boundable is None:
                got = self.items_of(move)
                move.boundable = bool(got) and self.model.floors_bound(got, move.new)
            return move.boundable
        return bool(items) and self.model.floors_bound(items, move.new)

    def bound(self, move: Move) -> tuple[float, float]:
        """(upper bound of the move's benefit, of its best relative saving) from the floors. A
        widening can save only on the statements that read the column it adds (`primary`): to
        the others it is the same index, larger."""
        gain, rel = self.model.gap(self.items_of(move) if move.old is None else self.primary(move),
                                   move.new.table_key)
        return gain - (self.model.penalty(move.new) - self.model.penalty(move.old)), rel

    def primary(self, move: Move) -> list[Item]:
        """The statements whose cost the columns a widening adds can change (cached on the move)."""
        assert move.old is not None
        if move.primary is None:
            ix, wider = move.old, move.new
            t = ix.table_key
            added = (set(wider.columns) | set(wider.include)) - set(ix.columns) - set(ix.include)
            items = self.model.affected(wider)
            if not self.all_read(t):        # (`SELECT *` everywhere: every statement reads what it adds)
                readers = [self.readers(t, col) for col in added]
                found = [it for it in items if any(it.position in r for r in readers)]
                if len(found) < len(items):
                    items = found
            move.primary = items        # the shared list when all read what it adds
        return move.primary

    def all_read(self, table: Any) -> bool:
        """Whether every statement that reads `table` reads all its columns (cached)."""
        got = self._all_read.get(table)
        if got is None:
            info = self.model.catalog.get(table)
            width = len(info.columns) if info is not None else 0
            got = self._all_read[table] = width > 0 and all(
                len(it.analysis.referenced[table]) >= width for it in self.model.items
                if table in it.analysis.referenced)
        return got

    def readers(self, table: Any, column: str) -> set[int]:
        """The statements that read `column` of `table` (cached)."""
        got = self._readers.get((table, column))
        if got is None:
            got = self._readers[(table, column)] = {it.position for it in self.model.items
                                                    if column in it.analysis.referenced.get(table, ())}
        return got

    def prefix_bound(self, move: Move) -> tuple[float, float] | None:
        """A tighter bound for adding an index whose key, less its last column, is another
        candidate P with a known exact costing (None when there is none). A statement that cannot
        use the last column (nor scan the index alone) gets from the index only what P gives it,
        on a larger index: at most P's saving, while its cost has not changed since P was costed.
        The others can at most fall to their floor. `bound`'s rule otherwise. The candidates that
        extend one P share its statements, so the per-statement terms are worked out once per P
        and state of the costs (`_prefix_terms`); each candidate adjusts only its own exceptions."""
        new = move.new
        if move.old is not None or new.include or len(new.columns) < 2 or not self.boundable(move):
            return None
        if move.prefix is None:
            move.prefix = new.narrowed()        # no INCLUDE, two or more columns: its key less the last
        prefix = self.by_key.get((None, move.prefix)) if move.prefix is not None else None
        if prefix is None or prefix.contrib is None:
            return None
        items = self.items_of(move)
        terms = self._terms(prefix, items)
        if move.exempt is None:
            move.exempt = self._exempt(items, new)
        gain, order, gaps, limited = terms
        rel = 0.0
        out = {p for _k, p in move.exempt}
        for k, _p in move.exempt:
            (d, r), (md, _mr) = gaps[k], limited[k]
            gain += d - md
            rel = max(rel, r)
        for r, p in order:
            if p not in out:
                rel = max(rel, r)
                break
        return gain - (self.model.penalty(move.new) - self.model.penalty(move.old)), rel

    def _exempt(self, items: list[Item], new: IndexDef) -> list[tuple[int, int]]:
        """(index in `items`, position) of the statements that can use `new`'s last column, or
        could scan it alone (read only its key columns), in `items`' order. The statements that use
        a column and those with few columns are known per table: only they are looked at."""
        t, last, key = new.table_key, new.columns[-1], set(new.columns)
        got = self._item_index.get(id(items))
        if got is None or got[0] is not items:
            small = [(k, it.position, read) for k, it in enumerate(items)
                     if (read := it.analysis.referenced.get(t)) and len(read) <= self.model.options.max_width]
            got = self._item_index[id(items)] = (items, {it.position: k for k, it in enumerate(items)}, small)
        _items, index, small = got
        if len(key) > self.model.options.max_width:
            small = [(k, it.position, read) for k, it in enumerate(items) if (read := it.analysis.referenced.get(t))]
        found = {index[p] for p in self.model.lead_positions(t, last) & index.keys()}
        found.update(k for k, _p, read in small if read <= key)
        return [(k, items[k].position) for k in sorted(found)]

    def _terms(self, prefix: Move, items: list[Item]) -> tuple[float, list[tuple[float, int]],
                                                                  list[tuple[float, float]], list[tuple[float, float]]]:
        """Per statement of `items`: its gap to the floor and that gap limited by `prefix`'s exact
        saving (while its cost has not changed since); the sum of the limited ones, and the
        limited relative savings, largest first."""
        stamp = (prefix.contrib_version, self.model.stamp, self.model.version)
        got = self._prefix_terms.get((prefix.seq, id(items)))
        if got is not None and got[0] == stamp and got[1] is items:
            return got[2]
        assert prefix.contrib is not None
        since, contrib = prefix.contrib_version, prefix.contrib
        current, floor, changed = self.model.cur, self.model.floor, self.model.changed
        by_table, table = self.model.table_floor, prefix.new.table_key
        gaps: list[tuple[float, float]] = []
        limited: list[tuple[float, float]] = []
        total = 0.0
        for it in items:
            p = it.position
            cur, low = current[p], floor[p]
            if p in by_table:
                low = self.model.low(it, table)
            d, r = (it.weight * (cur - low), (cur - low) / cur if cur > 0 else 0.0) if cur > low else (0.0, 0.0)
            gaps.append((d, r))
            known = contrib.get(p) if changed[p] <= since else None
            if known is not None:
                d, r = max(0.0, min(d, known[0])), max(0.0, min(r, known[1]))
            limited.append((d, r))
            total += d
        order = sorted(((r, it.position) for (_d, r), it in zip(limited, items, strict=True)), reverse=True)
        terms = (total, order, gaps, limited)
        self._prefix_terms[(prefix.seq, id(items))] = (stamp, items, terms)
        return terms

    def refined_bound(self, move: Move) -> tuple[float, float]:
        """An upper bound of a move's benefit now, from its last exact costing: statements whose
        index set has not changed since keep their exact saving; the others can save at most
        their current cost down to their floor (or to zero when the floor does not bound it)."""
        assert move.contrib is not None
        gain, rel = 0.0, 0.0
        if move.bounded is None:
            move.bounded = {}
        bounded = move.bounded
        changed, since = self.model.changed, move.contrib_version
        terms = move.terms
        if terms is None or terms[0] is not move.contrib:
            contrib = move.contrib
            terms = move.terms = (contrib, [(it.position, it, *contrib.get(it.position, (0.0, 0.0)))
                                            for it in self.items_of(move)])
        for p, it, d, r in terms[1]:
            if changed[p] > since:
                cur = self.model.cur[p]
                fb = bounded.get(p)
                if fb is None:
                    fb = bounded[p] = floor_bounds(it, move.new)
                low = self.model.low(it, move.new.table_key) if fb else 0.0
                d = it.weight * max(cur - low, 0.0)
                r = (cur - low) / cur if cur > 0 else 0.0
            gain += d
            if r > rel:
                rel = r
        return gain - (self.model.penalty(move.new) - self.model.penalty(move.old)), rel
