"""Extend (Schlosser, Kossmann, Boissier, ICDE 2019) as a baseline measured in the same run.

A re-implementation from the paper's description and the index-selection evaluation platform's
published behaviour (Kossmann et al., VLDB 2020), on perftool's own HypoPG costing so both
advisors see the same statistics and the same cost cache rules:

- candidates: a single-column index on every column the workload's statements reference;
- each step evaluates adding any single-column candidate, and appending any candidate column of
  the same table to any chosen index (up to the maximum width), on the whole workload's cost;
- it takes the step with the best (cost reduction) / (added size) whose configuration fits the
  budget, if it improves the workload cost by more than 0.3 % (the platform's
  min_cost_improvement = 1.003); it stops when no step does;
- the workload cost weights each query by its calls (`Item.weight`; 1 on TPC-H);
- a query's cost depends only on the chosen indexes containing one of its columns (the
  platform's relevance rule), cached per (query, relevant indexes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from perftool.advisor.indexdef import IndexDef
from perftool.advisor.items import Item
from perftool.advisor.whatif import WhatIf

MIN_COST_IMPROVEMENT = 1.003


@dataclass
class ExtendResult:
    indexes: list[IndexDef]
    cost: float
    seconds: float
    evaluations: int


def extend(items: list[Item], whatif: WhatIf, budget_bytes: int, max_width: int) -> ExtendResult:
    t0 = time.perf_counter()
    items = [it for it in items if it.sid is not None and it.base is not None]
    columns: dict[tuple, set[str]] = {}
    for it in items:
        for table, cols in it.analysis.referenced.items():
            columns.setdefault(table, set()).update(cols)
    singles = [IndexDef(schema=t[0], table=t[1], columns=(c,)) for t in sorted(columns) for c in sorted(columns[t])]
    whatif.prepare_sizes(singles)
    singles = [ix for ix in singles if ix not in whatif.failed]
    evaluations = 0

    def relevant(it: Item, config: list[IndexDef]) -> frozenset[IndexDef]:
        read = it.analysis.referenced
        return frozenset(ix for ix in config if any(c in read.get(ix.table_key, ()) for c in ix.columns))

    def workload_cost(config: list[IndexDef]) -> float:
        nonlocal evaluations
        evaluations += 1
        total = 0.0
        for it in items:
            c = whatif.cost(it.sid, relevant(it, config))
            total += it.weight * (it.base if c is None else c)
        return total

    def size(ix: IndexDef) -> int:
        return whatif.size(ix) or 0

    config: list[IndexDef] = []
    current = workload_cost(config)
    while True:
        used = sum(size(ix) for ix in config)
        best = None  # (ratio, config, cost)
        for cand in singles:
            if cand in config or used + size(cand) > budget_bytes:
                continue
            combo = [*config, cand]
            cost = workload_cost(combo)
            if cost * MIN_COST_IMPROVEMENT >= current:
                continue
            ratio = (current - cost) / max(size(cand), 1)
            if best is None or ratio > best[0]:
                best = (ratio, combo, cost)
        for pos, ix in enumerate(config):
            if len(ix.columns) >= max_width:
                continue
            for attr in singles:
                if attr.table_key != ix.table_key or attr.columns[0] in ix.columns:
                    continue
                wider = IndexDef(schema=ix.schema, table=ix.table, columns=(*ix.columns, attr.columns[0]))
                if wider in config:
                    continue
                combo = config[:pos] + config[pos + 1:] + [wider]
                if used - size(ix) + size(wider) > budget_bytes:
                    continue
                cost = workload_cost(combo)
                if cost * MIN_COST_IMPROVEMENT >= current:
                    continue
                ratio = (current - cost) / max(size(wider) - size(ix), 1)
                if best is None or ratio > best[0]:
                    best = (ratio, combo, cost)
        if best is None:
            break
        _ratio, config, current = best
    return ExtendResult(indexes=config, cost=current, seconds=time.perf_counter() - t0, evaluations=evaluations)
