"""--format html on Report records: escaping (hostile identifiers and statement texts), the CSP,
the generic page every command gets and the analyze / recommend page parts."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from perftool.analyze.score import health_score
from perftool.report.html_format import PAGES, context
from perftool.report.model import Column, Finding, Report, Section
from perftool.report.render import render_to_string
from perftool.report.values import printable

HOSTILE = '"<script>alert(1)</script>"'


class Page(HTMLParser):
    """Tags, ids, in-page links and the text of a rendered page."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._script = False
        self.scripts: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._script = tag == "script"

    def handle_endtag(self, tag):
        self._script = False

    def handle_data(self, data):
        (self.scripts if self._script else self.text).append(data)

    def ids(self) -> list[str]:
        return [a["id"] for _, a in self.tags if a.get("id")]

    def count(self, tag: str, cls: str = "", **attrs: str) -> int:
        return sum(1 for t, a in self.tags if t == tag and (not cls or cls in (a.get("class") or "").split())
                   and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items()))

    def all_text(self) -> str:
        return "".join(self.text)


def hostile_report(command: str = "queries", text: str = HOSTILE) -> Report:
    return Report(
        command=command,
        server={"host": text, "port": 5432, "database": text, "version": "15.4"},
        sections=[Section("statements", f"Statements on {text}", [
            Column("rank", "#", "int"), Column("query", "statement", "query"), Column("table", text),
            Column("calls", "calls", "int")],
            [{"rank": 1, "query": f"SELECT * FROM {text} WHERE note = '</code></td><script>alert(2)</script>'",
              "table": f"public.{text}", "calls": 3, "queryid": 42}], note=text)],
        findings=[Finding("Q101", "warning", f"slow statement on {text}", f"public.{text}", f"detail {text}",
                          f'DROP INDEX CONCURRENTLY IF EXISTS public.{text}; -- </pre><script>alert(3)</script>',
                          {"queryid": 42})],
        notes=[f"note {text}"], generated_at="2026-01-01T00:00:00+00:00", perftool="0.0.0")


def test_html_is_registered_for_every_command():
    from perftool.report.render import FORMATS

    assert FORMATS["html"] == "perftool.report.html_format"
    assert {"analyze", "indexes recommend"} <= set(PAGES)


def test_hostile_identifier_renders_as_text():
    out = render_to_string(hostile_report(), "html")
    page = Page(out)
    assert page.count("script") == 1  # ours, the copy buttons' script; nothing from the report
    assert "alert(" not in "".join(page.scripts)
    assert "<script>alert" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    text = page.all_text()
    # the statement, the object, the fix, the table's header and the server name read as themselves
    for expected in (HOSTILE, "public." + HOSTILE, "</pre><script>alert(3)</script>",
                     "</code></td><script>alert(2)</script>"):
        assert expected in text, expected


def test_only_the_pages_own_script_may_run_and_nothing_may_be_fetched():
    out = render_to_string(hostile_report(), "html")
    page = Page(out)
    csp = next(a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp
    script = page.scripts[0]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp
    # nothing outside the file: no src, no external href, no @import or url() but data:
    for _, attrs in page.tags:
        assert "src" not in attrs
        if "href" in attrs:
            assert (attrs["href"] or "").startswith("#") or attrs["href"] == "data:,", attrs["href"]
    assert "@import" not in out and not re.search(r"url\((?!data:)", out)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>&\"'/= \n\tascriptonl()!-[]{}`;\\")) | st.characters(), min_size=1, max_size=40))
def test_no_text_can_make_markup(text):
    """Whatever a statement text, identifier or fix holds, the page has the same elements as with
    a harmless text of the same shape: text never becomes a tag or an attribute. (The same shape:
    as long once control characters are shown as escapes, with its white space where it was — a
    statement longer than the column is shortened and gets its whole text as a tooltip.)"""
    neutral = Page(render_to_string(hostile_report(text=re.sub(r"\S", "x", printable(text))), "html"))
    page = Page(render_to_string(hostile_report(text=text), "html"))
    assert [(t, sorted(a)) for t, a in page.tags] == [(t, sorted(a)) for t, a in neutral.tags]


def test_generic_page_sections_and_findings_with_copy_buttons():
    report = hostile_report(text="orders")
    report.findings.append(Finding("Q105", "info", "", "pg_stat_statements", "evicting", ""))
    page = Page(render_to_string(report, "html"))
    articles = [a for t, a in page.tags if t == "article"]
    assert [a["data-code"] for a in articles] == ["Q101", "Q105"]
    # the fix has a copy button pointing at its text; a finding without a fix has none
    buttons = [a for t, a in page.tags if t == "button" and "copy" in a.get("class", "")]
    assert len(buttons) == 1 and buttons[0]["data-copy"] in page.ids() and "hidden" in buttons[0]
    # the section's row links to the finding about its statement (queryid) and object
    links = [a["href"] for t, a in page.tags if t == "a" and "flink" in (a.get("class") or "")]
    assert links == ["#" + articles[0]["id"]]
    assert len(page.ids()) == len(set(page.ids()))
    text = page.all_text()
    assert "warning" in text and "info" in text  # severity as a word, not colour alone


def text_of(page: Page) -> str:
    return page.all_text()


def every_link_has_a_target(page: Page) -> None:
    ids = set(page.ids())
    for _t, a in page.tags:
        href = a.get("href") or ""
        if href.startswith("#"):
            assert href[1:] in ids, href


def analyze_like_report() -> Report:
    findings = [Finding("Q101", "warning", "slow", "queryid:7", "slow one", "CREATE INDEX …", {"queryid": 7}),
                Finding("T201", "warning", "seq scans", "public.orders", "many", "CREATE INDEX …"),
                Finding("I102", "error", "duplicate", "public.a_idx", "dup", "DROP INDEX …")]
    score = health_score(findings)
    stmts = [{"rank": i + 1, "query": f"SELECT {i} FROM orders", "calls": 10 * (i + 1), "total_ms": 100.0 / (i + 1),
              "mean_ms": 1.5, "p95_ms": 3.0, "share": 0.1, "queryid": 7 if i == 0 else 100 + i} for i in range(4)]
    return Report("analyze", sections=[
        Section("health", f"Health score {score['score']}/100", [Column("area", "area"), Column("summary", "summary")],
                [{"area": "Workload", "summary": "4 statements"}]),
        Section("score_by_area", "Score by area", [Column("area", "area")], []),
        Section("statements", "Top 4 of 4 statements by total time",
                [Column("rank", "#", "int"), Column("query", "statement", "query")], stmts),
        Section("by_table", "Time by table", [Column("table", "table"), Column("total_ms", "total", "ms")],
                [{"table": "public.orders", "total_ms": 120.0, "share": 0.9}, {"table": "public.x", "total_ms": 5.0}]),
        Section("tables", "Tables by rows read in sequential scans", [Column("table", "table")],
                [{"table": "public.orders"}]),
        Section("index_health", "Index health", [Column("code", "code"), Column("objects", "objects")],
                [{"code": "I102", "objects": "public.b_idx, public.a_idx"}, {"code": "Q101", "objects": ""}]),
    ], findings=findings, data={"score": score})


def test_analyze_page_gauge_charts_and_links():
    report = analyze_like_report()
    page = Page(render_to_string(report, "html"))
    text = page.all_text()
    assert f"{report.data['score']['score']}" in text and "of 100" in text
    assert page.count("svg", "gauge") == 1
    assert page.count("figure", "chart", data_bars="4", id="chart-time-by-statement") == 1
    assert page.count("figure", "chart", data_bars="2", id="chart-time-by-table") == 1
    assert page.count("rect", "bar") == 6
    # each area's deduction as a number, next to its bar
    assert "−12 / 20" in text and "−4 / 30" in text and "−4 / 20" in text
    # statement #1 links to its Q101; the seq-scan table's row to T201
    assert page.count("tr", id="statement-1") == 1
    flinks = [a["href"] for t, a in page.tags if t == "a" and "flink" in (a.get("class") or "")]
    assert "#finding-1-Q101" in flinks and "#finding-2-T201" in flinks and "#finding-3-I102" in flinks
    # index health: each code's row links to its findings (by code, and by the objects it lists)
    health = next(t for t in context(report)["tables"] if t.key == "index_health")
    assert [[i.anchor for i in found] for _, found in health.rows] == [["finding-3-I102"], ["finding-1-Q101"]]
    every_link_has_a_target(page)
    # the parts' sections are not repeated as generic tables
    assert page.count("section", id="section-statements") == 0 and page.count("section", id="section-tables") == 1


def test_recommend_page_cost_bars_and_budget():
    st_rows = [{"query": f"SELECT * FROM t WHERE c = {i}", "weight": 1, "cost_before": 1000.0 * (i + 1),
                "cost_after": 10.0, "saved_pct": 0.99} for i in range(3)]
    recs = [{"definition": "CREATE INDEX CONCURRENTLY t_c_idx ON public.t (c)", "size_bytes": 2 * 1048576,
             "saved_pct": 0.6, "benefit": 600.0, "statements": [{"weight": 2, "cost_before": 1000.0, "cost_after": 10.0}]},
            {"definition": "CREATE INDEX CONCURRENTLY t_d_idx ON public.t (d)", "size_bytes": 1048576,
             "saved_pct": 0.3, "benefit": 300.0, "statements": [
                 {"weight": 1, "cost_before": 3000.0, "cost_after": 10.0}, {"weight": 1, "cost_before": 2000.0, "cost_after": 10.0}]}]
    report = Report("indexes recommend", sections=[
        Section("recommendations", "2 recommended index(es)", [Column("index", "index")], [{"index": "t(c)"}]),
        Section("statements", "Statements (3 analysed)", [Column("query", "statement", "query")], st_rows)],
        data={"recommendations": recs, "workload": {"cost_before": 6000.0, "cost_after": 30.0, "saved_pct": 0.995,
                                                    "budget_bytes": 10 * 1048576}})
    page = Page(render_to_string(report, "html"))
    assert page.count("figure", id="chart-cost-by-statement", data_bars="6") == 1  # before and after per statement
    assert page.count("rect", "before") == 3 + 2 and page.count("rect", "after") == 3 + 2
    assert page.count("figure", id="chart-cost-by-index", data_bars="4") == 1
    assert "before 2,000" in text_of(page) and "after 20 · saves 60.0% of the workload · 2.0 MB" in text_of(page)
    assert "before 5,000" in text_of(page)
    assert page.count("figure", id="chart-budget", data_segments="2") == 1
    assert page.count("line", "budget") == 1
    text = page.all_text()
    assert "3.0 MB of 10.0 MB (30% used)" in text and "before 3,000" in text and "after 10 (−99.0%)" in text
    every_link_has_a_target(page)
