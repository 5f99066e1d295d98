"""The greedy of the whole-workload selection (in the spirit of Extend): each step takes the move
with the best *benefit per byte* — benefit = the weighted drop in workload cost minus the write
cost of maintaining the index — among adding a candidate and widening a chosen index by one
column (a key column when the statements filter or sort on it, else an INCLUDE column). A move
must improve some statement by at least `min_improvement` of its current cost and fit the budget
and `max_indexes`. Moves are re-evaluated lazily: a stored benefit is re-costed only when one of
its statements' configurations changed since, and a move is taken only with a fresh cost.
Then pruning: an index whose removal costs no statement `min_improvement` (or whose benefit no
longer pays its write cost) is dropped, freed budget is refilled; repeat until stable."""

from __future__ import annotations

import heapq
import time

from perftool.advisor.candidates import PAGE
from perftool.advisor.costs import CostModel, floor_bounds, one_page
from perftool.advisor.indexdef import IndexDef
from perftool.advisor.items import Item
from perftool.advisor.moves import FLOOR_EPSILON, Move, Moves, MoveStatus, Step
from perftool.gc_pause import gc_paused

NEAR_TIE = 0.002                # a freshly costed move within 0.2 % of the best bound is taken at once


class GreedySearch:
    """Greedy benefit-per-byte selection with lazy re-evaluation over one `CostModel`. The local
    search (`refine.LocalSearch`) restarts it from other configurations, with some indexes
    `banned`; it stops at `deadline` or after `work_limit` EXPLAINs in all."""

    def __init__(self, model: CostModel, candidates: list[IndexDef], deadline: float | None = None):
        self.model = model
        self.options = model.options
        self.moves = Moves(model)
        self.candidates = candidates
        self.deadline = deadline
        self.heap: list[tuple[float, int, int]] = []
        self.steps: list[Step] = []
        self.pruned: dict[IndexDef, str] = {}
        self.widened: dict[IndexDef, IndexDef] = {}
        self.banned: set[IndexDef] = set()
        self.work_limit: int | None = None    # set while refining: stop after this many EXPLAINs in all

    @property
    def config(self) -> list[IndexDef]:
        """The chosen indexes."""
        return self.model.config

    def run(self) -> list[IndexDef]:
        """Cost or bound every candidate, climb, prune and refill until stable, then try the OR bundles.
        The garbage collector is paused meanwhile (`gc_paused`): the moves, bounds and cached plans
        hold no reference cycles, and its full passes over them took ~1 s of the stress case."""
        with gc_paused():
            return self._run()

    def _run(self) -> list[IndexDef]:
        tiny = [ix for ix in self.candidates if self.one_page(ix)]
        for ix in self.candidates:
            if not tiny or ix not in tiny:
                self.enter(ix)
        self.converge()
        if tiny and self.tiny_pay(tiny):
            for ix in tiny:
                self.enter(ix)
            self.converge()
        if self.bundles():
            self.converge(refresh=False)
        return list(self.model.config)

    def enter(self, ix: IndexDef) -> None:
        """Register the move adding candidate `ix` and queue it by a bound (or set it aside)."""
        move = self.moves.register(ix, None)
        if move is None or self._queued(move):
            return
        # the floors bound it on the statements it cannot cover; on the others, no statement costs less than nothing
        items = self.moves.items_of(move)
        t = move.new.table_key
        gain = sum(it.weight * (self.model.cur[it.position]
                                - (self.model.low(it, t) if floor_bounds(it, move.new) else 0.0))
                   for it in items) - self.model.penalty(move.new)
        if gain <= self.moves.negligible:
            move.status = MoveStatus.NO_BENEFIT
            return
        move.delta_size = self.model.size(move.new)
        move.benefit, move.ratio, move.exact = gain, gain / max(move.delta_size, PAGE), False
        move.version = self.model.version
        self.push(move)

    def one_page(self, ix: IndexDef) -> bool:
        """Whether `ix` is a full index of one page (`costs.one_page`; TPC-H's nation and region): it
        saves next to nothing, but any bound on a join, divided by its one page, puts it first in
        the queue, again after every step."""
        return one_page(ix, self.model.size(ix))

    def tiny_pay(self, tiny: list[IndexDef]) -> bool:
        """Whether the candidates on one-page tables, all added at once to the configuration, save more
        than a negligible share on their statements (one pipelined EXPLAIN each): only then are they
        searched, after the others."""
        config = self.model.config
        keys: dict[int, tuple[Item, frozenset[IndexDef]]] = {}
        for ix in tiny:
            for it in self.model.affected(ix):
                got = keys.get(it.position)
                keys[it.position] = (it, (got[1] if got else self.model.relevant_set(it, config)) | {ix})
        requests = list(keys.values())
        self.model.prefetch_keys(requests, frozenset(config) | frozenset(tiny))
        gain = 0.0
        for it, key in requests:
            c = self.model.oracle.cost(it.costed_sid, key)
            if c is not None:
                gain += it.weight * (self.model.cur[it.position] - c)
        return gain > self.moves.negligible

    def bundles(self) -> bool:
        """OR branches on different columns (`email = $1 OR name = $1`) need an index per branch
        before a BitmapOr can replace the scan, so no single index pays on its own: for each such
        access, cost its missing branch indexes together and take them all when that pays."""
        by_key = {(ix.table_key, ix.columns): ix for ix in self.candidates
                  if len(ix.columns) == 1 and not ix.where and not ix.include}
        taken = False
        for it in self.model.items:
            for acc in it.analysis.accesses:
                if len(acc.either) < 2:
                    continue
                chosen, used = self.model.chosen()
                lead = {x.columns[0] for x in chosen if x.table_key == acc.table and not x.where}
                bundle = [by_key[(acc.table, (c,))] for c in acc.either
                          if c not in lead and (acc.table, (c,)) in by_key]
                if len(bundle) < 2 or any(ix in self.banned for ix in bundle):
                    continue
                size = sum(self.model.size(ix) for ix in bundle)
                if (self.options.budget_bytes is not None and used + size > self.options.budget_bytes) or \
                        (self.options.max_indexes is not None
                         and len(self.model.config) + len(bundle) > self.options.max_indexes):
                    continue
                config = [*self.model.config, *bundle]
                touched = {x.position: x for ix in bundle for x in self.model.affected(ix)}
                gain, best = 0.0, 0.0
                for x in touched.values():
                    c = self.model.cost(x, config)
                    if c is None:
                        continue
                    cur = self.model.cur[x.position]
                    gain += x.weight * (cur - c)
                    best = max(best, (cur - c) / cur if cur > 0 else 0.0)
                gain -= sum(self.model.penalty(ix) for ix in bundle)
                if gain <= 1e-9 or best < max(self.options.min_improvement, 1e-9):
                    continue
                self.model.set_config(config)
                for ix in bundle:
                    move = self.moves.by_key.get((None, ix)) or self.moves.register(ix, None)
                    if move is not None:
                        move.status = MoveStatus.TAKEN
                        self.steps.append(Step(number=len(self.steps) + 1, move=Move(
                            new=ix, benefit=gain / len(bundle), delta_size=self.model.size(ix), exact=True,
                            ratio=gain / max(size, PAGE)), runners_up=[]))
                taken = True
        return taken

    def converge(self, refresh: bool = True) -> None:
        """Climb, prune, and climb again on the freed budget, until pruning removes nothing."""
        for _round in range(4):
            self.climb(refresh)
            if not self.prune():
                break
            self.requeue()

    def valid(self, move: Move) -> bool:
        """Whether the move still applies to the configuration (and its index is not redundant in it)."""
        chosen, _used = self.model.chosen()
        return (move.old is None or move.old in chosen) and move.new not in chosen and move.new not in self.banned \
            and self.model.leads_chosen(move.new, besides=move.old) is None

    def requeue(self) -> None:
        self.heap = []
        for move in self.moves.by_key.values():
            if self.valid(move):
                if move.version < 0 and move.old is not None:
                    self.screen(move)       # a widening set aside unscreened, as it did not fit then
                else:
                    self.push(move)

    def climb(self, refresh: bool = True) -> None:
        """Take the best move per byte while one pays (lazily re-costed; see the module docstring),
        then `refresh` the stale moves up to twice (`refresh=False`: not at all)."""
        refreshes = 0 if refresh else 99
        while True:
            while self.heap:
                if self.out_of_time():
                    return
                _neg, _s, seq = heapq.heappop(self.heap)
                move = self.moves.by_seq[seq]
                if not self.valid(move):
                    continue
                if move.delta_size == 0:    # (a widening's before its first costing: not costed if it no longer fits)
                    move.delta_size = self.model.size(move.new) - self.model.size(move.old) if move.old is not None \
                        else self.model.size(move.new)
                if not self.moves.fits(move):
                    move.status = (MoveStatus.OVER_BUDGET if self.options.budget_bytes is not None
                                   and (self.options.max_indexes is None or move.old is not None
                                        or len(self.model.config) < self.options.max_indexes)
                                   else MoveStatus.MAX_INDEXES)
                    continue
                if self.moves.stale(move):
                    rebound = move.version < self.model.version and (
                        move.contrib is not None or (not move.exact and self.moves.boundable(move)))
                    if rebound:
                        gain, rel = (self.moves.refined_bound(move) if move.contrib is not None
                                     else self.moves.bound(move))
                        move.exact = False
                        move.version = self.model.version
                        if gain <= self.moves.negligible or rel < max(self.options.min_improvement, FLOOR_EPSILON):
                            move.status = self.moves.setback(gain)
                            continue
                        move.benefit, move.ratio = gain, gain / max(move.delta_size, PAGE)
                        if self.heap and move.ratio < -self.heap[0][0]:
                            self.push(move)   # its bound no longer leads: cost it only if it comes back
                            continue
                    if self.tighten(move):
                        continue
                    self.moves.evaluate(move)
                    if not self.moves.admissible(move):
                        move.status = self.moves.setback(move.benefit)
                        continue
                    if self.heap and move.ratio < (1 - NEAR_TIE) * -self.heap[0][0]:
                        self.push(move)
                        continue
                if not self.moves.admissible(move):
                    continue
                self.apply(move)
            refreshes += 1
            if refreshes > 2 or self.out_of_time() or not self.refresh():
                return

    def tighten(self, move: Move) -> bool:
        """Before costing a move exactly: when its key prefix's exact costing bounds it tighter
        (`Moves.prefix_bound`) and that bound no longer leads the queue (or cannot pay), set it
        aside or queue it by that bound; True when it was."""
        if not self.heap:
            return False
        tight = self.moves.prefix_bound(move)
        if tight is None:
            return False
        gain, rel = tight
        if gain <= self.moves.negligible or rel < max(self.options.min_improvement, FLOOR_EPSILON):
            move.status = self.moves.setback(gain)
            move.benefit, move.exact, move.version = gain, False, self.model.version
            return True
        ratio = gain / max(move.delta_size, PAGE)
        if ratio >= -self.heap[0][0]:
            return False
        move.benefit, move.ratio, move.exact, move.version = gain, ratio, False, self.model.version
        self.push(move)
        return True

    def refresh(self) -> bool:
        """Re-cost every move evaluated before its statements last changed; True when one now pays."""
        pushed = False
        for move in self.moves.by_key.values():
            if not self.valid(move) or not self.moves.fits(move) or not self.moves.stale(move):
                continue
            if move.contrib is not None and move.version < self.model.version:
                gain, rel = self.moves.refined_bound(move)
                move.exact, move.version = False, self.model.version
                if gain > self.moves.negligible and rel >= max(self.options.min_improvement, FLOOR_EPSILON):
                    move.benefit, move.ratio = gain, gain / max(move.delta_size, PAGE)
                    self.push(move)
                    pushed = True
                continue
            if self.moves.boundable(move):
                pushed = self.consider(move) or pushed
                continue
            self.moves.evaluate(move)
            if self.moves.admissible(move):
                self.push(move)
                pushed = True
        return pushed

    def apply(self, move: Move) -> None:
        """Take the move: the configuration changes, its statements are re-costed, its widenings queued."""
        runners: list[Move] = []
        # the 3 smallest entries of a heap are among its first 7 (its top three levels)
        for neg, _s, seq in heapq.nsmallest(3, self.heap[:7]):
            other = self.moves.by_seq[seq]
            if other is not move:
                runners.append(Move(new=other.new, old=other.old, ratio=-neg, benefit=other.benefit,
                                    delta_size=other.delta_size, exact=other.exact))
        if move.old is not None:
            self.model.config = [move.new if ix == move.old else ix for ix in self.model.config]
            self.widened[move.old] = move.new
        else:
            self.model.config.append(move.new)
        move.status = MoveStatus.TAKEN
        self.model.recost(self.moves.items_of(move))
        self.steps.append(Step(number=len(self.steps) + 1, move=Move(**{**move.__dict__}), runners_up=runners))
        self.add_widenings(move.new)

    def push(self, move: Move) -> None:
        heapq.heappush(self.heap, (-move.ratio, move.seq, move.seq))

    def consider(self, move: Move) -> bool:
        """Queue a move by its bound, without costing it (it is costed when it reaches the top);
        a move whose bound cannot pass the --min-improvement bar is set aside."""
        gain, rel = self.moves.bound(move)
        if gain <= self.moves.negligible or rel < max(self.options.min_improvement, FLOOR_EPSILON):
            move.status = self.moves.setback(gain)
            move.exact = False
            move.benefit = gain     # (advupd) an upper bound, and a size without a round trip, for --explain-choice
            move.delta_size = move.delta_size or self.model.known_size(move.new) - self.model.known_size(move.old)
            return False
        if not move.delta_size and move.old is None:
            # queued by its bound per byte added (per page, nearly every move was costed before the first step)
            move.delta_size = self.model.size(move.new)
        move.ratio = gain / max(move.delta_size, PAGE)
        move.exact = False
        move.version = self.model.version
        self.push(move)
        return True

    def widenings(self, ix: IndexDef) -> list[IndexDef]:
        """Indexes one column wider than `ix` that some statement could use. A column is
        appended as a key column when a statement filters, joins, sorts or groups on it, or when it
        is the last column a statement reads (index-only scan); with INCLUDE allowed, the latter
        is also tried as an INCLUDE column."""
        if ix.width >= self.options.max_width:
            return []
        table = self.model.catalog.get(ix.table_key)
        found: list[IndexDef] = []
        have = set(ix.columns) | set(ix.include)
        for it in self.model.affected(ix):
            read = it.analysis.referenced.get(ix.table_key, set())
            if not set(ix.columns) <= read | it.indexable.get(ix.table_key, set()):
                continue
            usable = it.indexable.get(ix.table_key, set())
            missing = read - have
            # only a column it can use, or the one that completes an index-only scan, widens it
            for col in sorted(missing if len(missing) == 1 else missing & usable):
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
        return sorted(set(found), key=IndexDef.sort_key)

    def add_widenings(self, ix: IndexDef) -> None:
        for wider in self.widenings(ix):
            move = self.moves.register(wider, ix)
            if move is None or self._queued(move):
                continue
            self.screen(move)

    def _queued(self, move: Move) -> bool:
        """Set a move that can no longer fit aside, or queue one the floors bound by its bound: True
        when that is all it needs (else the caller bounds it another way)."""
        if self.moves.never_fits(move):
            move.status = MoveStatus.OVER_BUDGET
            return True
        if self.moves.boundable(move):
            self.consider(move)
            return True
        return False

    def screen(self, move: Move) -> None:
        """Queue a widening by a screening estimate on the statements its added column can change,
        when it fits what the budget leaves (one that does not is screened only if pruning frees
        the space: `requeue`)."""
        assert move.old is not None
        move.delta_size = move.delta_size or self.model.size(move.new) - self.model.size(move.old)
        if not self.moves.fits(move):
            move.status = MoveStatus.OVER_BUDGET
            return
        self.moves.evaluate(move, self.moves.primary(move))
        if move.benefit > 0:
            self.push(move)
        else:
            move.status = MoveStatus.NO_BENEFIT

    def prune(self) -> bool:
        """Drop indexes the others already cover (or that no longer pay); True when any went."""
        removed = False
        bar = max(self.options.min_improvement, 1e-9)
        for ix in sorted(self.model.config, key=IndexDef.sort_key):   # a prefix of another chosen index adds nothing
            longer = self.model.leads_chosen(ix) if ix in self.model.config else None
            if longer is not None:
                self.drop_chosen(ix, f"its key columns lead {longer.label()}, which serves the same scans")
                removed = True
        while True:
            # weakest per byte first; among indexes the others make useless, the largest goes first
            size = self.model.size
            scored = sorted(((self.model.marginal(ix), ix) for ix in self.model.config),
                            key=lambda t: (max(t[0][0], 0.0) / max(size(t[1]), PAGE), -size(t[1]), t[1].sort_key()))
            victim = next(((m, ix) for m, ix in scored if m[0] <= 1e-9 or m[1] < bar), None)
            if victim is None:
                return removed
            (benefit, rel), ix = victim
            self.drop_chosen(ix, "its benefit is covered by the other recommended indexes" if benefit <= 1e-9
                             else f"improves no statement by --min-improvement ({rel:.1%} at best)")
            removed = True

    def drop_chosen(self, ix: IndexDef, reason: str) -> None:
        self.model.config.remove(ix)
        self.pruned[ix] = reason
        self.model.recost(self.model.affected(ix))

    def out_of_time(self) -> bool:
        return (self.deadline is not None and time.perf_counter() > self.deadline) or \
            (self.work_limit is not None and self.model.work() >= self.work_limit)
