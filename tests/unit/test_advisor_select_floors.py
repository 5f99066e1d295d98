"""Per-table floors of join statements (`costs.seed_floors`, `CostModel.low`): a move on one
table cannot take a join below its cost with that table's candidates alone while no chosen index
on its other tables serves it; the greedy's choice does not change, fewer moves are costed."""

from __future__ import annotations

from perftool.advisor.candidates import generate_candidates
from perftool.advisor.costs import CostModel, seed_floors
from perftool.advisor.indexdef import IndexDef
from perftool.advisor.items import build_items, set_weights
from perftool.advisor.moves import Moves
from perftool.advisor.options import AdvisorOptions
from perftool.advisor.select import select
from perftool.advisor.whatif import Explained
from perftool.catalog.schema import Catalog
from perftool.workload.sources import WorkloadStatement
from tests.conftest import unique_columns_catalog

MB = 1024 * 1024
JOIN = "SELECT t.c, u.c FROM t JOIN u ON u.tid = t.id WHERE t.a = 1 AND u.b = 2"


class JoinOracle:
    """The join costs 1000; an index leading with t.a saves 400, one leading with u.b 300, and
    both together 700. 1 MB per key column. Also plays WhatIf for seed_floors."""

    def __init__(self):
        self.explains = 0

    def cost(self, sid: int, indexes: frozenset[IndexDef]) -> float | None:
        self.explains += 1
        cost = 1000.0
        if any(ix.table == "t" and ix.columns[0] == "a" for ix in indexes):
            cost -= 400
        if any(ix.table == "u" and ix.columns[0] == "b" for ix in indexes):
            cost -= 300
        return cost

    def size(self, ix: IndexDef) -> int | None:
        return MB * len(ix.columns)

    def explain_superset(self, sids: list[int], indexes) -> list[Explained]:
        return [Explained(cost=self.cost(sid, frozenset(indexes))) for sid in sids]

    def explain_supersets(self, groups) -> list[list[Explained]]:
        return [self.explain_superset(sids, indexes) for sids, indexes in groups]

    def reset(self) -> None:
        pass


def _catalog() -> Catalog:
    return unique_columns_catalog({"t": "id a c", "u": "tid b c"}, 1e6)


def _prepared(oracle: JoinOracle, options: AdvisorOptions):
    cat = _catalog()
    items = build_items([WorkloadStatement(text=JOIN, calls=1, source="file")], cat)
    for it in items:
        it.sid = it.position
        it.base = oracle.cost(it.sid, frozenset())
    set_weights(items, "calls")
    candidates, _covered = generate_candidates(items, cat, options.max_width, options.partial)
    return cat, items, candidates


def test_a_join_gets_a_floor_per_table_above_its_floor():
    oracle, options = JoinOracle(), AdvisorOptions(min_improvement=0.0)
    _cat, items, _candidates = _prepared(oracle, options)
    floors = seed_floors(items, oracle)      # type: ignore[arg-type]
    [it] = items
    assert it.floor == 300.0
    assert floors == {it.position: {("public", "t"): 600.0, ("public", "u"): 700.0}}


def test_the_table_floor_bounds_a_move_until_another_table_serves_the_join():
    oracle, options = JoinOracle(), AdvisorOptions(min_improvement=0.0)
    cat, items, _candidates = _prepared(oracle, options)
    floors = seed_floors(items, oracle)      # type: ignore[arg-type]
    model = CostModel(items, oracle, options, cat, table_floors=floors)
    [it] = items
    on_t, on_u = IndexDef("public", "t", ("a",)), IndexDef("public", "u", ("b",))
    assert model.low(it, ("public", "t")) == 600.0 and model.low(it, ("public", "u")) == 700.0
    moves = Moves(model)
    move = moves.register(on_t, None)
    assert move is not None and moves.bound(move)[0] == 400.0       # not 700 (down to the floor)
    model.config.append(on_u)
    model.recost([it])
    assert model.low(it, ("public", "t")) == 300.0                   # u's index serves it now


def test_the_choice_is_the_same_with_table_floors_and_costs_fewer_moves():
    results = []
    for with_table_floors in (False, True):
        oracle, options = JoinOracle(), AdvisorOptions(min_improvement=0.0, budget_bytes=10 * MB)
        cat, items, candidates = _prepared(oracle, options)
        floors = seed_floors(items, oracle)      # type: ignore[arg-type]
        oracle.explains = 0
        search = select(items, oracle, options, cat, candidates, writes=[],
                        table_floors=floors if with_table_floors else None)
        results.append((sorted(ix.label() for ix in search.config), search.model.total_cost(), oracle.explains))
    (plain, plain_cost, plain_explains), (tight, tight_cost, tight_explains) = results
    assert plain == tight and plain_cost == tight_cost == 300.0
    assert tight_explains <= plain_explains
