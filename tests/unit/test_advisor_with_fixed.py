"""select.with_fixed on a stub selection: when a measured (fixed) index is kept beside the picks,
when it gets the selection re-run with the room it needs, and when the picks stay."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from perftool.advisor.indexdef import IndexDef
from perftool.advisor.options import AdvisorOptions
from perftool.advisor.select import FixedIndex, total_with, with_fixed

BTREE = IndexDef(schema="public", table="users", columns=("email",))
GIN = IndexDef(schema="public", table="docs", columns=("meta",), method="gin")


class Model:
    """What with_fixed reads of a CostModel: items, base and current costs, config, sizes, penalty."""

    def __init__(self, config: list[IndexDef], cur: dict[int, float], sizes: dict[IndexDef, int]):
        self.items = [SimpleNamespace(position=1, weight=1.0), SimpleNamespace(position=2, weight=1.0)]
        self.base = {1: 1000.0, 2: 100.0}       # 1: the search statement, 2: the btree's lookup
        self.cur = {**self.base, **cur}
        self.config, self.sizes = config, sizes

    def chosen(self):
        return set(self.config), sum(self.sizes[ix] for ix in self.config)

    def penalty(self, ix: IndexDef) -> float:
        return 0.0


SIZES = {BTREE: 200, GIN: 300}


def search(config: list[IndexDef]):
    return SimpleNamespace(model=Model(config, {2: 10.0} if BTREE in config else {}, SIZES))


def run(fixed: FixedIndex, **limits):
    reruns: list[AdvisorOptions] = []

    def rerun(narrower: AdvisorOptions):
        reruns.append(narrower)
        fits = (narrower.budget_bytes is None or narrower.budget_bytes >= SIZES[BTREE]) and \
               (narrower.max_indexes is None or narrower.max_indexes >= 1)
        return search([BTREE] if fits else [])

    chosen = search([BTREE])
    best, outcomes = with_fixed(chosen, [fixed], AdvisorOptions(**limits), rerun)
    return chosen, best, outcomes, reruns


@pytest.mark.parametrize("limits", [{"budget_bytes": 400}, {"max_indexes": 1}])
def test_one_that_does_not_fit_and_saves_more_displaces_the_pick(limits):
    gin = FixedIndex(GIN, 300, {1: 100.0})       # saves 900; the btree saves 90
    chosen, best, (o,), reruns = run(gin, **limits)
    assert o.kept and o.reran and o.displaced == [BTREE] and best is not chosen and best.model.config == []
    assert o.cost_without == 1010.0 and o.cost_with == total_with(best.model, [gin]) == 200.0
    assert reruns == [AdvisorOptions(**{k: v - (300 if k == "budget_bytes" else 1) for k, v in limits.items()})]


@pytest.mark.parametrize("limits", [{"budget_bytes": 400}, {"max_indexes": 1}])
def test_one_that_saves_less_than_the_pick_it_would_displace_leaves_it(limits):
    gin = FixedIndex(GIN, 300, {1: 950.0})       # saves 50 < the btree's 90
    chosen, best, (o,), reruns = run(gin, **limits)
    assert not o.kept and o.reran and best is chosen and len(reruns) == 1
    assert o.cost_with == 1050.0 > o.cost_without == 1010.0


def test_one_that_fits_is_kept_without_a_rerun():
    gin = FixedIndex(GIN, 300, {1: 100.0})
    chosen, best, (o,), reruns = run(gin, budget_bytes=500)
    assert o.kept and not o.reran and best is chosen and reruns == []
    assert o.cost_with == 110.0


def test_no_rerun_for_one_that_saves_nothing_or_is_too_large():
    _c, _b, (o,), reruns = run(FixedIndex(GIN, 300, {2: 50.0}), budget_bytes=400)   # the btree does better (10)
    assert not o.kept and not o.reran and reruns == []
    _c, _b, (o,), reruns = run(FixedIndex(GIN, 300, {1: 100.0}), budget_bytes=250)
    assert not o.kept and o.too_large and reruns == []
    _c, _b, (o,), reruns = run(FixedIndex(GIN, 300, {1: 100.0}, penalty=2000.0))    # its writes outweigh it
    assert not o.kept and reruns == []
