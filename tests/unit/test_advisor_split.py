"""The local search's split neighbourhood (a chosen multi-column index replaced by its prefix and
the candidate on its last column) and its shrink counting only the bytes still needed, on model
objects with a made-up cost oracle (no server; the TPC-H benchmark exercises them on the server)."""

from __future__ import annotations

import math
from types import SimpleNamespace

from perftool.advisor.indexdef import IndexDef
from perftool.advisor.options import AdvisorOptions
from perftool.advisor.refine import LocalSearch
from perftool.advisor.select import select
from tests.unit.test_advisor_search import _prepared

MB = 1024 * 1024
A, B, C = (IndexDef(schema="public", table="t", columns=(c,)) for c in "abc")
AB = IndexDef(schema="public", table="t", columns=("a", "b"))
CA = IndexDef(schema="public", table="t", columns=("c", "a"))


class SplitOracle:
    """Statement 0 (`a = 1 AND b = 2`, 10 calls) costs 1000, 100 with an index leading with a, 50
    with one leading with a and b or with indexes leading with a and with b (a BitmapAnd);
    statement 1 (`b = 3`: no literal shared with statement 0, so no partial-index candidate ties
    with the plain ones) costs 1000, 600 with an index leading with b; statement 2 (`c = 3`)
    1000, 900 with one on c. (a) and (b) take 1 MB, each further key column 0.5 MB, (c) 0.5 MB.
    The greedy takes (a), widens it to (a, b) (500 per 0.5 MB beats (b)'s 900 per MB) and fills
    the 2 MB budget with (c): 2400; (a) and (b) cost 2100."""

    def cost(self, sid: int, indexes: frozenset[IndexDef]) -> float | None:
        lead = {ix.columns[0] for ix in indexes}
        if sid == 0:
            if any(ix.columns[:2] in (("a", "b"), ("b", "a")) for ix in indexes) or {"a", "b"} <= lead:
                return 50.0
            return 100.0 if "a" in lead else 1000.0
        if sid == 1:
            return 600.0 if "b" in lead else 1000.0
        return 900.0 if "c" in lead else 1000.0

    def size(self, ix: IndexDef) -> int | None:
        return MB // 2 if ix.columns == ("c",) else MB + (len(ix.columns) - 1) * MB // 2


def _select(options: AdvisorOptions):
    oracle = SplitOracle()
    texts = [("SELECT * FROM t WHERE a = 1 AND b = 2", 10), ("SELECT * FROM t WHERE b = 3", 1),
             ("SELECT * FROM t WHERE c = 3", 1)]
    cat, items, candidates, _covered = _prepared(texts, oracle, options)
    return select(items, oracle, options, cat, candidates, writes=[])


OPTIONS = dict(budget_bytes=2 * MB, max_width=2, min_improvement=0.0)


def test_the_split_neighbour_comes_first_and_the_local_search_keeps_it():
    greedy = _select(AdvisorOptions(**OPTIONS, refine_seconds=0))
    assert set(greedy.model.config) == {AB, C} and greedy.model.total_cost() == 2400.0
    local = LocalSearch(greedy)
    assert list(local.splits(list(greedy.model.config))) == [(AB, [A, B])]
    start, banned = next(local.neighbours(list(greedy.model.config), math.inf))
    assert set(start) == {A, B} and banned == set()    # (c) dropped to make room for the pair
    refined = _select(AdvisorOptions(**OPTIONS))
    assert set(refined.model.config) == {A, B} and refined.model.total_cost() == 2100.0


def test_no_split_without_a_left_out_candidate_on_the_last_column():
    greedy = _select(AdvisorOptions(**OPTIONS, refine_seconds=0))
    local = LocalSearch(greedy)
    for (old, new), move in local.moves.by_key.items():
        if old is None and new == B:
            move.benefit = 0.0
    assert list(local.splits(list(greedy.model.config))) == []


class ShrinkModel:
    """What cheapest_shrink reads of a CostModel: a large index losing 50 and a small one losing 5."""

    def __init__(self):
        self.config = [A, C]
        self.sizes = {A: 1000, C: 10}
        self.loss = {A: 50.0, C: 5.0}

    def size(self, ix: IndexDef) -> int:
        return self.sizes.get(ix, 0)

    def replace_loss(self, old: IndexDef, new: IndexDef | None) -> float:
        return self.loss[old]


def test_the_shrink_counts_only_the_bytes_still_needed():
    local = LocalSearch(SimpleNamespace(model=ShrinkModel(), moves=None, options=AdvisorOptions()))
    assert local.cheapest_shrink(keep=set(), need=1000) == (A, None)    # 0.05 per byte < 0.5
    assert local.cheapest_shrink(keep=set(), need=10) == (C, None)      # 50 for 10 bytes: 5 per byte
    assert local.cheapest_shrink(keep={C}, need=10) == (A, None)


def test_narrowed_drops_the_last_include_column_then_the_last_key_column_and_keeps_the_kind():
    wide = IndexDef(schema="public", table="t", columns=("a", "b"), desc=(True, False), include=("c", "d"),
                    opclasses=("", "text_pattern_ops"), method="btree")
    assert wide.narrowed() == IndexDef(schema="public", table="t", columns=("a", "b"), desc=(True, False),
                                       include=("c",), opclasses=("", "text_pattern_ops"))
    assert AB.narrowed() == A and A.narrowed() is None
    brin = IndexDef(schema="public", table="t", columns=("a", "b"), opclasses=("", "int4_minmax_ops"), method="brin")
    assert brin.narrowed() == IndexDef(schema="public", table="t", columns=("a",), method="brin")


def test_when_both_greedy_starts_agree_only_splits_are_tried(monkeypatch):
    """Both starts end on (a, b) + (c) here: the local search tries only the split neighbourhood
    (which still finds (a) + (b)), no drop or force trial."""
    import perftool.advisor.select as select_module

    flags: list[bool] = []
    made = LocalSearch.__init__

    def init(self, search, splits_only=False):
        flags.append(splits_only)
        made(self, search, splits_only)

    monkeypatch.setattr(select_module.LocalSearch, "__init__", init)
    refined = _select(AdvisorOptions(**OPTIONS))
    assert flags == [True]
    assert set(refined.model.config) == {A, B}
    greedy = _select(AdvisorOptions(**OPTIONS, refine_seconds=0))
    best = list(greedy.model.config)
    assert [set(start) for start, _banned in LocalSearch(greedy, splits_only=True).neighbours(best, math.inf)] \
        == [{A, B}]
    everything = list(LocalSearch(greedy).neighbours(best, math.inf))
    assert len(everything) > 1 and any(banned for _start, banned in everything)    # the drops come after


class SizedSplitOracle(SplitOracle):
    """SplitOracle with its sizes known up front (what `CostModel.known_size` reads of WhatIf)."""

    @property
    def sizes(self) -> dict[IndexDef, int]:
        return {ix: self.size(ix) for ix in (A, B, C, AB, CA)}


def test_force_moves_rank_by_benefit_less_what_their_evictions_lose():
    """`LocalSearch.eviction_estimate`: with --budget, a move's benefit less the marginal losses of
    the chosen indexes it would evict to fit, the weakest per byte first — adding (b) to the full
    2 MB of (a, b) + (c) evicts (c), then (a, b); a move that frees its own room loses nothing;
    a widening does not count the index it replaces among the evicted; without a budget the
    benefit is the net benefit."""
    oracle = SizedSplitOracle()
    texts = [("SELECT * FROM t WHERE a = 1 AND b = 2", 10), ("SELECT * FROM t WHERE b = 3", 1),
             ("SELECT * FROM t WHERE c = 3", 1)]
    options = AdvisorOptions(**OPTIONS, refine_seconds=0)
    cat, items, candidates, _covered = _prepared(texts, oracle, options)
    greedy = select(items, oracle, options, cat, candidates, writes=[])
    best = list(greedy.model.config)
    assert set(best) == {AB, C}
    local = LocalSearch(greedy)
    net = local.eviction_estimate(best)
    lose_c, lose_ab = greedy.model.marginal(C)[0], greedy.model.marginal(AB)[0]
    assert 0 < lose_c / (MB // 2) < lose_ab / (MB + MB // 2)      # (c) is the weakest per byte
    add_b = next(m for (old, new), m in local.moves.by_key.items() if old is None and new == B)
    assert net(add_b, 1000.0) == 1000.0 - lose_c - lose_ab        # 1 MB needed: (c) frees 0.5 MB, then (a, b)
    narrow = next((m for (old, new), m in local.moves.by_key.items() if old == AB and new == A), None)
    if narrow is None:
        narrow = local.moves.register(A, AB)
    assert net(narrow, 7.0) == 7.0                                # (a) in place of (a, b) fits: nothing evicted
    widen_c = local.moves.by_key.get((C, CA)) or local.moves.register(CA, C)
    assert widen_c is not None
    assert net(widen_c, 7.0) == 7.0 - lose_ab    # 0.5 MB more: (c) is the index replaced, so (a, b) goes
    unbounded = LocalSearch(select(items, oracle, AdvisorOptions(max_width=2, min_improvement=0.0,
                                                                 refine_seconds=0), cat, candidates, writes=[]))
    assert unbounded.eviction_estimate(list(unbounded.model.config))(add_b, 1000.0) == 1000.0
