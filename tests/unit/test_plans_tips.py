"""P1xx tips on hand-built plans: each band's edge fires, the value just below it does not."""

from __future__ import annotations

import pytest

from perftool.plans.model import Jit, Plan, PlanNode, measure
from perftool.plans.tips import columns_of, plan_tips


def plan_of(root: PlanNode, **top) -> Plan:
    return measure(Plan(root=root, **top))


def scan(**kw) -> PlanNode:
    base = dict(relation="t", schema="public", alias="t", plan_rows=100, actual_rows=100, loops=1,
                actual_total_ms=1.0, startup_cost=0, total_cost=10)
    base.update(kw)
    return PlanNode("Seq Scan", **base)


def found(plan: Plan, code: str):
    return [f for f in plan_tips(plan) if f.code == code]


@pytest.mark.parametrize(("own_ms", "severity"), [(95, "error"), (50, "warning"), (12, "info"), (9, None)])
def test_p101_bands(own_ms, severity):
    root = PlanNode("Aggregate", actual_total_ms=100.0, loops=1, children=[scan(actual_total_ms=float(own_ms))])
    tips = [f for f in found(plan_of(root, execution_ms=100.0), "P101") if "Seq Scan" in f.title]
    assert [f.severity.value for f in tips] == ([severity] if severity else [])


def test_p101_skips_nodes_under_a_millisecond():
    root = PlanNode("Result", actual_total_ms=0.5, loops=1)
    assert not found(plan_of(root, execution_ms=0.5), "P101")


@pytest.mark.parametrize(("actual", "severity"), [(100_000, "error"), (10_000, "warning"), (1_000, "info"),
                                                  (999, None)])
def test_p102_bands(actual, severity):
    node = scan(plan_rows=100, actual_rows=actual, filter="((a = 1) AND (b = 2))")
    tips = found(plan_of(node), "P102")
    assert [f.severity.value for f in tips] == ([severity] if severity else [])
    if tips:
        assert tips[0].evidence["columns"] == ["a", "b"] and "CREATE STATISTICS" in tips[0].fix


@pytest.mark.parametrize(("removed", "severity"), [(9_500, "warning"), (6_000, "info"), (5_000, None)])
def test_p103_bands(removed, severity):
    node = scan(actual_rows=10_000 - removed, removed_by_filter=removed, filter="(status = 'x'::text)")
    tips = found(plan_of(node), "P103")
    assert [f.severity.value for f in tips] == ([severity] if severity else [])
    if tips:
        assert tips[0].evidence["columns"] == ["status"]


def test_p103_counts_removed_rows_over_loops_and_needs_enough_rows():
    node = scan(actual_rows=1, loops=100, removed_by_filter=99, filter="(x = 1)")
    assert found(plan_of(node), "P103")[0].evidence["removed"] == 9900
    assert not found(plan_of(scan(actual_rows=1, removed_by_filter=900, filter="(x = 1)")), "P103")


def test_p104_work_mem_from_the_plans_own_figures():
    sort = PlanNode("Sort", sort_method="external merge", sort_space_type="Disk", sort_space_kb=5000.0, loops=1)
    assert found(plan_of(sort), "P104")[0].evidence["work_mem_fit_kb"] == 10 * 1024
    hashed = PlanNode("Hash", hash_batches=4, original_hash_batches=1, peak_memory_kb=3000.0, loops=1)
    assert found(plan_of(hashed), "P104")[0].evidence["work_mem_fit_kb"] == 12 * 1024
    assert not found(plan_of(PlanNode("Hash", hash_batches=1, peak_memory_kb=3000.0)), "P104")
    assert not found(plan_of(PlanNode("Sort", sort_space_type="Memory", sort_space_kb=5000.0)), "P104")


def test_p105_p106_p108():
    lossy = PlanNode("Bitmap Heap Scan", relation="t", exact_heap_blocks=100, lossy_heap_blocks=5, loops=1)
    assert found(plan_of(lossy), "P105")
    assert not found(plan_of(PlanNode("Bitmap Heap Scan", exact_heap_blocks=100, loops=1)), "P105")
    ios = PlanNode("Index Only Scan", relation="t", heap_fetches=50, actual_rows=100, loops=1)
    assert found(plan_of(ios), "P106")[0].severity.value == "warning"
    assert not found(plan_of(PlanNode("Index Only Scan", heap_fetches=0, actual_rows=100, loops=1)), "P106")
    gather = PlanNode("Gather", workers_planned=2, workers_launched=1, loops=1)
    assert found(plan_of(gather), "P108")
    assert not found(plan_of(PlanNode("Gather", workers_planned=2, workers_launched=2, loops=1)), "P108")


@pytest.mark.parametrize(("loops", "inner_type", "severity"), [(1000, "Seq Scan", "error"),
                                                                (1000, "Index Scan", "warning"),
                                                                (999, "Seq Scan", None)])
def test_p107_many_loops(loops, inner_type, severity):
    inner = PlanNode(inner_type, relation="b", actual_rows=1, loops=loops, actual_total_ms=0.01)
    root = PlanNode("Nested Loop", actual_rows=loops, loops=1, actual_total_ms=20.0,
                    children=[scan(actual_rows=loops), inner])
    tips = found(plan_of(root), "P107")
    assert [f.severity.value for f in tips] == ([severity] if severity else [])


def test_p109_p110_p111():
    root = PlanNode("Result", actual_total_ms=10.0, loops=1)
    assert found(plan_of(root, execution_ms=40.0, jit=Jit(total_ms=10.0)), "P109")
    assert not found(plan_of(root, execution_ms=41.0, jit=Jit(total_ms=10.0)), "P109")
    assert found(plan_of(root, planning_ms=3.0, execution_ms=1.0), "P110")
    assert not found(plan_of(root, planning_ms=2.9, execution_ms=1.0), "P110")
    limit = PlanNode("Limit", actual_rows=10, loops=1, children=[PlanNode("Sort", actual_rows=1010, loops=1)])
    assert found(plan_of(limit), "P111")[0].evidence["skipped"] == 1000
    near = PlanNode("Limit", actual_rows=10, loops=1, children=[PlanNode("Sort", actual_rows=1009, loops=1)])
    assert not found(plan_of(near), "P111")


def test_columns_of_conditions():
    assert columns_of("((o.status = 'paid'::text) AND (o.region_id = ANY ('{1,2}'::integer[])))") == \
        ["status", "region_id"]
    assert columns_of("(lower((email)::text) = 'x'::text)") == ["email"]
    assert columns_of(None) == [] and columns_of("(true)") == []


def test_function_or_cast_side_of_a_filter():
    from perftool.plans.tips import _conjuncts, _wrapped_side

    cases = {
        "(lower((u.email)::text) = 'a@x'::text)": ["lower((email)::text)"],
        "((u.created_at)::date = '2024-01-01'::date)": ["(created_at)::date"],
        "((u.status)::text = 'x'::text)": [None],                            # varchar → text: harmless
        "(u.created_at >= (now() - '1 day'::interval))": [None],             # the function is on the constant
        "((lower(u.email) = 'x'::text) AND (u.id > 5))": ["lower(email)", None],
        "((lower(u.email) = 'x'::text) OR (u.id > 5))": [None],
        "(lower(u.a) = lower(u.b))": [None],                                 # columns on both sides
        "(date_trunc('day'::text, u.created_at) = '2024-01-01 00:00:00'::timestamp without time zone)":
            ["date_trunc('day'::text, created_at)"],
    }
    for condition, expected in cases.items():
        assert [_wrapped_side(c, {"u", "users"}) for c in _conjuncts(condition)] == expected, condition


def test_inline_cte_rewrites_only_the_named_cte():
    from perftool.plans.proof import inline_cte

    text = "WITH a AS MATERIALIZED (SELECT 1), b(x) AS (SELECT 2) SELECT * FROM a, b"
    assert inline_cte(text, "b") == "WITH a AS MATERIALIZED (SELECT 1), b(x) AS NOT MATERIALIZED (SELECT 2) SELECT * FROM a, b"
    assert inline_cte(text, "a") == "WITH a AS NOT MATERIALIZED (SELECT 1), b(x) AS (SELECT 2) SELECT * FROM a, b"
    assert inline_cte('WITH "Big" AS (SELECT 1) SELECT * FROM "Big"', "Big") == \
        'WITH "Big" AS NOT MATERIALIZED (SELECT 1) SELECT * FROM "Big"'
    assert inline_cte("SELECT 1", "a") is None
