"""The cost model of the selection: a statement's cost under a configuration of hypothetical
indexes, its floor (its cost with all its own candidates, a bound on what any move can do for
it), relevance, write penalties and sizes (see `CostModel`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from perftool.advisor.candidates import PAGE, estimated_size
from perftool.advisor.indexdef import IndexDef
from perftool.advisor.items import Item
from perftool.advisor.options import AdvisorOptions
from perftool.advisor.predicates import Constant, StatementKind, key_columns
from perftool.advisor.whatif import WhatIf
from perftool.catalog.schema import Catalog, TableInfo, TableName
from perftool.gc_pause import gc_paused

# Planner cost units to write one index entry (the write-cost term). Measured on the sandbox
# (PostgreSQL 15, 100k-row table, cached): one more btree entry per updated row costs 0.4-1.2 units
# for narrow keys (the seq scan's time per cost unit as the yardstick), ~1.8 for a wide text key.
INDEX_ENTRY_COST = 0.5
GAP_KEPT_MIN = 16               # statements from which CostModel.gap keeps a list's terms (below: summed again)
SEED_BATCH = 50                 # hypothetical indexes present at once while costing the floors


class CostOracle(Protocol):
    """What the searches need of the what-if costing (`whatif.WhatIf`; the benchmarks' baselines too)."""

    def cost(self, sid: int, indexes: frozenset[IndexDef]) -> float | None: ...

    def size(self, ix: IndexDef) -> int | None: ...


class _Gap:
    """`CostModel.gap`'s sum over one statement list: with `kept`, its terms (weight × (current −
    floor), 0 when none) and relative savings in the list's order, where each statement is in it,
    and the statements changed since (`dirty`; None: too many, sum them all again)."""

    __slots__ = ("items", "table", "stamp", "gain", "rel", "terms", "rels", "kept", "where", "dirty")

    def __init__(self, items: list[Item], table: TableName | None, stamp: int, gain: float, rel: float,
                 terms: list[float], rels: list[float], kept: bool):
        self.items, self.table, self.stamp, self.gain, self.rel = items, table, stamp, gain, rel
        self.terms, self.rels, self.kept = terms, rels, kept
        self.where: dict[int, int] = {}
        self.dirty: list[int] | None = []


class CostModel:
    """The workload's costs under the current configuration (the chosen indexes): each statement's
    current cost and floor, which statements an index is relevant to, write penalties and sizes.
    The cost of statement q under configuration C is cost(q, C ∩ relevant(q)), cached by the
    oracle per (q, index set). `version` counts configuration changes; `changed[p]` is the
    version at which statement p's cost last changed (the searches use it to know what is stale)."""

    def __init__(self, items: list[Item], oracle: CostOracle, options: AdvisorOptions, catalog: Catalog,
                 writes: list[Item] | None = None, shared: dict[str, Any] | None = None,
                 table_floors: dict[int, dict[TableName, float]] | None = None):
        self.items: list[Item] = []
        self.base: dict[int, float] = {}
        for it in items:
            if it.sid is not None and it.base is not None:
                self.items.append(it)
                self.base[it.position] = float(it.base)
        self.oracle = oracle
        self.options = options
        self.catalog = catalog
        self.writes = writes or []
        self.config: list[IndexDef] = []
        self.cur: dict[int, float] = dict(self.base)
        self.floor: dict[int, float] = {it.position: float(it.floor) if it.floor is not None else self.base[it.position]
                                        for it in self.items}
        self.changed: dict[int, int] = {it.position: 0 for it in self.items}
        # per statement of several tables: its cost with its own candidates on one table only, a
        # floor for a move on that table while no index on its other tables serves it
        self.table_floor: dict[int, dict[TableName, float]] = {p: dict(f) for p, f in (table_floors or {}).items()
                                                                if p in self.floor}
        self.version = 0
        self.stamp = 0          # counts changes of any current cost or floor (the caches of gaps below)
        self._holders: dict[int, list[_Gap]] = {}   # per statement: the kept sums of `gap` that hold it
        self._gaps: dict[int, _Gap] = {}
        self._last_change: dict[int, tuple[list[Item], int, int]] = {}
        self._relevant: dict[int, tuple[tuple[int, int, int], frozenset[IndexDef], frozenset[IndexDef]]] = {}
        self._snapshot: tuple[tuple[int, int, int], frozenset[IndexDef]] | None = None
        # the configuration's indexes by (table, leading column) and by table, per `_snapshot` key
        # (`_config_index`); the same for the last other configuration asked about, per its indexes
        self._config_index: tuple[Any, dict[tuple[TableName, str], list[IndexDef]],
                                  dict[TableName, list[IndexDef]]] | None = None
        self._other_index: tuple[Any, dict[tuple[TableName, str], list[IndexDef]],
                                 dict[TableName, list[IndexDef]]] | None = None
        self._one_column: dict[tuple[int, str, tuple[Constant, ...]], tuple[list[Item], list[Item], set[int]]] = {}
        self.by_leading: dict[tuple[TableName, str], list[Item]] = {}
        self._lead_positions: dict[tuple[TableName, str], set[int]] = {}
        self._by_position: dict[int, Item] = {it.position: it for it in self.items}
        self.narrow: dict[TableName, list[Item]] = {}   # statements an index could cover entirely
        self.by_constant: dict[tuple[TableName, Constant], set[int]] = {}   # statements implying a predicate
        self._narrow_on: dict[int, set[TableName]] = {}     # per statement: the tables it is narrow on
        for it in self.items:
            for t in it.tables:
                read = it.analysis.referenced.get(t, set())
                if read and len(read) <= options.max_width:
                    self.narrow.setdefault(t, []).append(it)
                    self._narrow_on.setdefault(it.position, set()).add(t)
            for t, cols in it.indexable.items():
                for c in cols:
                    self.by_leading.setdefault((t, c), []).append(it)
            for t, consts in it.constants.items():
                for k in consts:
                    self.by_constant.setdefault((t, k), set()).add(it.position)
        shared = shared if shared is not None else {}
        self._affected: dict[IndexDef, list[Item]] = shared.setdefault("affected", {})
        self._affected_pos: dict[IndexDef, set[int]] = shared.setdefault("affected_pos", {})
        self.evaluations = 0
        self._penalties: dict[IndexDef, float] = {}
        self._chosen_key: tuple[int, int, int] | None = None
        self._chosen_val: tuple[set[IndexDef], int] = (set(), 0)
        self._leading: dict[tuple[TableName, tuple[str, ...], tuple[Constant, ...]], list[IndexDef]] = {}

    def affected(self, ix: IndexDef) -> list[Item]:
        """Statements `ix` is relevant to (see Item.relevant), in workload order."""
        got = self._affected.get(ix)
        if got is None:
            t = ix.table_key
            lead = self.by_leading.get((t, ix.columns[0]), [])
            if not self.narrow.get(t):
                if not ix.where:
                    got = lead   # each uses the leading column, and nothing else could: all relevant (shared list)
                else:           # those of lead (in workload order: by position) that imply its predicate
                    both = self.by_constant.get((t, ix.where[0]), set()) & self.lead_positions(t, ix.columns[0])
                    by_position = self._by_position
                    got = [by_position[p] for p in sorted(both) if by_position[p].relevant(ix)]
            else:
                pool = {it.position: it for it in lead}
                pool.update((it.position, it) for it in self.narrow.get(t, []))
                implied = self.by_constant.get((t, ix.where[0]), set()) if ix.where else None
                order = sorted(pool) if implied is None else sorted(p for p in implied if p in pool)
                got = [pool[p] for p in order if pool[p].relevant(ix)]
            self._affected[ix] = got
        return got

    def gap(self, items: list[Item], table: TableName | None = None) -> tuple[float, float]:
        """(Σ weight × (current cost − floor), the largest (current − floor) / current) over
        `items`: what a move on them can save at most. Many moves share one statement list (every
        index with the same leading column), so the sum is kept per list, with its terms: a change
        of a statement's cost or floor marks the lists of GAP_KEPT_MIN statements or more that hold
        it (`_touch`), and only those terms are worked out again (a step of the 4,950-statement
        stress case changes 99 statements, one or two of each other one-column list's 99). With
        `table` (the move's), a statement of several tables that no chosen index on another table
        serves yet is bounded by its floor on that table alone (`table_floor`); whether one does
        changes with the configuration, so such a list is worked out whole after any change."""
        got = self._gaps.get(id(items))
        if got is not None and got.items is items and got.table == table:
            if got.stamp == self.stamp:
                return got.gain, got.rel
            if got.kept and got.dirty is not None:
                if not got.dirty:       # none of its statements changed
                    got.stamp = self.stamp
                    return got.gain, got.rel
                terms, rels, where = got.terms, got.rels, got.where
                current, floor = self.cur, self.floor
                for p in got.dirty:
                    k = where[p]
                    cur, low = current[p], floor[p]
                    if cur > low:
                        terms[k] = items[k].weight * (cur - low)
                        rels[k] = (cur - low) / cur if cur > 0 else 0.0
                    else:
                        terms[k] = rels[k] = 0.0
                got.dirty.clear()
                gain = 0.0
                for term in terms:      # in the list's order, as the sum below adds them
                    gain += term
                got.gain, got.rel, got.stamp = gain, max(rels), self.stamp
                return gain, got.rel
        gain, rel = 0.0, 0.0
        current, floor = self.cur, self.floor
        by_table = self.table_floor if table is not None else {}
        kept = len(items) >= GAP_KEPT_MIN
        terms, rels = ([0.0] * len(items), [0.0] * len(items)) if kept else ([], [])
        for k, it in enumerate(items):
            cur, low = current[it.position], floor[it.position]
            if it.position in by_table:
                low = self.low(it, table)
                kept = False
            if cur > low:
                term = it.weight * (cur - low)
                gain += term
                r = (cur - low) / cur if cur > 0 else 0.0
                if r > rel:
                    rel = r
                if terms:
                    terms[k], rels[k] = term, r
        if got is not None and got.items is items and got.table == table and got.kept and kept:
            got.gain, got.rel, got.stamp, got.terms, got.rels, got.dirty = gain, rel, self.stamp, terms, rels, []
            return gain, rel
        entry = _Gap(items, table, self.stamp, gain, rel, terms, rels, kept)
        self._gaps[id(items)] = entry
        if kept:
            entry.where = {it.position: k for k, it in enumerate(items)}
            for it in items:
                self._holders.setdefault(it.position, []).append(entry)
        return gain, rel

    def _touch(self, position: int) -> None:
        """A statement's current cost or floor changed: the kept sums that hold it must redo its term."""
        self.stamp += 1
        for entry in self._holders.get(position, ()):
            dirty = entry.dirty
            if dirty is not None:
                dirty.append(position)
                if len(dirty) > len(entry.items):
                    entry.dirty = None      # as many changes as terms: summed whole when next asked

    def low(self, it: Item, table: TableName | None) -> float:
        """The lowest cost a move on `table` can bring `it` to: its floor, or its floor on that
        table alone while no chosen index on its other tables serves it (`table_floor`)."""
        low = self.floor[it.position]
        mine = self.table_floor.get(it.position)
        if mine is not None and table is not None:
            alone = mine.get(table)
            if alone is not None and alone > low and \
                    not any(ix.table_key != table for ix in self.relevant_set(it, self.config)):
                return alone
        return low

    def last_change(self, items: list[Item]) -> int:
        """The latest version at which one of `items`' costs changed (cached per version)."""
        got = self._last_change.get(id(items))
        if got is not None and got[1] == self.version and got[0] is items:
            return got[2]
        changed = self.changed
        last = max((changed[it.position] for it in items), default=-1)
        self._last_change[id(items)] = (items, self.version, last)
        return last

    def floors_bound(self, items: list[Item], ix: IndexDef) -> bool:
        """`floors_bound(items, ix)`, quicker for the common case — `items` are the statements that
        can use `ix`'s leading column: only those the one-column rule does not settle (no
        seed (c0) with the same predicate, can use the second column, or could scan the index
        alone) are looked at one by one; the one-column rule's outcome is kept per list."""
        t, cols = ix.table_key, ix.columns
        if ix.include or ix.width > self.options.max_width or items is not self.by_leading.get((t, cols[0])):
            return floors_bound(items, ix)
        key = (id(items), cols[0], ix.where)
        got = self._one_column.get(key)
        if got is None or got[0] is not items:
            prefix = ((cols[0],), ix.where)
            unsettled = []
            for it in items:
                if not it.seed:
                    unsettled.append(it)
                    continue
                keys = it.seed_keys
                if keys is None:
                    keys = it.seed_keys = frozenset((s.columns, s.where) for s in it.seed if not s.include)
                read = it.analysis.referenced.get(t)
                if prefix not in keys or (read and len(read) <= self.options.max_width):
                    unsettled.append(it)
            got = (items, unsettled, {it.position for it in items})
            self._one_column[key] = got
        _items, unsettled, positions = got
        check = {it.position: it for it in unsettled}
        if len(cols) > 1:
            second = self.lead_positions(t, cols[1])
            by_position = self._by_position
            for p in positions & second:
                check[p] = by_position[p]
        return floors_bound([check[p] for p in sorted(check)], ix) if check else True

    def lower_floor(self, position: int, cost: float) -> None:
        """A costing found `position` cheaper than its floor: that is its floor now."""
        if cost < self.floor[position]:
            self.floor[position] = cost
            self._touch(position)
        mine = self.table_floor.get(position)
        if mine:
            for t, f in mine.items():
                if cost < f:
                    mine[t] = cost
                    self._touch(position)

    def relevant_set(self, it: Item, config: Iterable[IndexDef]) -> frozenset[IndexDef]:
        """The indexes of `config` that could change `it`'s plan (its cost is cached per this set)."""
        current = config is self.config
        if current:
            key = (self.version, id(self.config), len(self.config))
            snap = self._snapshot
            if snap is None or snap[0] != key:
                snap = self._snapshot = (key, frozenset(self.config))
            now = snap[1]
            got = self._relevant.get(it.position)
            if got is not None:
                if got[0] == key:
                    return got[1]
                # the configuration moved on since: only the indexes that came or went are looked at
                changed = now ^ got[2]
                if len(changed) <= 8:
                    found = got[1] - changed if changed else got[1]
                    added = [ix for ix in changed if ix in now and it.position in self._positions(ix)]
                    if added:
                        found = found | frozenset(added)
                    self._relevant[it.position] = (key, found, now)
                    return found
        positions = self._positions
        if not current:
            given = tuple(config)
            if len(given) < 16:
                return frozenset(ix for ix in given if it.position in positions(ix))
            # another configuration, asked for statement after statement (the verification's)
            other = self._other_index
            if other is None or other[0] != given:
                other = self._other_index = _config_index(given, given)
            return frozenset(ix for ix in self._could_serve(it, other) if it.position in positions(ix))
        index = self._config_index
        if index is None or index[0] != key:
            index = self._config_index = _config_index(key, self.config)
        found = frozenset(ix for ix in self._could_serve(it, index) if it.position in positions(ix))
        self._relevant[it.position] = (key, found, now)
        return found

    def _could_serve(self, it: Item, index: tuple[Any, dict[tuple[TableName, str], list[IndexDef]],
                                                  dict[TableName, list[IndexDef]]]) -> Iterator[IndexDef]:
        """The indexes of a configuration (`index`: see `_config_index`) that may be relevant to
        `it`: those whose leading column it can use, and on a table it reads few enough columns of
        to be covered by an index, all of them there (`affected` looks no further), each once."""
        _key, by_lead, by_table = index
        narrow = self._narrow_on.get(it.position, ())
        for t in narrow:
            yield from by_table.get(t, ())
        for t, cols in it.indexable.items():
            if t not in narrow:
                for c in cols:
                    yield from by_lead.get((t, c), ())

    def _positions(self, ix: IndexDef) -> set[int]:
        """The positions of the statements `ix` is relevant to (made when first asked)."""
        pos = self._affected_pos.get(ix)
        if pos is None:
            pos = self._affected_pos[ix] = {it.position for it in self.affected(ix)}
        return pos

    def lead_positions(self, table: TableName, column: str) -> set[int]:
        """The positions of the statements that can use `column` of `table` as a leading column."""
        got = self._lead_positions.get((table, column))
        if got is None:
            got = {it.position for it in self.by_leading.get((table, column), ())}
            self._lead_positions[(table, column)] = got
        return got

    def relevant_after(self, it: Item, new: IndexDef, old: IndexDef | None) -> frozenset[IndexDef]:
        """`relevant_set(it, config less old plus new)`, from the current configuration's set."""
        now = self.relevant_set(it, self.config)
        if old is not None and old in now:
            now = now - {old}
        if new not in now and it.position in self._positions(new):
            now = now | {new}
        return now

    def prefetch_keys(self, requests: list[tuple[Item, frozenset[IndexDef]]], config: frozenset[IndexDef]) -> None:
        """`prefetch` with each statement's index set already worked out."""
        prefetch = getattr(self.oracle, "prefetch", None)
        if prefetch is not None and len(requests) >= 2:
            prefetch([(it.costed_sid, key) for it, key in requests], config)

    def prefetch(self, items: list[Item], config: list[IndexDef]) -> None:
        """Let the oracle cost these statements under `config` in one pipelined go, when it can."""
        prefetch = getattr(self.oracle, "prefetch", None)
        if prefetch is not None and len(items) >= 2:
            prefetch([(it.costed_sid, self.relevant_set(it, config)) for it in items], frozenset(config))

    def cost(self, it: Item, config: Iterable[IndexDef]) -> float | None:
        """`it`'s cost with the indexes of `config` relevant to it (None: its EXPLAIN failed)."""
        return self.oracle.cost(it.costed_sid, self.relevant_set(it, config))

    def size(self, ix: IndexDef) -> int:
        """HypoPG's size estimate (the catalog's when HypoPG has none, e.g. it refused the index)."""
        s = self.oracle.size(ix)
        return int(s) if s else self.catalog_size(ix)

    def known_size(self, ix: IndexDef | None) -> int:
        """A size without a round trip: HypoPG's when already known, else the catalog estimate."""
        if ix is None:
            return 0
        s = getattr(self.oracle, "sizes", {}).get(ix)
        return int(s) if s else self.catalog_size(ix)

    def catalog_size(self, ix: IndexDef) -> int:
        table = self.catalog.get(ix.table_key)
        return estimated_size(ix, table) if table is not None else 0

    def penalty(self, ix: IndexDef | None) -> float:
        """Write cost of keeping `ix` (`write_entries` × entry cost, plus the table's unseen writes)."""
        if ix is None:
            return 0.0
        got = self._penalties.get(ix)
        if got is not None:
            return got
        table = self.catalog.get(ix.table_key)
        total = table.unseen_write_rows * INDEX_ENTRY_COST if table is not None else 0.0
        for w in self.writes:
            if w.analysis.target == ix.table_key:
                total += w.weight * write_entries(w, ix, table) * INDEX_ENTRY_COST
        self._penalties[ix] = total
        return total

    def total_cost(self) -> float:
        return sum(it.weight * self.cur[it.position] for it in self.items)

    def chosen(self) -> tuple[set[IndexDef], int]:
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

    def leads_chosen(self, ix: IndexDef, besides: IndexDef | None = None) -> IndexDef | None:
        """A chosen index (other than `besides`) that `ix` is a redundant prefix of (I103's rule)."""
        self.chosen()
        for x in self._leading.get((ix.table_key, ix.columns, ix.where), ()):
            if x != ix and x != besides and ix.prefix_of(x):
                return x
        return None

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
        self.recost(touched.values(), failed_to_base=True)

    def recost(self, items: Iterable[Item], *, failed_to_base: bool = False) -> None:
        """The configuration changed: a new version, and these statements' costs under it (a failed
        EXPLAIN keeps the last cost, or with `failed_to_base` falls back to the cost with none)."""
        self.version += 1
        self.stamp += 1
        for it in items:
            c = self.cost(it, self.config)
            if c is not None:
                self.cur[it.position] = c
            elif failed_to_base:
                self.cur[it.position] = self.base[it.position]
            self.changed[it.position] = self.version
            self._touch(it.position)

    def marginal(self, ix: IndexDef) -> tuple[float, float]:
        """(weighted cost the index saves given the others − its write cost, best relative saving)."""
        benefit, best_rel = 0.0, 0.0
        plan_uses = getattr(self.oracle, "plan_uses", None)
        need: list[tuple[Item, frozenset[IndexDef]]] = []
        for it in self.affected(ix):
            now = self.relevant_set(it, self.config)
            if plan_uses is not None:
                used = plan_uses(it.costed_sid, now)
                if used is not None and ix not in used:
                    continue   # its current plan does without ix: taking ix away cannot change its cost
            need.append((it, now - {ix}))    # = relevant_set(it, config without ix)
        prefetch = getattr(self.oracle, "prefetch", None)
        if prefetch is not None and len(need) >= 2:
            prefetch([(it.costed_sid, key) for it, key in need], frozenset(x for x in self.config if x != ix))
        for it, key in need:
            c = self.oracle.cost(it.costed_sid, key)
            if c is None:
                continue
            d = c - self.cur[it.position]
            benefit += it.weight * d
            if c > 0:
                best_rel = max(best_rel, d / c)
        return benefit - self.penalty(ix), best_rel

    def replace_loss(self, old: IndexDef, new: IndexDef | None) -> float:
        """Weighted workload cost added by replacing `old` with `new` (None: dropping it)."""
        config = [x for x in self.config if x != old] + ([new] if new is not None else [])
        items = {it.position: it for it in self.affected(old)}
        if new is not None:
            items.update({it.position: it for it in self.affected(new)})
        loss = 0.0
        for it in items.values():
            c = self.cost(it, config)
            if c is not None:
                loss += it.weight * (c - self.cur[it.position])
        return loss - self.penalty(old) + self.penalty(new)

    def work(self) -> int:
        """EXPLAINs run so far (the oracle's count when it keeps one, else cost lookups)."""
        stats = getattr(self.oracle, "stats", None)
        return int(stats.explains) if stats is not None else self.evaluations


def _config_index(key: Any, config: Iterable[IndexDef]) -> tuple[Any, dict[tuple[TableName, str], list[IndexDef]],
                                                                  dict[TableName, list[IndexDef]]]:
    """(key, a configuration's indexes by (table, leading column), by table)."""
    by_lead: dict[tuple[TableName, str], list[IndexDef]] = {}
    by_table: dict[TableName, list[IndexDef]] = {}
    for ix in config:
        by_lead.setdefault((ix.table_key, ix.columns[0]), []).append(ix)
        by_table.setdefault(ix.table_key, []).append(ix)
    return key, by_lead, by_table


def hot_share(table: TableInfo | None) -> float | None:
    """The share of the table's updates that were HOT (pg_stat_user_tables), None before any update."""
    if table is None or not table.writes.get("n_tup_upd"):
        return None
    return min(1.0, table.writes.get("n_tup_hot_upd", 0) / table.writes["n_tup_upd"])


def write_entries(w: Item, ix: IndexDef, table: TableInfo | None) -> float:
    """Index entries one execution of write statement `w` adds to `ix` (and, when `ix` makes its
    UPDATE non-HOT, to the table's other indexes):
    - INSERT: a new entry per row written (an upsert's rows counted once: its DO UPDATE too);
    - UPDATE of a column `ix` holds (key — or a column an expression key reads —, INCLUDE or
      partial predicate): a new entry per row; when
      no existing index holds a SET column the update could be HOT (the table's HOT share of
      updates says how often it is), and `ix` makes those non-HOT: one entry in every existing
      index as well;
    - UPDATE of other columns: an entry per row when an existing index holds a SET column (the
      update is non-HOT anyway), else per row it could not do HOT (the table's non-HOT share;
      none assumed before the table saw any update);
    - DELETE: none (the dead entries are vacuumed away)."""
    a = w.analysis
    rows = max(w.written_rows, 0.0)
    if a.kind is StatementKind.INSERT:
        return rows
    if a.kind is not StatementKind.UPDATE:
        return 0.0
    hot = hot_share(table)
    table_columns = table.columns if table is not None else None
    cols = {c for key in ix.columns for c in key_columns(key, table_columns)} | set(ix.include) \
        | {c.column for c in ix.where}   # an expression key (lower("email")) is written when its column is
    existing = [i for i in table.indexes if i.is_valid] if table is not None else []
    already = any({c for c in i.column_names if c} & a.set_columns for i in existing)   # non-HOT today
    if cols & a.set_columns:
        return rows * (1.0 + (0.0 if already or hot is None else hot * len(existing)))
    if already:
        return rows
    return rows * (1.0 - hot) if hot is not None else 0.0


def one_page(ix: IndexDef, size: int) -> bool:
    """Whether `ix` is a full index (no predicate) of one page: its table holds a few hundred rows at
    most (TPC-H's nation and region), and indexing it saves next to nothing. (A partial index of one
    page can serve a large table: the stress case's `WHERE cI = 0`.)"""
    return not ix.where and 0 < size <= PAGE


def floor_bounds(it: Item, ix: IndexDef) -> bool:
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


def floors_bound(items: list[Item], ix: IndexDef) -> bool:
    """`floor_bounds(it, ix)` for every one of `items` (the same rule, with what depends only on
    `ix` worked out once: the searches ask it of every move over up to thousands of statements)."""
    t, cols, where = ix.table_key, ix.columns, ix.where
    width = len(cols) + len(ix.include)
    covered = set(cols) | set(ix.include)
    prefixes = [cols[:k] for k in range(len(cols) + 1)]
    for it in items:
        seed = it.seed
        if not seed:
            return False
        if ix in seed:
            continue
        usable = it.indexable.get(t, ())
        k = 0
        while k < len(cols) and cols[k] in usable:
            k += 1
        if k == 0:
            return False
        read = it.analysis.referenced.get(t)
        if read and len(read) <= width and read <= covered:
            return False
        keys = it.seed_keys
        if keys is None:
            keys = it.seed_keys = frozenset((s.columns, s.where) for s in seed if not s.include)
        if (prefixes[k], where) not in keys:
            return False
    return True


def seed_floors(items: list[Item], whatif: WhatIf, batch: int = SEED_BATCH) -> dict[int, dict[TableName, float]]:
    """Each statement's cost with all its own candidates present (and those of the statements
    batched with it): the best its plan can get from them, a floor that bounds every move's
    benefit. Statements are batched Dexter-style so one set of hypothetical indexes serves many
    EXPLAINs; the sizes come along for free.

    Returns, for statements with candidates on several tables (joins), their floor on each such
    table alone (its candidates on that table only, nothing on the others), where it is above the
    floor: a move on one table cannot take a join below it while no index on its other tables
    serves the statement (`CostModel.low`), a much tighter bound at the start of the greedy.
    The garbage collector is paused meanwhile (`gc_paused`: thousands of plans, no cycles)."""
    with gc_paused():
        return _seed_floors(items, whatif, batch)


def _seed_floors(items: list[Item], whatif: WhatIf, batch: int) -> dict[int, dict[TableName, float]]:
    todo = sorted((it for it in items if it.sid is not None and it.seed),
                  key=lambda it: (sorted(it.tables), sorted(ix.sort_key() for ix in it.seed)[:1]))
    for g, ex in _batched(todo, lambda it: it.seed, whatif, batch):
        if ex.cost is not None:
            g.floor = min(ex.cost, g.base if g.base is not None else ex.cost)
    out: dict[int, dict[TableName, float]] = {}
    per_table: dict[TableName, list[Item]] = {}
    for it in todo:
        tables = {ix.table_key for ix in it.seed}
        if len(tables) > 1 and it.floor is not None:
            for t in tables:
                per_table.setdefault(t, []).append(it)
    before = whatif.stats.explains if hasattr(whatif, "stats") else 0
    sizes = getattr(whatif, "sizes", {})
    for t in sorted(per_table):
        if all(one_page(ix, sizes.get(ix, 0)) for it in per_table[t] for ix in it.seed if ix.table_key == t):
            continue    # a table whose indexes are one page (TPC-H's nation, region): the greedy searches them last
        def on_table(it: Item, t: TableName = t) -> frozenset[IndexDef]:
            return frozenset(ix for ix in it.seed if ix.table_key == t)

        for g, ex in _batched(per_table[t], on_table, whatif, batch):
            if ex.cost is not None and g.floor is not None and ex.cost > g.floor:
                out.setdefault(g.position, {})[t] = min(ex.cost, g.base if g.base is not None else ex.cost)
    if hasattr(whatif, "stats"):
        whatif.stats.table_floor_explains += whatif.stats.explains - before
    if todo:
        whatif.reset()      # the last group's indexes: the search starts from none
    return out


def _batched(todo: list[Item], seeds: Callable[[Item], frozenset[IndexDef]], whatif: WhatIf,
             batch: int) -> Iterator[tuple[Item, Any]]:
    """(statement, its EXPLAIN) for each of `todo`, planned in groups whose `seeds` together are at
    most `batch` hypothetical indexes, each group with exactly its seeds on the tables involved."""
    groups: list[tuple[list[Item], frozenset[IndexDef]]] = []
    group: list[Item] = []
    union: set[IndexDef] = set()
    for it in [*todo, None]:
        mine = seeds(it) if it is not None else frozenset()
        if it is not None and (not group or len(union | mine) <= batch):
            group.append(it)
            union |= mine
            continue
        if group:
            groups.append((group, frozenset(union)))
        if it is not None:
            group, union = [it], set(mine)
    if not groups:
        return
    # all the groups at once: many are planned on two sessions (WhatIf.explain_supersets)
    planned = whatif.explain_supersets([([g.costed_sid for g in members], ix) for members, ix in groups])
    for (members, _ix), results in zip(groups, planned, strict=True):
        yield from zip(members, results, strict=True)


def write_cost_reason(model: CostModel, move: Any) -> str | None:
    """Why a move with no net benefit lost, when its write cost is the reason: "its write cost (W)
    outweighs what it saves (S)" (None when it saves nothing anyway). `move` is a `moves.Move`."""
    write = model.penalty(move.new) - model.penalty(move.old)
    saves = move.benefit + write
    if write <= 0 or saves <= 1e-9:
        return None
    return (f"its write cost ({write:,.0f}: index entries the workload's writes add) outweighs "
            f"what it saves ({'at most ' if not move.exact else ''}{saves:,.0f})")
