"""Heuristic ranking without HypoPG (`--no-whatif`): per access, the equality-first index of its
filter columns scored by weight × rows it would skip, chosen greedily by score per estimated
byte. Unverified by the planner (the report says so, A103)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from perftool.advisor.candidates import covered_by, estimated_size, existing_defs, make_index
from perftool.advisor.definitions import definition, name_book
from perftool.advisor.indexdef import IndexDef
from perftool.advisor.items import Item, set_weights
from perftool.advisor.options import AdvisorOptions
from perftool.advisor.report import AdvisorResult, Recommendation
from perftool.catalog.schema import Catalog, TableInfo
from perftool.db.privileges import heuristic_statistics_note

if TYPE_CHECKING:
    import psycopg


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
            ix = make_index(table, catalog, acc, cols) if cols else None
            if ix is None or covered_by(ix, existing_defs(table)):
                continue
            scores[ix] = scores.get(ix, 0.0) + it.weight * table.reltuples * (1.0 - sel)
    chosen: list[tuple[IndexDef, float]] = []
    used = 0
    tables = catalog.by_key()
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1] / estimated_size(kv[0], tables[kv[0].table_key]),
                                                     kv[0].sort_key()))
    for ix, score in ranked:
        if options.max_indexes is not None and len(chosen) >= options.max_indexes:
            break
        if any(ix.prefix_of(c) for c, _ in chosen):
            continue
        size = estimated_size(ix, tables[ix.table_key])
        if options.budget_bytes is not None and used + size > options.budget_bytes:
            continue
        chosen.append((ix, score))
        used += size
    return chosen


def heuristic_advice(conn: psycopg.Connection, items: list[Item], usable: list[Item], catalog: Catalog,
                     options: AdvisorOptions, started: float) -> AdvisorResult:
    """The --no-whatif result: `heuristic_selection` of the usable statements, unverified."""
    role, major = conn.info.user, conn.info.server_version // 10000
    set_weights(usable, "calls")
    hidden = {t for it in usable for t in it.tables if not (catalog.get(t) or TableInfo(*t)).can_select}
    notes = [n for n in [heuristic_statistics_note(role, hidden, major)] if n]
    chosen = heuristic_selection(usable, catalog, options)
    names = name_book(conn, [ix for ix, _score in chosen], catalog)
    tables = catalog.by_key()
    recs = [Recommendation(index=ix, size_bytes=estimated_size(ix, tables[ix.table_key]), benefit=score,
                           definition=definition(ix, catalog, names),
                           statements=[it for it in usable if it.relevant(ix)], verified=False)
            for ix, score in chosen]
    return AdvisorResult(items=items, recommendations=recs, cost_before=None, cost_after=None, options=options,
                         seconds=time.perf_counter() - started, notes=notes)
