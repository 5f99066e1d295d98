"""Local search after the greedy (`LocalSearch.refine`): restart the greedy from neighbouring
configurations and keep any that makes the workload cheaper. Three neighbourhoods: *split* a
chosen multi-column index into its prefix and the left-out candidate on its last column, *force*
a promising candidate the greedy left out (space freed for both by dropping or narrowing the
chosen indexes that lose least per byte still needed), and *drop* one chosen index (weakest
first) so the greedy refills without it."""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterator
from typing import Any

from perftool.advisor.candidates import PAGE
from perftool.advisor.greedy import GreedySearch
from perftool.advisor.indexdef import IndexDef
from perftool.advisor.moves import FLOOR_EPSILON, Move, MoveStatus

REFINE_FORCED = 20              # candidates the "force" neighbourhood of the local search tries

# what a trial changed, to undo it: steps taken before it, the moves' statuses, pruned, widened
Trial = tuple[int, dict[tuple[IndexDef | None, IndexDef], MoveStatus], dict[IndexDef, str], dict[IndexDef, IndexDef]]


class LocalSearch:
    """Refines the result of one `GreedySearch` in place (its model ends on the best configuration)."""

    def __init__(self, search: GreedySearch, splits_only: bool = False):
        self.search = search
        self.splits_only = splits_only      # only the split neighbourhood (select: when both greedy starts agree)
        self.model = search.model
        self.moves = search.moves
        self.options = search.options
        self.refinements = 0

    def refine(self, until: float) -> None:
        """Local search after the greedy, keeping any change that makes the workload cheaper and
        restarting after it, until nothing helps or time runs out. Three neighbourhoods (`neighbours`):
        *split*: replace a chosen multi-column index by its prefix and the candidate on its last
        column; *force*: take a promising candidate the greedy left out (best benefit first); both
        evict the weakest chosen indexes until they fit, and let the greedy refill; *drop*: remove
        one chosen index (weakest first) and let the greedy refill the freed budget without it."""
        best, best_cost = list(self.model.config), self.model.total_cost()
        tried: set[frozenset[IndexDef]] = set()
        improved = True
        while improved and not self.past(until):
            improved = False
            for start, banned in self.neighbours(best, until):
                if self.past(until):
                    break
                key = frozenset(start)
                if key in tried:
                    continue
                tried.add(key)
                history: Trial = (len(self.search.steps), {k: m.status for k, m in self.moves.by_key.items()},
                                  dict(self.search.pruned), dict(self.search.widened))
                self.model.set_config(start)
                self.search.banned = banned
                saved_deadline, self.search.deadline = self.search.deadline, until
                self.search.requeue()
                self.search.converge(refresh=False)
                self.search.deadline = saved_deadline
                self.search.banned = set()
                cost = self.model.total_cost()
                if cost < best_cost * (1 - 1e-6):
                    best, best_cost = list(self.model.config), cost
                    self.refinements += 1
                    improved = True
                    break
                self.forget_trial(history)   # --explain-choice shows the search that led to the result
                self.model.set_config(best)
        self.model.set_config(best)

    def forget_trial(self, history: Trial) -> None:
        """Undo what a rejected trial recorded: its steps, the moves' statuses, pruned and widened."""
        steps, statuses, pruned, widened = history
        del self.search.steps[steps:]
        for k, m in self.moves.by_key.items():
            m.status = statuses.get(k, MoveStatus.NOT_EVALUATED)
        self.search.pruned, self.search.widened = pruned, widened

    def cheapest_shrink(self, keep: set[IndexDef], need: int) -> tuple[IndexDef, IndexDef | None] | None:
        """The way to free space that loses least per byte: drop a chosen index (not one of
        `keep`), or narrow it by its last column. Only the `need` bytes still to be freed count:
        a large index freeing far more than the last few bytes needed is not cheap per byte."""
        best: tuple[IndexDef, IndexDef | None] | None = None
        best_key: tuple[float, tuple[Any, ...], bool] | None = None
        for x in self.model.config:
            if x in keep:
                continue
            options: list[IndexDef | None] = [None]
            shorter = x.narrowed()
            if shorter is not None:
                options.append(shorter)
            for narrower in options:
                if narrower is not None and (narrower in self.model.config or not self.model.size(narrower)):
                    continue
                freed = self.model.size(x) - (self.model.size(narrower) if narrower is not None else 0)
                if freed <= 0:
                    continue
                key = (self.model.replace_loss(x, narrower) / min(freed, max(need, 1)), x.sort_key(), narrower is None)
                if best_key is None or key < best_key:
                    best, best_key = (x, narrower), key
        return best

    def promising(self, best: list[IndexDef], until: float) -> Iterator[Move]:
        """Moves the greedy left out, best *net* current benefit first (the benefit less what the
        chosen indexes it would evict to fit --budget lose): stored benefits are upper bounds
        from older configurations, so the top ones are re-bounded, then re-costed, until
        the top is fresh. Lazily: each is yielded as soon as it is known to lead the rest (the
        model is back on `best` whenever the next is asked for), so a trial that improves ends
        the ranking of the ones after it."""
        net = self.eviction_estimate(best)
        heap = [(-net(m, m.benefit), m.seq) for m in self.moves.by_key.values()
                if m.new not in best and (m.old is None or m.old in best) and m.benefit > 0
                and not self.moves.never_fits(m)]
        heapq.heapify(heap)
        given = 0
        bounded: set[int] = set()
        fresh: set[int] = set()
        bar = max(self.options.min_improvement, FLOOR_EPSILON)
        while heap and given < REFINE_FORCED and not self.past(until):
            _neg, seq = heapq.heappop(heap)
            move = self.moves.by_seq[seq]
            if seq in fresh:
                given += 1
                yield move
                continue
            if seq not in bounded and self.moves.boundable(move):
                bounded.add(seq)
                gain, rel = self.moves.bound(move)
                if gain > 1e-9 and rel >= bar:
                    heapq.heappush(heap, (-net(move, gain), seq))
                continue
            self.moves.evaluate(move)
            fresh.add(seq)
            if move.benefit > 0:
                heapq.heappush(heap, (-net(move, move.benefit), seq))

    def eviction_estimate(self, best: list[IndexDef]) -> Callable[[Move, float], float]:
        """A move's benefit less what the chosen indexes it would evict to fit --budget lose:
        the weakest per byte first, each at its marginal loss beside all the others."""
        budget = self.options.budget_bytes
        model = self.model
        model.set_config(best)
        if budget is None:
            return lambda m, gain: gain
        used = sum(model.size(x) for x in best)
        weakest = [(max(lost, 0.0), size, ix) for lost, size, ix in self.weakest(best)]

        def net(m: Move, gain: float) -> float:
            need = used + model.known_size(m.new) - (model.size(m.old) if m.old is not None else 0) - budget
            loss = 0.0
            for lost, size, ix in weakest:
                if need <= 0:
                    break
                if ix == m.old:
                    continue
                loss += lost
                need -= size
            return gain - loss
        return net

    def weakest(self, best: list[IndexDef]) -> list[tuple[float, int, IndexDef]]:
        """(marginal loss, size, index) of each chosen index (the model on `best`), the least loss
        per byte first: the order the drops are tried in and the force moves' evictions assumed."""
        model = self.model
        return sorted(((model.marginal(ix)[0], model.size(ix), ix) for ix in best),
                      key=lambda t: (t[0] / max(t[1], PAGE), t[2].sort_key()))

    def neighbours(self, best: list[IndexDef], until: float) -> Iterator[tuple[list[IndexDef], set[IndexDef]]]:
        """Starting configurations for `refine`, generated lazily so the time limit stops early:
        with --budget or --max-indexes, first each chosen multi-column index split in two (`splits`),
        then each chosen index dropped, weakest first (`weakest`), then each promising left-out move
        forced in (space freed by dropping or narrowing the chosen indexes that lose least per byte)."""
        self.model.set_config(best)
        constrained = self.options.budget_bytes is not None or self.options.max_indexes is not None
        starts = (self.fitted(start, keep=set(start) - set(best), best=best) for start in self.forced(best, until))
        if constrained:
            for x, pair in self.splits(best):
                fitted = self.fitted([ix for ix in best if ix != x] + pair, keep=set(pair), best=best)
                if fitted is not None:
                    yield fitted, set()
                if self.past(until):
                    return
        if self.splits_only:
            return
        for _lost, _size, ix in self.weakest(best):
            yield [x for x in best if x != ix], {ix}
            if self.past(until):
                return
        for fitted in starts if constrained else ():
            if fitted is not None:
                yield fitted, set()
            if self.past(until):
                return

    def forced(self, best: list[IndexDef], until: float) -> Iterator[list[IndexDef]]:
        """The force starts (the promising moves costed only once the splits and drops were tried)."""
        for m in self.promising(best, until):
            yield [ix for ix in best if ix != m.old] + [m.new]

    def splits(self, best: list[IndexDef]) -> Iterator[tuple[IndexDef, list[IndexDef]]]:
        """The *split* neighbourhood: a chosen multi-column index X replaced by two narrower ones,
        X less its last key column and the candidate on that column alone (Extend's shape of two
        single-column indexes where the greedy widened one), when the greedy left that candidate
        out with a positive benefit; best such benefit first."""
        singles: dict[tuple[Any, ...], Move] = {}
        for (old, new), m in self.moves.by_key.items():
            if old is None and len(new.columns) == 1 and not new.include and new.method == "btree" \
                    and m.benefit > 0 and new not in best and not self.moves.never_fits(m):
                singles.setdefault((new.table_key, new.columns[0], new.where), m)
        found: list[tuple[float, tuple[Any, ...], IndexDef, list[IndexDef]]] = []
        for x in best:
            prefix = x.narrowed() if not x.include and len(x.columns) > 1 else None
            single = singles.get((x.table_key, x.columns[-1], x.where))
            if prefix is None or single is None or prefix in best or not self.model.size(prefix):
                continue
            found.append((single.benefit, x.sort_key(), x, [prefix, single.new]))
        found.sort(key=lambda t: (-t[0], t[1]))
        for _benefit, _key, x, pair in found:
            yield x, pair

    def fitted(self, start: list[IndexDef], keep: set[IndexDef], best: list[IndexDef]) -> list[IndexDef] | None:
        """`start` made to fit --budget by dropping or narrowing (`cheapest_shrink`) the indexes
        other than `keep`, or None when it cannot (or has more than --max-indexes); the model is
        left on `best`."""
        if self.options.max_indexes is not None and len(start) > self.options.max_indexes:
            return None
        budget = self.options.budget_bytes
        self.model.set_config(start)
        while budget is not None and (over := sum(self.model.size(x) for x in self.model.config) - budget) > 0:
            shrink = self.cheapest_shrink(keep=keep, need=over)
            if shrink is None:
                break
            old, narrower = shrink
            self.model.set_config([x for x in self.model.config if x != old] + ([narrower] if narrower else []))
        fits = budget is None or sum(self.model.size(x) for x in self.model.config) <= budget
        start = list(self.model.config)
        self.model.set_config(best)
        return start if fits else None

    def past(self, until: float) -> bool:
        """The local search stops at its work limit (deterministic) or at `until` (a wall-clock cap)."""
        limit = self.search.work_limit
        return time.perf_counter() >= until or (limit is not None and self.model.work() >= limit)

