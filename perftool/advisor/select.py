"""The whole-workload selection: the greedy (`greedy.GreedySearch`) run from two candidate sets,
the cheaper result kept, then refined by the local search (`refine.LocalSearch`); and
`with_fixed`, which lets indexes the what-if costing cannot plan (GIN/GiST measured with
--verify-on) compete for --budget and --max-indexes with the selection's picks."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from perftool.advisor.costs import CostModel, CostOracle
from perftool.advisor.greedy import GreedySearch
from perftool.advisor.indexdef import IndexDef
from perftool.advisor.items import Item
from perftool.advisor.options import AdvisorOptions
from perftool.advisor.refine import LocalSearch
from perftool.catalog.schema import Catalog, TableName

REFINE_SHARE = 0.25            # the local search may spend a quarter as many EXPLAINs as the greedy did …
REFINE_MIN_EXPLAINS = 100       # … and at least this many (never more than options.refine_explains)
SEARCH_MAX_STATEMENTS = 500     # above this many statements the greedy runs once (no Extend-start variant,
                                # no local search): their cost grows with the workload, their gain does not


def select(items: list[Item], oracle: CostOracle, options: AdvisorOptions, catalog: Catalog,
           candidates: list[IndexDef], writes: list[Item], deadline: float | None = None,
           started: float | None = None,
           table_floors: dict[int, dict[TableName, float]] | None = None,
           phase: str | None = "greedy") -> GreedySearch:
    """Run the greedy from two candidate sets — all candidates, and single columns only (Extend's
    start, where multi-column indexes grow by widening) — keep the cheaper result, then refine it.
    Both runs share the oracle's cost cache, so the second costs little. `phase`: the name under
    which the oracle's statistics close the greedy (None: not closed, for a re-run)."""
    singles = [ix for ix in candidates if len(ix.columns) == 1 and not ix.where]
    variants = [candidates] + ([singles] if singles and len(singles) < len(candidates)
                               and len(items) <= SEARCH_MAX_STATEMENTS else [])
    best: GreedySearch | None = None
    shared: dict[str, Any] = {}
    ends: list[float] = []
    for cands in variants:
        model = CostModel(items, oracle, options, catalog, writes=writes, shared=shared, table_floors=table_floors)
        search = GreedySearch(model, cands, deadline=deadline)
        search.run()
        ends.append(model.total_cost())
        if best is None or model.total_cost() < best.model.total_cost() - 1e-9:
            best = search
    assert best is not None
    # both starts reached the same cost: the answer does not hang on where the greedy starts
    agree = len(ends) == 2 and abs(ends[0] - ends[1]) <= 1e-9 * max(abs(ends[0]), 1.0)
    stats = getattr(oracle, "stats", None)
    if phase is not None and stats is not None and hasattr(stats, "phase"):
        stats.phase(phase)
    if options.refine_seconds > 0 and len(items) <= SEARCH_MAX_STATEMENTS:
        until = time.perf_counter() + options.refine_seconds
        if started is not None and options.time_budget_s:
            until = min(until, started + options.time_budget_s)
        # the share is of the work so far, less the joins' per-table floors (a tighter bound for
        # the greedy, not work the local search should be paid for)
        work = best.model.work() - int(getattr(stats, "table_floor_explains", 0) or 0)
        best.work_limit = work + min(options.refine_explains, max(REFINE_MIN_EXPLAINS, int(REFINE_SHARE * work)))
        LocalSearch(best, splits_only=agree).refine(until if deadline is None else min(until, deadline))
        best.work_limit = None
    return best


@dataclass(frozen=True)
class FixedIndex:
    """An index the what-if costing cannot plan, with measured costs: statement position → the
    statement's cost with this index (and none of the selection's)."""

    index: IndexDef
    size: int
    costs: dict[int, float]
    penalty: float = 0.0        # its write cost (CostModel.penalty)


@dataclass
class FixedOutcome:
    """What `with_fixed` decided for one fixed index, for the report's note."""

    fixed: FixedIndex
    kept: bool
    cost_with: float            # the workload's cost (Σ weight × cost + write costs) with it …
    cost_without: float         # … and with the best selection without it
    reran: bool = False         # the selection was run again with what it leaves of --budget / --max-indexes
    displaced: list[IndexDef] = field(default_factory=list)   # picks it displaced (kept and reran)
    too_large: bool = False     # it alone exceeds --budget / --max-indexes


def total_with(model: CostModel, fixed: list[FixedIndex]) -> float:
    """The workload's cost under the model's configuration plus `fixed`: each statement at the
    better of its what-if cost and its measured cost with a fixed index (the measurement was made
    without the selection's picks, so the two are not combined), plus every index's write cost."""
    best: dict[int, float] = {}
    for f in fixed:
        for p, c in f.costs.items():
            best[p] = min(best.get(p, math.inf), c)
    total = sum(it.weight * min(model.cur[it.position], best.get(it.position, math.inf)) for it in model.items)
    return total + sum(model.penalty(ix) for ix in model.config) + sum(f.penalty for f in fixed)


def with_fixed(chosen: GreedySearch, fixed: list[FixedIndex], options: AdvisorOptions,
               rerun: Callable[[AdvisorOptions], GreedySearch]) -> tuple[GreedySearch, list[FixedOutcome]]:
    """Let each fixed index compete with the selection `chosen` for --budget and --max-indexes,
    best measured saving per byte first: one that fits what the selection leaves is kept when it
    lowers the workload's cost (`total_with`); one that does not fit gets the selection re-run
    (`rerun`) with --budget less its size (and the fixed ones kept before it) and --max-indexes
    less their count, and the re-run with it replaces the selection when the workload's cost is
    lower that way. Without a budget or count limit no re-run is needed: every one that pays is
    kept; nor for one that saves nothing beside the picks (their statements are served already).
    Returns the selection to use and one outcome per fixed index, in the order tried."""
    kept: list[FixedIndex] = []
    best = chosen
    best_total = total_with(best.model, kept)
    outcomes: list[FixedOutcome] = []

    def saving(f: FixedIndex) -> float:
        by = {it.position: it for it in chosen.model.items}
        return sum(by[p].weight * (chosen.model.base[p] - c) for p, c in f.costs.items() if p in by) - f.penalty

    for f in sorted(fixed, key=lambda f: (-saving(f) / max(f.size, 1), f.index.sort_key())):
        trial = kept + [f]
        reserve = sum(x.size for x in trial)
        config, used = best.model.chosen()
        fits = ((options.budget_bytes is None or used + reserve <= options.budget_bytes)
                and (options.max_indexes is None or len(config) + len(trial) <= options.max_indexes))
        total = total_with(best.model, trial)       # as if it fitted beside the picks: the most it can save
        if fits or total >= best_total - 1e-9:      # (saving nothing over the picks: no re-run)
            outcome = FixedOutcome(f, fits and total < best_total - 1e-9, total, best_total)
        elif (options.budget_bytes is not None and reserve > options.budget_bytes
              or options.max_indexes is not None and len(trial) > options.max_indexes):
            outcome = FixedOutcome(f, False, math.inf, best_total, too_large=True)
        else:
            narrower = replace(options,
                               budget_bytes=None if options.budget_bytes is None else options.budget_bytes - reserve,
                               max_indexes=None if options.max_indexes is None else options.max_indexes - len(trial))
            search = rerun(narrower)
            total = total_with(search.model, trial)
            outcome = FixedOutcome(f, total < best_total - 1e-9, total, best_total, reran=True,
                                   displaced=sorted(set(best.model.config) - set(search.model.config),
                                                    key=lambda ix: ix.sort_key()))
            if outcome.kept:
                best = search
        if outcome.kept:
            kept, best_total = trial, outcome.cost_with
        outcomes.append(outcome)
    return best, outcomes
