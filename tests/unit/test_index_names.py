"""Names of recommended indexes: PostgreSQL style, unique per definition, at most 63 bytes."""

from hypothesis import given
from hypothesis import strategies as st

from perftool.advisor.predicates import Constant
from perftool.advisor.whatif import IndexDef


def test_plain_names():
    assert IndexDef("public", "orders", ("status", "created_at")).name() == "orders_status_created_at_idx"
    assert IndexDef("public", "orders", ("a",), include=("b",)).name() == "orders_a_incl_idx"
    assert IndexDef("public", "orders", ("a", "b"), desc=(False, True)).name() == "orders_a_b_desc_idx"


def test_partial_indexes_are_named_by_their_predicate():
    def partial(*where):
        return IndexDef("public", "jobs", ("due",), where=where).name()

    assert partial(Constant("status", "=", "open")) == "jobs_due_status_open_idx"
    assert partial(Constant("deleted_at", "IS NULL", None)) == "jobs_due_deleted_at_null_idx"
    names = {partial(Constant("status", "=", v)) for v in ("open", "queued", "Open", "in progress", "in-progress")}
    assert len(names) == 5                              # lossy spellings get a digest of the definition


@given(st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=6), st.text(max_size=70))
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
