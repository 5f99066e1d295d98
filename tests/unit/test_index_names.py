"""Names of recommended indexes: PostgreSQL style, unique per definition, at most 63 bytes."""

from hypothesis import given
from hypothesis import strategies as st

from perftool.advisor.indexdef import IndexDef
from perftool.advisor.predicates import Constant


def test_plain_names():
    assert IndexDef("public", "orders", ("status", "created_at")).name() == "orders_status_created_at_idx"
    # words that do not say it all (which INCLUDE columns, which key is DESC) get a digest
    assert IndexDef("public", "orders", ("a",), include=("b",)).name() == "orders_a_incl_12a9035d_idx"
    assert IndexDef("public", "orders", ("a", "b"), desc=(False, True)).name() == "orders_a_b_desc_ed7503b4_idx"


def test_partial_indexes_are_named_by_their_predicate():
    def partial(*where):
        return IndexDef("public", "jobs", ("due",), where=where).name()

    assert partial(Constant("status", "=", "open")) == "jobs_due_status_open_eddd4d83_idx"
    assert partial(Constant("deleted_at", "IS NULL", None)) == "jobs_due_deleted_at_is_null_204108f4_idx"
    names = {partial(Constant("status", "=", v)) for v in ("open", "queued", "Open", "in progress", "in-progress")}
    assert len(names) == 5                              # lossy spellings get a digest of the definition


@given(st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=6),
       st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=70))  # PostgreSQL text: no NUL, no lone surrogates
def test_names_fit_and_differ(columns, value):
    a = IndexDef("public", "t" * 30, tuple(columns), where=(Constant("c", "=", value),))
    b = IndexDef("public", "t" * 30, tuple(columns), where=(Constant("c", "=", value + "x"),))
    assert len(a.name().encode()) <= 63 and len(b.name().encode()) <= 63
    assert a.name() != b.name()


# the health checks' fix names (perftool.health.checks.fix_sql): same rules, same guarantees

LONG_TABLE = "customer_order_line_item_allocation_history_archive_2024_q1_xy"  # 62 bytes


def test_fix_names_cut_with_a_digest_and_stay_deterministic():
    from perftool.health.checks.fix_sql import index_name

    a, b = index_name(LONG_TABLE, ["pa_id"]), index_name(LONG_TABLE, ["pb_id"])
    assert a != b and len(a.encode()) <= 63 and len(b.encode()) <= 63
    assert a.endswith("_idx") and a == index_name(LONG_TABLE, ["pa_id"])
    assert index_name("orders", ["status", "created_at"]) == "orders_status_created_at_idx"  # short: unchanged


@given(st.text(min_size=1, max_size=80), st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=4),
       st.text(min_size=1, max_size=5))
def test_fix_names_fit_and_differ(table, columns, extra):
    from perftool.health.checks.fix_sql import index_name, name_variant

    a, b = index_name(table, columns), index_name(table, [*columns, extra])
    assert len(a.encode()) <= 63 and len(b.encode()) <= 63
    assert a != b                      # cut or not: a digest of the whole name keeps them apart
    # compose_fixes tries variants 2, 3, … until one is free: they must differ from each other
    variants = {name_variant(a, n) for n in range(2, 12)}
    assert len(variants - {a}) >= 9 and all(len(v.encode()) <= 63 for v in variants)


# one name rule (perftool.ddl.IndexSpec.name) for the advisor, the health fixes and the index sets

def test_the_same_index_gets_the_same_name_from_advisor_fix_and_index_set():
    from perftool.catalog.schema import Catalog, ColumnInfo, ForeignKeyInfo, TableInfo
    from perftool.health.checks import CheckContext, analyze_catalog, select_checks
    from perftool.health.checks.i201_missing import declared_step
    from perftool.health.index_sets import load_index_set_text

    advisor = IndexDef("public", "orders", ("customer_id", "shop_id")).name()
    t = TableInfo(schema="public", name="orders", oid=1, reltuples=1e6,
                  columns={"customer_id": ColumnInfo("customer_id"), "shop_id": ColumnInfo("shop_id")},
                  foreign_keys=[ForeignKeyInfo(name="fk", schema="public", table="orders",
                                               columns=["customer_id", "shop_id"], ref_schema="public",
                                               ref_table="customers", ref_columns=["id", "shop"])])
    (finding,) = analyze_catalog(CheckContext(Catalog(tables=[t])), select_checks(["I105"]))
    (fix,) = finding.plan.steps
    declared = load_index_set_text("tables:\n  public.orders:\n"
                                   "      - columns: [customer_id, shop_id]\n").indexes[0]
    assert advisor == fix.name == declared_step(declared).name == declared.spec().name() \
        == "orders_customer_id_shop_id_idx"
    assert fix.sql == declared_step(declared).sql == IndexDef("public", "orders", ("customer_id", "shop_id")) \
        .create_sql() + ";"
    # and with an order, a predicate or INCLUDE columns the three still agree
    from perftool.advisor.predicates import Constant
    from perftool.ddl import IndexSpec, KeyPart

    ix = IndexDef("public", "orders", ("a", "b"), desc=(True, False), include=("c",),
                  where=(Constant("status", "=", "open"),))
    spec = IndexSpec("public", "orders", (KeyPart("a", descending=True), KeyPart("b")), ("c",), "\"status\" = 'open'")
    assert ix.spec() == spec and ix.name() == spec.name()


_ident = st.text(min_size=1, max_size=70)
_part = st.builds(lambda c, e, d, n, o, co: __import__("perftool.ddl", fromlist=["KeyPart"]).KeyPart(
    column=None if e else c, expression=c if e else None, descending=d, nulls_first=n, opclass=o, collation=co),
    _ident, st.booleans(), st.booleans(), st.none() | st.booleans(), st.none() | st.sampled_from(["text_ops", "x.y"]),
    st.none() | st.sampled_from(["C", "POSIX"]))
_spec = st.builds(lambda t, p, i, w, m, u: __import__("perftool.ddl", fromlist=["IndexSpec"]).IndexSpec(
    "public", t, tuple(p), tuple(i), w, m, u),
    _ident, st.lists(_part, min_size=1, max_size=4), st.lists(_ident, max_size=2), st.none() | _ident,
    st.sampled_from(["btree", "gin", "hash"]), st.booleans())


@given(_spec, _spec)
def test_spec_names_fit_and_differ(a, b):
    assert len(a.name().encode()) <= 63 and a.name() == a.name()
    if a != b and not (all(p.plain for p in a.parts + b.parts) and "_" in "".join(
            [a.table, b.table, *(p.column for p in a.parts + b.parts)])):
        # distinct specs, distinct names (plain names joined by "_" are ambiguous when the words
        # themselves hold "_", as in PostgreSQL's own names: t_a(b) and t(a_b); see ddl.index_name)
        assert a.name() != b.name()


def test_one_prefix_rule():
    from perftool.ddl import IndexSpec, KeyPart

    def spec(*parts, **kw):
        return IndexSpec("public", "t", tuple(KeyPart(p) if isinstance(p, str) else p for p in parts), **kw)

    assert spec("a").prefix_of(spec("a", "b")) and spec("a", "b").prefix_of(spec("a", "b"))
    assert not spec("b").prefix_of(spec("a", "b")) and not spec("a", "b").prefix_of(spec("a"))
    down = KeyPart("a", descending=True)
    assert spec(down).prefix_of(spec("a", "b"))                       # a btree scans backwards
    assert not spec(down, "b").prefix_of(spec("a", "b"))              # ... all of it, not one column
    assert not spec(KeyPart("a", descending=True, nulls_first=False)).prefix_of(spec("a", "b"))
    assert not spec(KeyPart("a", opclass="text_pattern_ops")).prefix_of(spec("a", "b"))
    assert not spec("a", where="a > 0").prefix_of(spec("a", "b"))
    assert spec("a", include=("b",)).prefix_of(spec("a", "b")) and not spec("a", include=("c",)).prefix_of(spec("a"))
    assert not spec("a").prefix_of(spec("a", "b", method="hash")) and not spec("a").prefix_of(
        IndexSpec("public", "u", (KeyPart("a"),)))
