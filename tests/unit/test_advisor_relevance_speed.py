"""The greedy's bookkeeping shortcuts (issue 15): a statement's relevant chosen indexes found
through the configuration's index by leading column (`CostModel._could_serve`) are exactly those
a scan of the configuration finds, however the configuration moved; the greedy runs with the
garbage collector paused and turns it back on."""

from __future__ import annotations

import gc

from perftool.advisor.candidates import generate_candidates
from perftool.advisor.costs import CostModel
from perftool.advisor.greedy import GreedySearch
from perftool.advisor.indexdef import IndexDef
from perftool.advisor.items import build_items, set_weights
from perftool.advisor.options import AdvisorOptions
from perftool.advisor.predicates import Constant
from perftool.catalog.schema import Catalog
from perftool.workload.sources import WorkloadStatement
from tests.conftest import unique_columns_catalog

STATEMENTS = [
    "SELECT a FROM t WHERE b = 1",                  # narrow: an index covering (a, b) serves it
    "SELECT * FROM t WHERE a = 1 AND b = 2",
    "SELECT * FROM t WHERE c = 0 AND a = 3",        # implies the partial indexes WHERE c = 0
    "SELECT * FROM t WHERE d = 4 ORDER BY a",
    "SELECT u.x FROM u JOIN t ON t.id = u.tid WHERE u.x = 5 AND t.b = 6",
    "SELECT * FROM u WHERE y = 7",
]


class Oracle:
    """Cost 1000 less 100 per relevant index (any set of the same size costs the same); records
    whether the garbage collector was on while the search asked."""

    def __init__(self):
        self.gc_on: set[bool] = set()

    def cost(self, sid: int, indexes: frozenset[IndexDef]) -> float | None:
        self.gc_on.add(gc.isenabled())
        return 1000.0 - 100.0 * len(indexes)

    def size(self, ix: IndexDef) -> int | None:
        return 8192 * ix.width


def _catalog() -> Catalog:
    return unique_columns_catalog({"t": "id a b c d", "u": "tid x y"}, 1e5)


def _model(oracle: Oracle, options: AdvisorOptions):
    cat = _catalog()
    items = build_items([WorkloadStatement(text=q, calls=1, source="file") for q in STATEMENTS], cat)
    for it in items:
        it.sid, it.base = it.position, 1000.0
    set_weights(items, "calls")
    return cat, items, CostModel(items, oracle, options, cat)


def _scan(model: CostModel, it) -> frozenset[IndexDef]:
    return frozenset(ix for ix in model.config if it.position in {x.position for x in model.affected(ix)})


def test_relevant_sets_by_leading_column_equal_a_scan_of_the_configuration():
    _cat, items, model = _model(Oracle(), AdvisorOptions(max_width=2))
    zero = (Constant(column="c", op="=", value=0),)
    pool = [IndexDef("public", "t", ("a",)), IndexDef("public", "t", ("b",)), IndexDef("public", "t", ("a", "b")),
            IndexDef("public", "t", ("b",), where=zero), IndexDef("public", "t", ("d", "a")),
            IndexDef("public", "t", ("c",)), IndexDef("public", "t", ("id",)), IndexDef("public", "u", ("x",)),
            IndexDef("public", "u", ("tid", "x")), IndexDef("public", "u", ("y",)),
            IndexDef("public", "t", ("a",), where=zero), IndexDef("public", "t", ("b", "a"))]
    for k in range(1, len(pool) + 1):       # asked first under a configuration: found by leading column
        _cat, fresh_items, fresh = _model(Oracle(), AdvisorOptions(max_width=2))
        fresh.config.extend(pool[:k])
        fresh.recost(fresh_items)
        for it in fresh_items:
            assert fresh.relevant_set(it, fresh.config) == _scan(fresh, it), (k, it.statement.text)
    seen = set()
    for step, ix in enumerate(pool):        # asked at every step: from the last set and what changed
        model.config.append(ix)
        model.recost(items)
        if step == 9:       # more than 8 indexes came and went since some statements' last sets
            for _ in range(3):
                model.config.remove(model.config[0])
                model.recost(items)
        for it in items:
            got = model.relevant_set(it, model.config)
            assert got == _scan(model, it), (step, it.statement.text)
            seen.add(len(got))
    assert max(seen) >= 3      # the sets are not trivially empty
    narrow, covering = items[0], IndexDef("public", "t", ("a", "b"))
    assert covering not in model.config          # (removed above)
    model.config.append(covering)
    model.recost(items)
    assert covering in model.relevant_set(narrow, model.config) == _scan(model, narrow)   # though it leads with a


def test_relevant_sets_of_another_configuration_equal_a_scan_of_it():
    _cat, items, model = _model(Oracle(), AdvisorOptions(max_width=2))
    zero = (Constant(column="c", op="=", value=0),)
    config = [IndexDef("public", "t", cols, where=w) for cols in (("a",), ("b",), ("c",), ("d",), ("id",),
                                                                    ("a", "b"), ("b", "a"), ("d", "a"), ("c", "a"))
              for w in ((), zero)] + [IndexDef("public", "u", ("x",)), IndexDef("public", "u", ("tid", "x"))]
    assert len(config) >= 16 and not model.config
    for other in (config, config[:-3] + config[-2:], list(reversed(config))):     # each a new index of it
        for it in items:
            want = frozenset(ix for ix in other if it.position in {x.position for x in model.affected(ix)})
            assert model.relevant_set(it, other) == want, it.statement.text
    assert model.relevant_set(items[0], config) >= {IndexDef("public", "t", ("a", "b"))}   # covering, narrow


def test_the_greedy_runs_with_the_collector_paused_and_turns_it_back_on():
    oracle = Oracle()
    options = AdvisorOptions(max_width=2, min_improvement=0.0)
    cat, items, model = _model(oracle, options)
    candidates, _covered = generate_candidates(items, cat, options.max_width, options.partial)
    assert gc.isenabled()
    GreedySearch(model, candidates).run()
    assert model.config and oracle.gc_on == {False}
    assert gc.isenabled()


def test_affected_is_every_statement_the_index_is_relevant_to():
    """`CostModel.affected` takes shortcuts (the shared by-leading-column list; for a partial index
    on a table no statement reads narrowly, that list filtered by the statements implying its
    predicate): each gives exactly the statements `Item.relevant` names, in workload order — on a
    table with narrow readers (t) and on one without (v), for full and partial candidates."""
    cat = unique_columns_catalog({"t": "id a b c d", "u": "tid x y", "v": "id p q r"}, 1e5)
    texts = [*STATEMENTS,
             "SELECT * FROM v WHERE p = 0 AND q = 1",
             "SELECT * FROM v WHERE p = 0 AND r = 2",
             "SELECT * FROM v WHERE q = 3",
             "SELECT * FROM v WHERE p = 5 AND q = 1 AND r = 4",
             "SELECT * FROM t WHERE c = 0 AND b = 8"]
    items = build_items([WorkloadStatement(text=q, calls=1, source="file") for q in texts], cat)
    for it in items:
        it.sid, it.base = it.position, 1000.0
    set_weights(items, "calls")
    options = AdvisorOptions(max_width=2)
    model = CostModel(items, Oracle(), options, cat)
    candidates, _covered = generate_candidates(items, cat, options.max_width, options.partial)
    partial = [ix for ix in candidates if ix.where]
    assert {ix.table for ix in partial} == {"t", "v"}, partial      # both paths are taken
    assert model.narrow.get(("public", "t")) and not model.narrow.get(("public", "v"))
    for ix in candidates:
        want = [it.position for it in model.items if it.relevant(ix)]
        assert [it.position for it in model.affected(ix)] == want, ix
