"""What the speed-ups of the advisor's analysis and candidate generation (issue 15) must not change:
the analyses and candidates of Dexter's stress case pinned (a fingerprint taken before the change),
the one-walk identifier folding equal to sqlglot's own pass, the memoised candidates equal to
candidates made afresh, and the garbage collector's pause leaving collection as it found it."""

from __future__ import annotations

import gc
import hashlib
import json
import threading

import pytest

from perftool.advisor.candidates import LiteralPolicy, access_candidates, generate_candidates
from perftool.advisor.items import build_items
from perftool.catalog.schema import Catalog, ColumnInfo, TableInfo
from perftool.workload import statement_text as st
from perftool.workload.sources import WorkloadStatement


def canon(v):
    """A JSON-able, order-stable picture of analyses and candidates (sets sorted)."""
    if isinstance(v, (set, frozenset)):
        return sorted((canon(x) for x in v), key=repr)
    if isinstance(v, dict):
        return sorted(([canon(k), canon(x)] for k, x in v.items()), key=repr)
    if isinstance(v, (list, tuple)):
        return [canon(x) for x in v]
    if hasattr(v, "__dataclass_fields__"):
        return [type(v).__name__] + [[f, canon(getattr(v, f))] for f in v.__dataclass_fields__]
    if type(v).__name__ == "StatementKind":
        return v.value
    return repr(v)


def stress(columns: int):
    """Dexter's stress case with `columns` int columns: one table t, a statement per column pair."""
    cat = Catalog(search_path=["pg_catalog", "public"])
    cat.add(TableInfo(schema="public", name="t", reltuples=2000.0,
                      columns={f"c{i:02d}": ColumnInfo(f"c{i:02d}", n_distinct=-1.0) for i in range(columns)}))
    texts = [f"SELECT * FROM t WHERE c{i:02d} = 0 AND c{j:02d} = 1"
             for i in range(columns) for j in range(i + 1, columns)]
    return cat, [WorkloadStatement(text=q, source="file", origin=f"stress {k}") for k, q in enumerate(texts)]


def fingerprint(cat, statements, max_width=2) -> tuple[str, int]:
    items = build_items(statements, cat)
    readers = [it for it in items if it.skip is None and it.analysis.accesses]
    candidates, covered = generate_candidates(readers, cat, max_width)
    picture = {"items": [[it.skip, canon(it.analysis), canon(it.indexable), canon(it.constants)] for it in items],
               "candidates": [canon(c) for c in candidates], "covered": canon(covered),
               "seeds": [canon(it.seed) for it in readers]}
    return hashlib.sha256(json.dumps(picture, sort_keys=True).encode()).hexdigest(), len(candidates)


def test_stress_variant_analyses_and_candidates_as_before_the_speedup():
    # taken with the code before issue 15's parse round (pure-Python sqlglot 30.31.0)
    cat, statements = stress(20)
    assert fingerprint(cat, statements) == ("bcafd4a8d3dce5bb03976bd200efda1caa832b50c48b7588179fc6478dd15245", 778)


def test_stress_case_candidates():
    cat, statements = stress(100)
    items = build_items(statements, cat)
    assert all(it.skip is None for it in items)
    candidates, covered = generate_candidates(items, cat, 2)
    assert not covered
    singles = [ix for ix in candidates if len(ix.columns) == 1 and not ix.where]
    pairs = [ix for ix in candidates if len(ix.columns) == 2]
    partial = [ix for ix in candidates if ix.where]
    # every column alone, both orders of every pair, and `cJ WHERE cI = 0` / `cI WHERE cJ = 1` for
    # the literals 2+ statements share (c00 = 1 and c99 = 0 are in none)
    assert (len(singles), len(pairs), len(partial), len(candidates)) == (100, 9900, 9898, 19898)
    every = set(candidates)
    assert len(every) == len(candidates)
    for it in items:    # cI = 0 is in two statements or more for I <= 97, cJ = 1 for J >= 2
        i, j = (int(c[1:]) for c in it.analysis.accesses[0].equality)
        assert len(it.seed) == 4 + (i <= 97) + (j >= 2) and it.seed <= every


RICH = [
    "SELECT * FROM orders WHERE customer_id = 7 AND created_at >= '2024-01-01' ORDER BY created_at DESC LIMIT 5",
    "SELECT id FROM orders WHERE note LIKE 'ab%' AND status = 'open' ORDER BY id",
    "SELECT id FROM orders WHERE lower(note) = 'x' AND status = 'open'",
    "SELECT id FROM orders WHERE lower(note) LIKE 'x%' AND status = 'open'",
    "SELECT status, count(*) FROM orders WHERE total > 3 GROUP BY status, customer_id",
    "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.email = $1 AND o.status = 'open'",
    "SELECT id FROM orders WHERE status = 'open' AND deleted IS NULL ORDER BY created_at LIMIT 10",
    "SELECT id FROM orders WHERE status = 'open' AND deleted IS NULL AND customer_id = $1",
]


def rich_catalog() -> Catalog:
    cat = Catalog(search_path=["pg_catalog", "public"])
    cat.collation = "en_US.UTF-8"       # LIKE 'prefix%' needs a pattern operator class
    text = {"note": "text", "status": "text", "email": "text"}
    for name, cols in (("orders", ["id", "customer_id", "status", "created_at", "total", "note", "deleted"]),
                       ("customers", ["id", "email"])):
        cat.add(TableInfo(schema="public", name=name, reltuples=1e5, columns={
            c: ColumnInfo(c, base_type=text.get(c, "int4"), category="S" if c in text else "N", n_distinct=5.0)
            for c in cols}))
    return cat


@pytest.mark.parametrize("literals", ["example", "constant"])
@pytest.mark.parametrize("width", [1, 2, 3])
def test_memoised_candidates_equal_candidates_made_afresh(literals, width):
    cat = rich_catalog()
    items = [it for it in build_items([WorkloadStatement(text=q, source="file") for q in RICH * 2], cat)
             if it.skip is None]
    candidates, _covered = generate_candidates(items, cat, width, True, literals)
    policy = LiteralPolicy(items, literals)
    fresh: dict = {}
    for it in items:
        own = []
        for acc in it.analysis.accesses:
            table = cat.get(acc.table)
            assert table is not None
            own += access_candidates(acc, table, cat, width, True, policy.constants(acc))   # no memo
        assert frozenset(own) == it.seed
        fresh.update(dict.fromkeys(own))
    assert candidates == list(fresh)
    assert any(ix.opclasses for ix in candidates) and any(ix.where for ix in candidates)


FOLDED = [
    "SELECT A.Id, \"B\".\"Name\" FROM Public.Accounts A JOIN \"Mixed\".\"B\" ON a.ID = \"B\".x",
    "WITH Recent AS (SELECT * FROM Orders WHERE Status = 'open') SELECT * FROM recent r JOIN Customers c USING (Id)",
    "SELECT * FROM t WHERE c01 = $1 AND C02 IN (SELECT X FROM \"U\" WHERE y = $2)",
    "UPDATE Orders SET Total = Total + 1 FROM Customers WHERE Orders.Cust = Customers.ID",
    "SELECT ÄBC, \"ÄBC\" FROM Ünicode",     # PostgreSQL folds ASCII letters only
    "SELECT a /* sqlglot.meta case_sensitive */ FROM Foo",
    "INSERT INTO Logs (Msg) SELECT Note FROM Orders",
    "SELECT 1",
]


@pytest.mark.parametrize("text", FOLDED)
def test_one_walk_folds_and_outlines_as_sqlglot_does(text):
    from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

    expected = normalize_identifiers(st.parse(text).copy(), dialect="postgres")
    assert st.parse_normalized(text).sql(dialect="postgres") == expected.sql(dialect="postgres")
    assert st.parse_normalized(text) == expected
    assert st.outline(text) == st.tree_outline(expected)


def test_parser_reused_after_a_failure_and_per_thread():
    assert st.parse_normalized("SELECT )") is None           # a parse error half-way through
    assert st.parse_normalized(None) is None and st.outline(None) is None    # type: ignore[arg-type]
    assert st.parse_normalized("SELECT 1 AS ok").sql() == "SELECT 1 AS ok"
    good = [f"SELECT c{i} FROM t{i} WHERE x = {i}" for i in range(200)]
    found: dict[str, str] = {}

    def work(texts):
        for t in texts:
            found[t] = st._parse_one(t).sql()

    threads = [threading.Thread(target=work, args=(good[k::2],)) for k in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert found == {t: t for t in good}


def test_collect_young_bounds_the_garbage_of_a_paused_batch():
    from perftool.gc_pause import gc_paused

    class Node:
        def __init__(self):
            self.me = self      # a cycle: only the collector frees it

    with gc_paused():
        for _ in range(3 * st.YOUNG_OBJECTS_MAX // 2):
            Node()
            st.collect_young()
        assert gc.get_count()[0] <= st.YOUNG_OBJECTS_MAX + 1
    assert gc.isenabled()
