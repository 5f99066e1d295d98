"""The selection on model objects with a made-up cost oracle (no server): the cost model, the greedy,
the local search and the report's runner-up reasons work without HypoPG."""

from __future__ import annotations

from perftool.advisor.candidates import generate_candidates
from perftool.advisor.indexdef import IndexDef
from perftool.advisor.items import build_items, set_weights
from perftool.advisor.moves import MoveKind, MoveStatus
from perftool.advisor.options import AdvisorOptions
from perftool.advisor.report import AdvisorResult, build_report
from perftool.advisor.select import select
from perftool.catalog.schema import Catalog, ColumnInfo, TableInfo
from perftool.report.render import render_to_string
from perftool.workload.sources import WorkloadStatement

MB = 1024 * 1024


class FakeOracle:
    """A statement filtering on column X costs 1000 without an index leading with X, 10 with one;
    an index takes 1 MB per key column."""

    def __init__(self, columns: list[str]):
        self.columns = columns      # per statement id: the column it filters on

    def cost(self, sid: int, indexes: frozenset[IndexDef]) -> float | None:
        return 10.0 if any(ix.columns[0] == self.columns[sid] for ix in indexes) else 1000.0

    def size(self, ix: IndexDef) -> int | None:
        return MB * len(ix.columns)


def _prepared(texts: list[tuple[str, int]], oracle, options: AdvisorOptions, columns: str = "abc"):
    """Catalog (one table t of a million rows, one unique column per letter of `columns`), items
    with base costs, weights, candidates and floors for `texts` ((statement, calls)), as the
    pipeline prepares them for select()."""
    cat = Catalog(search_path=["pg_catalog", "public"])
    cat.add(TableInfo(schema="public", name="t", reltuples=1e6,
                      columns={c: ColumnInfo(c, n_distinct=-1.0) for c in columns}))
    items = build_items([WorkloadStatement(text=t, calls=n, source="file") for t, n in texts], cat)
    for it in items:
        it.sid = it.position
        it.base = oracle.cost(it.sid, frozenset())
    set_weights(items, "calls")
    candidates, covered = generate_candidates(items, cat, options.max_width, options.partial)
    for it in items:
        it.floor = oracle.cost(it.costed_sid, frozenset(it.seed))
    return cat, items, candidates, covered


def _workload(options: AdvisorOptions):
    oracle = FakeOracle(["a", "b"])
    cat, items, candidates, covered = _prepared(
        [("SELECT c FROM t WHERE a = 1", 10), ("SELECT c FROM t WHERE b = 2", 1)], oracle, options)
    search = select(items, oracle, options, cat, candidates, writes=[])
    return items, search, covered


def test_budget_takes_the_index_with_the_best_benefit_per_byte():
    options = AdvisorOptions(budget_bytes=MB, max_width=2, min_improvement=0.0, explain_choice=True)
    items, search, covered = _workload(options)
    assert [ix.label() for ix in search.config] == ["public.t (a)"]
    assert search.model.total_cost() == 10 * 10.0 + 1 * 1000.0
    b = IndexDef(schema="public", table="t", columns=("b",))
    assert search.moves.by_key[(None, b)].status is MoveStatus.OVER_BUDGET
    assert [s.move.kind for s in search.steps] == [MoveKind.ADD]
    result = AdvisorResult(items=items, recommendations=[], cost_before=None, cost_after=None, options=options,
                           seconds=0.0, covered=covered, selector=search)
    report = build_report(result)
    reasons = {r["index"]: r["reason"] for r in next(s for s in report.sections if s.key == "runner_ups").rows}
    assert reasons["public.t (b)"] == "does not fit the remaining --budget"
    assert report.data["steps"][0]["action"] == "add" and type(report.data["steps"][0]["action"]) is str
    assert "action: add" in render_to_string(report, "yaml")     # plain strings: every format can write them


def test_without_a_budget_both_statements_get_their_index():
    options = AdvisorOptions(max_width=2, min_improvement=0.0)
    _items, search, _covered = _workload(options)
    assert sorted(ix.label() for ix in search.config) == ["public.t (a)", "public.t (b)"]
    assert search.model.total_cost() == 10 * 10.0 + 1 * 10.0


def test_max_indexes_zero_chooses_nothing_and_says_why():
    options = AdvisorOptions(max_indexes=0, max_width=2, min_improvement=0.0)
    _items, search, _covered = _workload(options)
    assert search.config == []
    a = IndexDef(schema="public", table="t", columns=("a",))
    assert search.moves.by_key[(None, a)].status is MoveStatus.MAX_INDEXES


class CountingOracle(FakeOracle):
    """FakeOracle that remembers every index set it was asked to cost; INCLUDE columns count in the size."""

    def __init__(self, columns: list[str]):
        super().__init__(columns)
        self.asked: list[frozenset[IndexDef]] = []

    def cost(self, sid: int, indexes: frozenset[IndexDef]) -> float | None:
        self.asked.append(indexes)
        return super().cost(sid, indexes)

    def size(self, ix: IndexDef) -> int | None:
        return MB * ix.width


def test_an_index_larger_than_the_whole_budget_is_never_costed():
    """(issue 15) a move whose index alone exceeds --budget can never be taken: no EXPLAIN for it."""
    options = AdvisorOptions(budget_bytes=MB, max_width=2, min_improvement=0.0)
    oracle = CountingOracle(["a", "b"])
    cat, items, candidates, _covered = _prepared(
        [("SELECT b FROM t WHERE a = 1 AND c > 3", 10), ("SELECT a FROM t WHERE b = 2 ORDER BY c", 1)],
        oracle, options)
    oracle.asked.clear()
    wide = [ix for ix in candidates if oracle.size(ix) > MB]
    assert wide, "the workload must have candidates wider than the budget for this test to mean something"
    search = select(items, oracle, options, cat, candidates, writes=[])
    assert [ix.label() for ix in search.config] == ["public.t (a)"]
    assert any(s for s in oracle.asked)           # the fitting ones were costed
    assert not [s for s in oracle.asked if any(oracle.size(ix) > MB for ix in s)]


def test_the_local_search_gets_a_share_of_the_greedys_work(monkeypatch):
    """(issue 15) the local search may spend REFINE_SHARE of the greedy's EXPLAINs (at least
    REFINE_MIN_EXPLAINS, at most options.refine_explains)."""
    import perftool.advisor.select as select_module

    seen: list[tuple[int, int]] = []

    def refine(self, until):
        seen.append((self.model.work(), self.search.work_limit))

    monkeypatch.setattr(select_module.LocalSearch, "refine", refine)
    _items, search, _covered = _workload(AdvisorOptions(budget_bytes=MB, max_width=2, min_improvement=0.0))
    [(work, limit)] = seen
    assert limit - work == min(1200, max(select_module.REFINE_MIN_EXPLAINS, int(select_module.REFINE_SHARE * work)))
    assert search.work_limit is None


class PrefixOracle:
    """Every statement filters on `a` and one other column: an index on (a) brings it from 1000 to
    10, one on (a, its other column) to 5, one on `a` and another column to 11 (a larger index);
    1 MB per key column."""

    def __init__(self, second: list[str]):
        self.second = second        # per statement id: its other filter column
        self.calls = 0

    def cost(self, sid: int, indexes: frozenset[IndexDef]) -> float | None:
        self.calls += 1
        best = 1000.0
        for ix in indexes:
            if ix.columns[0] == "a":
                best = min(best, 5.0 if ix.columns[:2] == ("a", self.second[sid])
                           else 11.0 if len(ix.columns) > 1 else 10.0)
        return best

    def size(self, ix: IndexDef) -> int | None:
        return MB * len(ix.columns)


def _prefix_model(second: list[str]):
    from perftool.advisor.costs import CostModel
    from perftool.advisor.moves import Moves

    oracle = PrefixOracle(second)
    options = AdvisorOptions(max_width=2, min_improvement=0.0)
    cat, items, _candidates, _covered = _prepared(
        [(f"SELECT * FROM t WHERE a = 1 AND {c} = 2", 10) for c in second], oracle, options, columns="abcd")
    model = CostModel(items, oracle, options, cat, writes=[])
    return model, Moves(model), oracle


def test_a_key_prefix_costed_exactly_bounds_the_wider_candidate():
    """Statements that cannot use the last key column get at most what the prefix gave them; the
    others at most their floor: a bound no lower than the wider index's exact benefit, and tighter
    than the floors alone."""
    model, moves, _oracle = _prefix_model(["c", "b"])
    a = IndexDef(schema="public", table="t", columns=("a",))
    ab = IndexDef(schema="public", table="t", columns=("a", "b"))
    narrow, wide = moves.register(a, None), moves.register(ab, None)
    assert narrow is not None and wide is not None
    assert moves.prefix_bound(wide) is None            # the prefix was never costed exactly
    moves.evaluate(narrow)
    gain, rel = moves.prefix_bound(wide)
    floors_only, _ = moves.bound(wide)
    exact = moves.evaluate(wide).benefit
    assert exact <= gain + 1e-9 < floors_only
    assert gain == 10 * (1000.0 - 10.0) + 10 * (1000.0 - 5.0)   # (a)'s saving, then the floor (5)
    assert floors_only == 10 * (1000.0 - 5.0) * 2
    assert rel == (1000.0 - 5.0) / 1000.0
    # once the prefix's statement changed, its saving no longer bounds: back to the floor
    model.config = [a]
    model.recost(model.affected(a))
    assert moves.prefix_bound(wide) == moves.bound(wide)


def test_the_prefix_bound_spares_exact_costings_without_changing_the_choice(monkeypatch):
    """The same greedy with and without `Moves.prefix_bound`: the same indexes and cost, with fewer
    costings (the candidates (a, x) are set aside once (a) is costed exactly)."""
    from perftool.advisor.greedy import GreedySearch
    from perftool.advisor.moves import Moves

    def run() -> tuple[list[str], float, int]:
        model, _moves, oracle = _prefix_model(["c", "c", "c", "b", "d", "e"])
        # every index 1 MB: each (a, x) then looks better per byte by the floors than (a) costed
        # exactly (with 1 MB per column, (a) is taken before any (a, x) is costed)
        oracle.size = lambda ix: MB     # type: ignore[method-assign]
        model.options.budget_bytes = MB
        cands = sorted({ix for it in model.items for ix in it.seed}, key=IndexDef.sort_key)
        search = GreedySearch(model, cands)
        search.run()
        return sorted(ix.label() for ix in search.config), model.total_cost(), oracle.calls

    with_bound = run()
    monkeypatch.setattr(Moves, "prefix_bound", lambda self, move: None)
    without = run()
    assert with_bound[:2] == without[:2]
    assert with_bound[0] == ["public.t (a, c)"] and with_bound[1] == 10 * (3 * 5.0 + 3 * 11.0)
    assert with_bound[2] < without[2]


def test_a_widenings_floor_bound_counts_only_the_statements_reading_the_column_it_adds():
    """Widening (a) into (a, c) can only help the statements that read c: its bound is their gap
    to the floor, not that of every statement using (a) — unless every statement reads every
    column (`SELECT *`), when the shared list serves."""
    from perftool.advisor.costs import CostModel
    from perftool.advisor.moves import Moves

    oracle = PrefixOracle(["c", "c", "b", "d"])
    options = AdvisorOptions(max_width=2, min_improvement=0.0)
    cat, items, _candidates, _covered = _prepared(
        [(f"SELECT a FROM t WHERE a = 1 AND {c} = 2", 10) for c in ["c", "c", "b", "d"]], oracle, options,
        columns="abcd")
    model = CostModel(items, oracle, options, cat, writes=[])
    moves = Moves(model)
    a = IndexDef(schema="public", table="t", columns=("a",))
    ac = IndexDef(schema="public", table="t", columns=("a", "c"))
    model.config = [a]
    model.recost(model.affected(a))
    widen = moves.register(ac, a)
    assert widen is not None
    assert [it.position for it in moves.primary(widen)] == [0, 1]
    gain, _rel = moves.bound(widen)
    assert gain == sum(10 * (model.cur[p] - model.floor[p]) for p in (0, 1)) > 0
    assert gain < model.gap(moves.items_of(widen), ac.table_key)[0]
    assert moves.evaluate(widen).benefit <= gain + 1e-9

    model2, moves2, _o = _prefix_model(["c", "b"])       # SELECT *: every statement reads c
    widen2 = moves2.register(ac, a)
    assert widen2 is not None and moves2.primary(widen2) is model2.affected(ac)


class TinyOracle(FakeOracle):
    """FakeOracle with the indexes leading with `b` one page large; `b_pays`: whether they save
    anything (else a statement on b costs 1000 with or without them)."""

    def __init__(self, columns: list[str], b_pays: bool):
        super().__init__(columns)
        self.b_pays = b_pays
        self.asked: list[frozenset[IndexDef]] = []

    def cost(self, sid: int, indexes: frozenset[IndexDef]) -> float | None:
        self.asked.append(indexes)
        if not self.b_pays:
            indexes = frozenset(ix for ix in indexes if ix.columns[0] != "b")
        return super().cost(sid, indexes)

    def size(self, ix: IndexDef) -> int | None:
        return 8192 if ix.columns[0] == "b" else MB * len(ix.columns)


def test_one_page_indexes_are_searched_last_and_only_when_they_save_together():
    """Candidates of one page are left out of the greedy until the others are done; then all of
    them at once are costed (one EXPLAIN per statement): when that saves nothing they are never
    costed one by one; when it does, the greedy takes them as any other."""
    from perftool.advisor.costs import CostModel
    from perftool.advisor.greedy import GreedySearch

    def run(b_pays: bool):
        oracle = TinyOracle(["a", "b"], b_pays)
        options = AdvisorOptions(max_width=1, min_improvement=0.0)
        cat, items, candidates, _covered = _prepared(
            [("SELECT c FROM t WHERE a = 1", 10), ("SELECT c FROM t WHERE b = 2", 1)], oracle, options)
        oracle.asked.clear()
        search = GreedySearch(CostModel(items, oracle, options, cat, writes=[]), candidates)
        search.run()
        return sorted(ix.label() for ix in search.config), oracle.asked

    config, asked = run(b_pays=False)
    assert config == ["public.t (a)"]
    b_sets = [s for s in asked if any(ix.columns[0] == "b" for ix in s)]
    assert len(b_sets) == 1         # the one joint costing of the one-page candidates, nothing more
    config, _asked = run(b_pays=True)
    assert config == ["public.t (a)", "public.t (b)"]


def test_a_step_saving_a_negligible_share_of_the_workload_is_not_taken():
    """(b) saves 990 of a workload costing 10^10 with no index (under a millionth): not taken, and
    reported as no benefit; with the workload 100 times cheaper it is."""
    for calls, taken in ((10_000_000, False), (100_000, True)):
        oracle = FakeOracle(["a", "b"])
        options = AdvisorOptions(max_width=1, min_improvement=0.0)
        cat, items, candidates, _covered = _prepared(
            [("SELECT c FROM t WHERE a = 1", calls), ("SELECT c FROM t WHERE b = 2", 1)], oracle, options)
        search = select(items, oracle, options, cat, candidates, writes=[])
        labels = {ix.label() for ix in search.model.config}
        assert ("public.t (b)" in labels) is taken and "public.t (a)" in labels
        if not taken:
            b = next(m for (old, new), m in search.moves.by_key.items() if old is None and new.columns == ("b",))
            assert b.status == MoveStatus.NO_BENEFIT


def test_only_a_full_index_of_one_page_counts_as_one_page():
    """A partial index of one page can serve a large table (the stress case's `WHERE cI = 0`, 93
    of its 114 indexes): searched with the others, not last."""
    from perftool.advisor.costs import one_page
    from perftool.advisor.predicates import Constant

    full = IndexDef(schema="public", table="t", columns=("a",))
    partial = IndexDef(schema="public", table="t", columns=("a",), where=(Constant(column="a", op="=", value=0),))
    assert one_page(full, 8192) and not one_page(full, 16384) and not one_page(full, 0)
    assert not one_page(partial, 8192)
