"""--format html pages of `explain` (plan tree with exclusive-time bars, tips at their nodes, the
what-if proof), `pool` (utilisation meter against its thresholds, lock tree as nested lists) and
`replicas` (a verdict badge and a lag bar per replica), on Reports made by the real builders where
they are pure, and with hostile node, relation and replica names."""

from __future__ import annotations

from perftool.plans.explain import Outcome, build_report
from perftool.plans.model import Plan, PlanNode, measure
from perftool.plans.proof import Proof
from perftool.plans.tips import plan_tips
from perftool.report.html_format import PAGES
from perftool.report.model import Column, Finding, Report, Section
from perftool.report.render import render_to_string
from tests.unit.test_html_format import Page, every_link_has_a_target

HOSTILE = '<script>alert(1)</script>"'


def hostile_plan() -> Plan:
    scan = PlanNode("Seq Scan", relation=HOSTILE, schema="public", alias=HOSTILE, plan_rows=10, actual_rows=5_000,
                    loops=1, actual_total_ms=90.0, startup_cost=0, total_cost=100, removed_by_filter=95_000,
                    filter=f"(\"{HOSTILE}\" = 1)")
    inner = PlanNode("Index Scan", relation="small", schema="public", alias="s", index_name=f"{HOSTILE}_idx",
                     plan_rows=1, actual_rows=1, loops=1, actual_total_ms=2.0, startup_cost=0, total_cost=8)
    join = PlanNode("Nested Loop", plan_rows=10, actual_rows=5_000, loops=1, actual_total_ms=95.0, startup_cost=0,
                    total_cost=120, children=[scan, inner])
    root = PlanNode("Aggregate", plan_rows=1, actual_rows=1, loops=1, actual_total_ms=100.0, startup_cost=0,
                    total_cost=130, children=[join])
    return measure(Plan(root=root, execution_ms=100.0, planning_ms=0.5))


def explain_page(proofs=()) -> tuple[Report, Page, str]:
    plan = hostile_plan()
    outcome = Outcome("argument", f"SELECT count(*) FROM \"{HOSTILE}\"", None, plan, plan_tips(plan),
                      proofs=list(proofs))
    report = build_report([outcome], {"host": "h", "database": "d"})
    html = render_to_string(report, "html")
    return report, Page(html), html


def test_pages_are_registered():
    assert {"explain", "pool", "replicas"} <= set(PAGES)


def test_explain_plan_tree_with_a_bar_per_node_and_tips_at_their_nodes():
    report, page, html = explain_page()
    plan = report.section("plan")
    assert page.count("table", "plan-tree", data_nodes=str(len(plan.rows))) == 1
    assert page.count("tr", "node") == len(plan.rows) == 4
    assert page.count("rect", "own") == 4  # one exclusive-time bar per node
    # indented by depth, the tree order of the builder
    depths = [a["data-depth"] for t, a in page.tags if t == "tr" and "node" in (a.get("class") or "").split()]
    assert depths == ["0", "1", "2", "2"]
    text = page.all_text()
    assert "90 ms · 90.0 %" in text  # the scan's own time, ms and share in words
    assert "500× under" in text                                   # the estimate factor
    assert "95,000" in text                                       # rows removed by the filter
    # every P1xx tip is linked from its node's row, and the link lands on the finding
    tips = [f for f in report.findings if f.code.startswith("P")]
    assert tips and {f.code for f in tips} >= {"P101", "P103"}
    tip_links = [a["href"] for t, a in page.tags if t == "a" and "tip" in (a.get("class") or "").split()]
    assert len(tip_links) == len(tips)
    scan_id = next(r["id"] for r in plan.rows if r["node_type"] == "Seq Scan")
    scan_tips = [f for f in tips if f.evidence["node_id"] == scan_id]
    assert page.count("tr", "has-tips", id=f"node-{scan_id}") == 1 and scan_tips
    every_link_has_a_target(page)
    # the plan is not repeated as a generic table
    assert page.count("section", id="section-plan") == 0
    # hostile relation / index names are text
    assert "<script>alert" not in html and html.count("<script>") == 1
    assert HOSTILE in text and f"{HOSTILE}_idx" in text


def test_explain_what_if_proof_before_after():
    proof = Proof(indexes=["CREATE INDEX ON public.t (a)"], source="advisor", before_cost=1000.0, after_cost=10.0,
                  changes=[("Seq Scan on t", "Index Scan using <t_a_idx> on t")], tables=["public.t"])
    report, page, html = explain_page([proof])
    text = page.all_text()
    assert "1,000.00" in text and "10.00" in text and "99.0 % saved" in text
    assert "Index Scan using <t_a_idx> on t" in text
    assert page.count("figure", "chart", id="chart-whatif", data_bars="2") == 1
    assert page.count("rect", "before") == 1 and page.count("rect", "after") == 1
    assert page.count("section", id="section-whatif") == 0


def test_explain_estimates_only_has_no_bars():
    root = PlanNode("Seq Scan", relation="t", schema="public", alias="t", plan_rows=10, startup_cost=0, total_cost=9)
    report = build_report([Outcome("argument", "SELECT 1", None, measure(Plan(root=root)), [])], {})
    page = Page(render_to_string(report, "html"))
    assert page.count("tr", "node") == 1 and page.count("rect", "own") == 0
    assert "Estimates only" in page.all_text()


def pool_report(used: int = 85, usable: int = 100) -> Report:
    rows = [{"root": 10, "depth": 0, "pid": "10", "blocked_by": "", "waiting_s": None, "blocks": 2, "state": "idle in transaction",
             "who": f"app@{HOSTILE}", "lock": "", "query": f"UPDATE \"{HOSTILE}\" SET v = 1"},
            {"root": 10, "depth": 1, "pid": "└ 11", "blocked_by": "10", "waiting_s": 12.5, "blocks": 1, "state": "active",
             "who": "b@d", "lock": "relation", "query": "LOCK t"},
            {"root": 10, "depth": 2, "pid": "· └ 12", "blocked_by": "11", "waiting_s": 3.0, "blocks": 0, "state": "active",
             "who": "c@d", "lock": "transactionid", "query": "SELECT 1"}]
    return Report("pool", sections=[
        Section("summary", "Connections of h", [Column("metric", "metric"), Column("value", "value")],
                [{"metric": "connections used", "value": f"{used} of {usable}"}]),
        Section("lock_tree", "Lock tree", [Column("pid", "pid"), Column("who", "who")], rows, note="never runs them"),
        Section("horizon", "Horizon", [Column("holder", "holder")], [{"holder": HOSTILE}])],
        findings=[Finding("C104", "error", "pid 10 blocks 2 sessions", "pid 10", "d", "SELECT pg_terminate_backend(10);",
                          {"pid": 10})],
        data={"perfdata": [{"label": "connections", "value": used, "warn": 80, "crit": 95, "min": 0, "max": usable}]})


def test_pool_meter_against_thresholds_and_lock_tree_as_nested_lists():
    report = pool_report()
    html = render_to_string(report, "html")
    page = Page(html)
    assert page.count("figure", "meter", id="meter-connections", data_level="warning") == 1
    assert page.count("line", "threshold") == 2
    text = page.all_text()
    assert "85 of 100 usable (85%)" in text and "80% (80)" in text and "95% (95)" in text and "◆ warning" in text
    # nested: 10 > 11 > 12
    assert page.count("ul", "lock-tree") == 1 and page.count("li", "lock") == 3
    assert page.count("ul") - page.count("ul", "lock-tree") >= 2
    assert [a["data-pid"] for t, a in page.tags if t == "li" and a.get("data-pid")] == ["10", "11", "12"]
    assert 'href="#finding-1-C104"' in html
    assert page.count("section", id="section-lock_tree") == 0 and page.count("section", id="section-horizon") == 1
    assert "<script>alert" not in html and HOSTILE in text
    every_link_has_a_target(page)


def test_pool_meter_levels():
    for used, level in ((10, "ok"), (95, "critical")):
        page = Page(render_to_string(pool_report(used), "html"))
        assert page.count("figure", "meter", data_level=level) == 1


def test_replicas_one_badge_per_replica_and_lag_bars():
    rows = [{"replica": HOSTILE, "verdict": "lagging", "lag_ms": 45_000.0, "lag_bytes": 1 << 20, "state": "streaming",
             "sync_state": "async", "seen_from": "p", "detail": ""},
            {"replica": "r2", "verdict": "healthy", "lag_ms": 10.0, "lag_bytes": 0, "state": "streaming"},
            {"replica": "r3", "verdict": "receiver down", "lag_ms": None, "lag_bytes": None, "detail": "gone"}]
    report = Report("replicas", sections=[
        Section("verdicts", "Lag verdict per replica", [Column("replica", "replica")], rows),
        Section("slots", "Replication slots", [Column("slot", "slot")], [])],
        findings=[Finding("R104", "error", "r3: WAL receiver down", "r3", "d", "")],
        data={"perfdata": [{"label": "x_lag_ms", "value": 0, "warn": 30_000, "crit": 300_000}]})
    html = render_to_string(report, "html")
    page = Page(html)
    assert page.count("span", "verdict") == 3
    levels = [a["class"] for t, a in page.tags if t == "span" and "verdict" in (a.get("class") or "").split()]
    assert levels == ["badge verdict level-warning", "badge verdict level-ok", "badge verdict level-critical"]
    text = page.all_text()
    assert "◆ lagging" in text and "✓ healthy" in text and "✕ receiver down" in text  # shape and word
    assert page.count("svg", "lag") == 3 and page.count("line", "threshold") == 6
    assert 'href="#finding-1-R104"' in html and page.count("section", id="section-verdicts") == 0
    assert "<script>alert" not in html and HOSTILE in text
    every_link_has_a_target(page)


def test_explain_several_plans_keep_their_tips_apart():
    plans = [hostile_plan(), hostile_plan()]
    outcomes = [Outcome(f"statement {i}", "SELECT 1", None, p, plan_tips(p)) for i, p in enumerate(plans, 1)]
    report = build_report(outcomes, {})
    page = Page(render_to_string(report, "html"))
    assert page.count("table", "plan-tree") == 2 and page.count("tr", "node") == 8
    per_plan = len(plan_tips(hostile_plan()))
    tip_links = [a["href"] for t, a in page.tags if t == "a" and "tip" in (a.get("class") or "").split()]
    assert len(tip_links) == 2 * per_plan and len(set(tip_links)) == 2 * per_plan  # each tip once, at its plan
    assert len(set(page.ids())) == len(page.ids())  # node anchors do not collide
    every_link_has_a_target(page)
