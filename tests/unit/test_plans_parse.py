"""The plan parsers: the sandbox-made corpus (tests/fixtures/plans, make_corpus.py) read from JSON
and from psql's text form gives the same tree; times for loops and parallel workers; hostile input
gives a PlanError, never another exception."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perftool.db.errors import PerftoolError
from perftool.plans.explain import plan_rows
from perftool.plans.json_plan import PlanError, parse_json
from perftool.plans.parse import parse_plan
from perftool.plans.text_plan import strip_psql
from perftool.plans.tips import plan_tips

CORPUS = Path(__file__).parent.parent / "fixtures" / "plans"
SHAPES = sorted(p.stem for p in CORPUS.glob("*.json"))

# figures that two runs of one statement share (times and buffer counts differ from run to run;
# the JSON and the text corpus are two runs)
SAME = ("node_type", "parent_relationship", "subplan_name", "relation", "schema", "alias", "index_name",
        "cte_name", "function_name", "join_type", "strategy", "partial_mode", "operation", "scan_direction",
        "parallel_aware", "startup_cost", "total_cost", "plan_rows", "plan_width", "loops", "filter",
        "join_filter", "index_cond", "recheck_cond", "hash_cond", "merge_cond", "sort_key", "group_key",
        "sort_method", "sort_space_type", "hash_batches", "original_hash_batches", "hashagg_batches",
        "workers_planned", "workers_launched", "output", "rows_total", "depth", "in_parallel", "time_uncertain")


def signature(plan):
    nodes = [tuple((f, getattr(n, f)) for f in SAME) + (("label", n.label()), ("workers", len(n.workers)),
                                                        ("timed", n.inclusive_ms is not None),
                                                        ("buffers", n.buffers.any))
             for n in plan.nodes()]
    top = (sorted(plan.settings), [(t.name, t.calls) for t in plan.triggers],
           plan.jit.functions if plan.jit else None, plan.planning_ms is not None, plan.execution_ms is not None,
           plan.query_identifier is not None)
    return nodes, top


def test_corpus_covers_the_shapes_users_paste():
    assert {"parallel", "nested_loop", "cte", "partitions", "disk_sort", "jit", "trigger"} <= set(SHAPES)


@pytest.mark.parametrize("shape", SHAPES)
def test_json_and_psql_text_give_the_same_tree(shape):
    from_json = parse_plan((CORPUS / f"{shape}.json").read_text())
    from_text = parse_plan((CORPUS / f"{shape}.txt").read_text())
    assert from_json.source == "json" and from_text.source == "text"
    got_json, got_text = signature(from_json), signature(from_text)
    for a, b in zip(got_json[0], got_text[0], strict=True):
        assert dict(a) == dict(b)
    assert got_json[1] == got_text[1]


def test_psql_framed_json_is_read():
    framed = (CORPUS / "parallel.psql-json.txt").read_text()
    assert framed.lstrip().startswith("QUERY PLAN") and "+\n" in framed
    plan = parse_plan(framed)
    assert plan.source == "json" and plan.root.label() == "Finalize GroupAggregate"
    assert signature(plan)[0] == signature(parse_plan((CORPUS / "parallel.json").read_text()))[0]


def test_strip_psql_removes_header_continuations_and_footer():
    text = "     QUERY PLAN      \n---------------------\n Seq Scan on t  (cost=0.00..1.01 rows=1 width=4)+\n   Filter: (a = 1)\n(2 rows)\n"
    assert strip_psql(text) == "Seq Scan on t  (cost=0.00..1.01 rows=1 width=4)\n  Filter: (a = 1)"


def test_nested_loop_inner_time_is_per_loop_times_loops():
    plan = parse_plan((CORPUS / "nested_loop.json").read_text())
    inner = plan.root.children[1]
    assert inner.loops == 200
    assert inner.inclusive_ms == pytest.approx(inner.actual_total_ms * 200)
    assert inner.rows_total == inner.actual_rows * 200
    outer = plan.root
    assert outer.exclusive_ms == pytest.approx(
        outer.inclusive_ms - sum(c.inclusive_ms for c in outer.children), abs=1e-9)
    assert not any(n.time_uncertain for n in plan.nodes())


def test_parallel_nodes_use_the_slowest_process_and_say_uncertain():
    plan = parse_plan((CORPUS / "parallel.json").read_text())
    scan = next(n for n in plan.nodes() if n.node_type == "Seq Scan")
    assert scan.in_parallel and scan.time_uncertain and scan.loops == 2
    worker = scan.workers[0].total_ms * scan.workers[0].loops
    leader = scan.actual_total_ms * scan.loops - worker
    assert scan.inclusive_ms == pytest.approx(max(worker, leader))
    assert scan.inclusive_ms < scan.actual_total_ms * scan.loops      # not the processes' sum
    gather = next(n for n in plan.nodes() if n.node_type == "Gather Merge")
    assert not gather.in_parallel and gather.inclusive_ms == pytest.approx(gather.actual_total_ms)
    assert plan.root.time_uncertain is False


def test_parallel_without_worker_details_averages_over_the_processes_that_ran():
    doc = json.loads((CORPUS / "parallel.json").read_text())

    def drop(node):
        node.pop("Workers", None)
        for c in node.get("Plans", []):
            drop(c)
    drop(doc[0]["Plan"])
    scan = next(n for n in parse_json(doc).nodes() if n.node_type == "Seq Scan")
    assert scan.inclusive_ms == pytest.approx(scan.actual_total_ms * scan.loops / 2)   # 2 processes ran it
    assert scan.time_uncertain


def test_cte_time_counts_at_its_scan_not_twice():
    plan = parse_plan((CORPUS / "cte.json").read_text())
    limit = plan.root
    cte = next(c for c in limit.children if c.subplan_name == "CTE big")
    sort = next(c for c in limit.children if c.node_type == "Sort")
    assert limit.exclusive_ms == pytest.approx(max(limit.inclusive_ms - sort.inclusive_ms, 0))
    scan = next(n for n in plan.nodes() if n.node_type == "CTE Scan")
    assert scan.exclusive_ms == pytest.approx(max(scan.inclusive_ms - cte.inclusive_ms, 0))
    total_exclusive = sum(n.exclusive_ms for n in plan.nodes())
    assert total_exclusive == pytest.approx(limit.inclusive_ms, rel=0.05)


def test_statement_level_figures():
    trig = parse_plan((CORPUS / "trigger.txt").read_text())
    assert trig.triggers[0].name == "c_trig_audit" and trig.triggers[0].calls == 50
    assert trig.root.operation == "Update" and trig.root.node_type == "ModifyTable"
    jit = parse_plan((CORPUS / "jit.json").read_text())
    assert jit.jit is not None and jit.jit.functions > 0 and jit.jit.total_ms > 0
    assert parse_plan((CORPUS / "jit.txt").read_text()).jit.total_ms > 0
    sort = parse_plan((CORPUS / "disk_sort.txt").read_text())
    node = sort.root.children[0]
    assert node.sort_space_type == "Disk" and node.sort_space_kb > 0 and node.buffers.temp_written > 0
    assert node.buffers.temp_io_read_ms > 0
    lossy = parse_plan((CORPUS / "bitmap_lossy.txt").read_text())
    heap = next(n for n in lossy.nodes() if n.node_type == "Bitmap Heap Scan")
    assert heap.lossy_heap_blocks > 0 and heap.removed_by_recheck > 0
    assert parse_plan((CORPUS / "partitions.json").read_text()).nodes()[3].parent_relationship == "Member"


def test_estimate_factor_and_removed_rows():
    plan = parse_plan((CORPUS / "nested_loop.txt").read_text())
    scan = plan.root.children[0]
    assert scan.removed_by_filter_total == 1800 and scan.rows_total == 200
    assert scan.estimate_factor == 1.0
    from perftool.plans.model import PlanNode
    assert PlanNode("Seq Scan", plan_rows=10, actual_rows=1000, loops=1).estimate_factor == 100
    assert PlanNode("Seq Scan", plan_rows=500, actual_rows=0, loops=1).estimate_factor == 500
    assert PlanNode("Seq Scan", plan_rows=5, actual_rows=0, loops=0).estimate_factor is None


def test_plans_without_analyze_or_costs():
    plain = parse_plan("Seq Scan on t  (cost=0.00..35.50 rows=2550 width=4)\n  Filter: (a > 1)")
    assert not plain.analyzed and plain.root.inclusive_ms is None and plain.root.total_cost == 35.5
    bare = parse_plan("Hash Join\n  Hash Cond: (a.x = b.x)\n  ->  Seq Scan on a\n  ->  Hash\n        ->  Seq Scan on b")
    assert [n.label() for n in bare.nodes()] == ["Hash Join", "Seq Scan on a", "Hash", "Seq Scan on b"]
    never = parse_plan("Nested Loop  (cost=0.00..2.00 rows=1 width=4) (actual time=0.01..0.01 rows=0 loops=1)\n"
                       "  ->  Seq Scan on a  (cost=0.00..1.00 rows=1 width=4) (actual time=0.005..0.005 rows=0 loops=1)\n"
                       "  ->  Seq Scan on b  (cost=0.00..1.00 rows=1 width=4) (never executed)")
    assert never.nodes()[2].never_executed and never.nodes()[2].inclusive_ms == 0


@pytest.mark.parametrize("text", ["", "hello", "[]", "[1, 2]", "{}", '{"Plan": 3}', '[{"Plan": {"Plans": []}}]',
                                  '{"Plan": {"Node Type": "Seq Scan", "Plans": [1]}}', "(3 rows)", "->  Seq Scan",
                                  "\x00\x01", "[" * 5000 + "]" * 5000])
def test_not_a_plan_is_a_clean_error(text):
    with pytest.raises(PerftoolError) as info:
        parse_plan(text)
    assert info.value.exit_code == 2


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20)


def _mutations(doc):
    """Paths into the corpus document, to replace a value with anything."""
    out = []

    def walk(value, path):
        out.append(path)
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, (*path, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, (*path, i))
    walk(doc, ())
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), shape=st.sampled_from(SHAPES))
def test_mutated_json_plans_never_crash(data, shape):
    doc = json.loads((CORPUS / f"{shape}.json").read_text())
    for _ in range(data.draw(st.integers(1, 4))):
        paths = _mutations(doc)
        path = data.draw(st.sampled_from(paths))
        value = data.draw(_json_values)
        if not path:
            doc = value
            continue
        target = doc
        for step in path[:-1]:
            target = target[step]
        if data.draw(st.booleans()) and isinstance(target, dict):
            target.pop(path[-1], None)
        else:
            target[path[-1]] = value
    try:
        plan = parse_json(doc)
    except PlanError:
        return
    for node in plan.nodes():
        node.label()
        _ = node.estimate_factor, node.exclusive_ms
    plan_tips(plan)
    plan_rows(plan)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), shape=st.sampled_from(SHAPES))
def test_mutated_text_plans_never_crash(data, shape):
    lines = (CORPUS / f"{shape}.txt").read_text().split("\n")
    for _ in range(data.draw(st.integers(1, 5))):
        i = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["drop", "dup", "cut", "insert", "indent"]))
        if action == "drop" and len(lines) > 1:
            lines.pop(i)
        elif action == "dup":
            lines.insert(i, lines[i])
        elif action == "cut":
            lines[i] = lines[i][:data.draw(st.integers(0, max(len(lines[i]), 0)))]
        elif action == "insert":
            lines.insert(i, data.draw(st.text(max_size=40)))
        else:
            lines[i] = " " * data.draw(st.integers(0, 12)) + lines[i].lstrip()
    try:
        plan = parse_plan("\n".join(lines))
    except PlanError:
        return
    for node in plan.nodes():
        node.label()
        _ = node.estimate_factor, node.exclusive_ms
    plan_tips(plan)
    plan_rows(plan)
