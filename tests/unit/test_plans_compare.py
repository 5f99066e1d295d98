"""explain --compare: node-by-node changes with P101's bands; an index scan turned Seq Scan."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from perftool.plans.compare import compare_report
from perftool.plans.json_plan import parse_json

CORPUS = Path(__file__).parent.parent / "fixtures" / "plans"


def nested_loop() -> list:
    return json.loads((CORPUS / "nested_loop.json").read_text())


def test_the_same_plan_has_no_regression():
    a = parse_json(nested_loop())
    report = compare_report("a", a, "b", parse_json(nested_loop()))
    assert report.findings == []
    assert [r["change"] for r in report.section("compare").rows] == ["+0.00 ms"] * 3


def test_an_index_scan_that_became_a_slow_seq_scan():
    doc_b = copy.deepcopy(nested_loop())
    inner = doc_b[0]["Plan"]["Plans"][1]
    inner.update({"Node Type": "Seq Scan", "Actual Total Time": 5.0, "Filter": "(o.id = (c.id * 7))"})
    inner.pop("Index Name")
    doc_b[0]["Plan"]["Actual Total Time"] = 1001.0
    doc_b[0]["Execution Time"] = 1001.5
    report = compare_report("a", parse_json(nested_loop()), "b", parse_json(doc_b))
    codes = [(f.code, f.severity.value, f.title) for f in report.findings]
    assert ("P112", "warning", "Index Scan using c_orders_pkey on public.c_orders o became "
            "Seq Scan on public.c_orders o") in codes
    grown = [f for f in report.findings if "up by" in f.title]
    assert grown and grown[0].severity.value == "error" and grown[0].evidence["unit"] == "ms"
    assert report.exit_code("warning") == 1 and report.data["compare"]["change"] > 100


def test_plans_without_analyze_compare_costs():
    a = parse_json({"Plan": {"Node Type": "Seq Scan", "Relation Name": "t", "Alias": "t", "Total Cost": 100.0}})
    b = parse_json({"Plan": {"Node Type": "Seq Scan", "Relation Name": "t", "Alias": "t", "Total Cost": 200.0}})
    report = compare_report("a", a, "b", b)
    assert report.findings[0].severity.value == "error" and report.findings[0].evidence["unit"] == "cost"
    assert "estimated cost" in report.notes[0]


def test_new_and_gone_nodes():
    a = parse_json({"Plan": {"Node Type": "Seq Scan", "Relation Name": "t", "Alias": "t", "Total Cost": 10.0}})
    b = parse_json({"Plan": {"Node Type": "Sort", "Total Cost": 12.0, "Plans": [
        {"Node Type": "Seq Scan", "Relation Name": "u", "Alias": "u", "Total Cost": 10.0}]}})
    rows = compare_report("a", a, "b", b).section("compare").rows
    assert [(r["node"], r["before"]) for r in rows] == [("Sort", "(new)"), ("Seq Scan on u", "(new)"),
                                                         ("(gone)", "Seq Scan on t")]
