"""`perftool explain --anonymize`: no name or literal of the plan survives in any output format, the
same name is the same token everywhere, and the anonymized plan is still an EXPLAIN plan."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perftool.plans.anonymize import NAME_KEYS, Anonymizer
from perftool.plans.explain import ExplainRequest, explain_report
from perftool.plans.parse import parse_plan, plan_document
from perftool.plans.run import ExplainOptions
from perftool.report.render import FORMATS, render_to_string

CORPUS = Path(__file__).parent.parent / "fixtures" / "plans"
# names and literals from alphabets English and perftool's own words never use
NAME = st.from_regex(r"zq[a-z]{2,6}", fullmatch=True)
WORDLIKE = st.sampled_from(["name", "value", "key", "type", "level", "data", "text", "status"])
STRING = st.from_regex(r"xj[a-z]{2,6}", fullmatch=True)
NUMBER = st.integers(10_000_000, 999_999_999)


def render_all(report) -> dict[str, str]:
    """Every format's output (the HTML page without its style sheet and script: perftool's own text)."""
    out = {fmt: render_to_string(report, fmt) for fmt in FORMATS}
    out["html"] = re.sub(r"<(style|script)\b.*?</\1>", "", out["html"], flags=re.S)
    return out


def leaks(outputs: dict[str, str], secrets: set[str]) -> list[tuple[str, str]]:
    return [(fmt, s) for fmt, out in outputs.items() for s in secrets if s in out]


def report_of(doc, anonymize: bool = True):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.json"
        path.write_text(json.dumps(doc))
        return explain_report(None, ExplainRequest(plan_files=[str(path)], anonymize=anonymize), ExplainOptions())


@st.composite
def plans(draw):
    """An EXPLAIN ANALYZE document with names, string and number literals in every place they occur."""
    names = draw(st.lists(NAME, min_size=8, max_size=8, unique=True))
    schema, table, other, alias, col, col2, index, func = names
    lit = draw(STRING)
    num = draw(NUMBER)
    cte = draw(NAME.filter(lambda n: n not in names))

    def node(node_type, **more):
        return {"Node Type": node_type, "Startup Cost": 0.0, "Total Cost": 100.0, "Plan Rows": 10,
                "Plan Width": 8, "Actual Startup Time": 0.01, "Actual Total Time": 5.0, "Actual Rows": 10,
                "Actual Loops": 1, **more}

    scan = node("Seq Scan", **{"Relation Name": table, "Schema": schema, "Alias": alias,
                               "Filter": f"(({alias}.{col} = '{lit}'::text) AND ({alias}.{col2} > '{num}'::numeric))",
                               "Rows Removed by Filter": 5000, "Output": [f"{alias}.{col}", f"{func}({alias}.{col2})"]})
    index_scan = node("Index Scan", **{"Relation Name": other, "Schema": schema, "Alias": other,
                                       "Index Name": index, "Index Cond": f"({other}.{col} = {alias}.{col})",
                                       "Actual Loops": 2000, "Parent Relationship": "Inner"})
    cte_node = node("Function Scan", **{"Function Name": func, "Alias": func, "Parent Relationship": "InitPlan",
                                        "Subplan Name": f"CTE {cte}", "Filter": f"({func}.{col} <> {num})"})
    cte_scan = node("CTE Scan", **{"CTE Name": cte, "Alias": cte, "Parent Relationship": "Outer"})
    join = node("Nested Loop", **{"Join Type": "Inner", "Join Filter": f"(lower({alias}.{col}) ~~ '%{lit}%'::text)",
                                  "Plans": [dict(scan, **{"Parent Relationship": "Outer"}), index_scan]})
    sort = node("Sort", **{"Sort Key": [f"{alias}.{col} DESC", f"{alias}.{col2}"], "Sort Method": "quicksort",
                           "Plans": [cte_node, cte_scan, join]})
    doc = [{"Plan": sort, "Planning Time": 0.2, "Execution Time": 6.0,
            "Settings": {"search_path": f"{schema}, public"},
            "Triggers": [{"Trigger Name": f"{table}_audit", "Relation": table, "Time": 1.0, "Calls": 3}]}]
    return doc, set(names) | {cte, lit, str(num)}


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_no_name_or_literal_survives_in_any_format(case):
    doc, secrets = case
    plain = render_all(report_of(doc, anonymize=False))
    assert all(leaks({"json": plain["json"]}, {s}) for s in secrets)      # the secrets are in the plain output
    outputs = render_all(report_of(doc))
    assert leaks(outputs, secrets) == []


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_the_anonymized_plan_still_parses_to_the_same_tree(case):
    doc, secrets = case
    report = report_of(doc)
    shared = report.data["statements"][0]["explain"]
    assert not [s for s in secrets if s in json.dumps(shared)]
    before, after = parse_plan(json.dumps(doc)), parse_plan(json.dumps(shared))
    assert [n.node_type for n in after.nodes()] == [n.node_type for n in before.nodes()]
    assert [n.exclusive_ms for n in after.nodes()] == [n.exclusive_ms for n in before.nodes()]
    # the tips are the same, naming tokens
    assert [f.code for f in report.findings] == [f.code for f in report_of(doc, anonymize=False).findings]


@settings(max_examples=25, deadline=None)
@given(st.lists(NAME, min_size=4, max_size=4, unique=True), WORDLIKE, STRING, NUMBER)
def test_statement_text_is_anonymized_consistently_and_still_parses(names, wordlike, lit, num):
    schema, table, alias, func = names
    text = (f"SELECT {alias}.{wordlike}, count(*), {func}({alias}.id) FROM {schema}.{table} {alias} "
            f"WHERE {alias}.{wordlike} = '{lit}' AND lower({alias}.{wordlike}) <> '{lit}' AND {alias}.id > {num} "
            f"AND created::date = now()::date -- {lit} in a comment\nGROUP BY 1 ORDER BY 2 DESC LIMIT 10")
    anon = Anonymizer()
    anon.learn_statement(text)
    out = anon.sql(text)
    assert not [s for s in [*names, lit, str(num)] if s in out]
    assert not re.search(rf"\b{wordlike}\b", out), out          # a column named like a keyword: replaced
    for kept in ("count(*)", "lower(", "::date", "now()", "SELECT", "GROUP BY 1 ORDER BY 2", "LIMIT 10"):
        assert kept in out, out
    token = anon.names[alias]
    assert out.count(f"{token}.") == 5                          # the same alias: the same token everywhere
    assert out.count(f"'{anon.literals[lit]}'") == 2
    sqlglot.parse_one(out, read="postgres")


def test_corpus_plans_keep_no_name(tmp_path):
    """Every plan of the sandbox corpus, JSON and text: none of its names in any output."""
    for path in sorted(CORPUS.glob("*.json")) + sorted(CORPUS.glob("*.txt")):
        doc, _ = plan_document(path.read_text())
        names: set[str] = set()
        stack = [doc]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                names |= {v for k, v in item.items() if k in NAME_KEYS and isinstance(v, str) and len(v) > 2}
                stack += [v for v in item.values() if isinstance(v, (dict, list))]
            elif isinstance(item, list):
                stack += item
        report = explain_report(None, ExplainRequest(plan_files=[str(path)], anonymize=True), ExplainOptions())
        for fmt, out in render_all(report).items():
            found = [n for n in names if re.search(rf"(?<![\w$]){re.escape(n)}(?![\w$])", out)]
            assert not found, (path.name, fmt, found)


def test_same_name_same_token_across_compared_plans(tmp_path):
    a = CORPUS / "nested_loop.json"
    report = explain_report(None, ExplainRequest(compare=[str(a), str(a)], anonymize=True), ExplainOptions())
    rows = report.section("compare").rows
    assert all(r["node"] == r["before"] for r in rows) and any(" on s1." in r["node"] for r in rows)
