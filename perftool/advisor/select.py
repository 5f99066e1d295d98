"""The whole-workload selection: the greedy (`greedy.GreedySearch`) run from two candidate sets,
the cheaper result kept, then refined by the local search (`refine.LocalSearch`)."""

from __future__ import annotations

import time
from typing import Any

from perftool.advisor.costs import CostModel, CostOracle
from perftool.advisor.greedy import GreedySearch
from perftool.advisor.indexdef import IndexDef
from perftool.advisor.items import Item
from perftool.advisor.options import AdvisorOptions
from perftool.advisor.refine import LocalSearch
from perftool.catalog.schema import Catalog, TableName

REFINE_SHARE = 0.5             # the local search may spend half as many EXPLAINs as the greedy did …
REFINE_MIN_EXPLAINS = 100       # … and at least this many (never more than options.refine_explains)
SEARCH_MAX_STATEMENTS = 500     # above this many statements the greedy runs once (no Extend-start variant,
                                # no local search): their cost grows with the workload, their gain does not


def select(items: list[Item], oracle: CostOracle, options: AdvisorOptions, catalog: Catalog,
           candidates: list[IndexDef], writes: list[Item], deadline: float | None = None,
           started: float | None = None,
           table_floors: dict[int, dict[TableName, float]] | None = None) -> GreedySearch:
    """Run the greedy from two candidate sets — all candidates, and single columns only (Extend's
    start, where multi-column indexes grow by widening) — keep the cheaper result, then refine it.
    Both runs share the oracle's cost cache, so the second costs little."""
    singles = [ix for ix in candidates if len(ix.columns) == 1 and not ix.where]
    variants = [candidates] + ([singles] if singles and len(singles) < len(candidates)
                               and len(items) <= SEARCH_MAX_STATEMENTS else [])
    best: GreedySearch | None = None
    shared: dict[str, Any] = {}
    for cands in variants:
        model = CostModel(items, oracle, options, catalog, writes=writes, shared=shared, table_floors=table_floors)
        search = GreedySearch(model, cands, deadline=deadline)
        search.run()
        if best is None or model.total_cost() < best.model.total_cost() - 1e-9:
            best = search
    assert best is not None
    stats = getattr(oracle, "stats", None)
    if stats is not None and hasattr(stats, "phase"):
        stats.phase("greedy")
    if options.refine_seconds > 0 and len(items) <= SEARCH_MAX_STATEMENTS:
        until = time.perf_counter() + options.refine_seconds
        if started is not None and options.time_budget_s:
            until = min(until, started + options.time_budget_s)
        # the share is of the work so far, less the joins' per-table floors (a tighter bound for
        # the greedy, not work the local search should be paid for)
        work = best.model.work() - int(getattr(stats, "table_floor_explains", 0) or 0)
        best.work_limit = work + min(options.refine_explains, max(REFINE_MIN_EXPLAINS, int(REFINE_SHARE * work)))
        LocalSearch(best).refine(until if deadline is None else min(until, deadline))
        best.work_limit = None
    return best
