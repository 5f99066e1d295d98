"""--format html in a real headless Chromium (the system's `chromium`, driven over the DevTools
protocol by tests/browser.py): the demo report loads with no console error and no network request,
shows the score, the charts and every finding, has working copy buttons, reads with JS off, takes a
screenshot and prints to PDF with the score on page 1. And a hostile table name through a real
`perftool analyze --format html` renders as text."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import time

import psycopg
import pytest

from perftool.analyze.run import analyze_report
from perftool.report.render import render
from tests.browser import Browser, BrowserError, chromium_binary

HOSTILE_TABLE = "<script>alert(1)</script>"
HOSTILE_INDEX = "<img src=x onerror=alert(2)>"


@pytest.fixture(scope="module")
def browser():
    if chromium_binary() is None:
        pytest.skip("chromium is not installed and could not be: run `make browser` (.ci/install-browser, apt "
                    "package chromium) to run the HTML report's browser tests")
    try:
        b = Browser()
    except BrowserError as exc:
        pytest.skip(f"chromium is installed but does not start here: {exc}")
    yield b
    b.close()


@pytest.fixture(scope="module")
def demo_page(demo_db, tmp_path_factory):
    report = analyze_report(demo_db["dsn"])
    path = tmp_path_factory.mktemp("html") / "demo-report.html"
    with open(path, "w", encoding="utf-8") as fh:
        render(report, "html", fh)
    return report, path


def test_demo_report_in_a_real_browser(browser, demo_page, tmp_path):
    report, path = demo_page
    since = len(browser.events)
    browser.open(path, width=1280, height=900)
    events = browser.events[since:]
    requests = [e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"]
    assert requests == [path.resolve().as_uri()]  # the file itself, nothing else
    problems = [p for p in Browser.console_problems_of(events)]
    assert problems == []
    assert browser.evaluate("document.getElementById('score-value').textContent") == str(report.data["score"]["score"])
    assert browser.evaluate("document.querySelector('svg.gauge').getAttribute('aria-label')").startswith(
        f"Health score {report.data['score']['score']} of 100")
    statements, by_table = report.section("statements"), report.section("by_table")
    assert statements.rows and by_table.rows
    assert browser.evaluate("document.querySelectorAll('#chart-time-by-statement rect.bar').length") == len(statements.rows)
    assert browser.evaluate("document.querySelectorAll('#chart-time-by-table rect.bar').length") == len(by_table.rows)
    codes = browser.evaluate("Array.from(document.querySelectorAll('article.finding')).map(a => a.dataset.code)")
    assert codes == [f.code for f in report.findings] and len(set(codes)) > 3
    # every code is on the page as text too, and every area with findings shows its deduction
    text = browser.evaluate("document.body.innerText")
    for f in report.findings:
        assert f.code in text
    for area, a in report.data["score"]["areas"].items():
        assert f"−{a['deduction']} / {a['cap']}" in text, area
    # the copy buttons: one per fix, shown by the script, and a click answers
    with_fix = sum(1 for f in report.findings if f.fix)
    visible = "Array.from(document.querySelectorAll('button.copy')).filter(b => !b.hidden && b.offsetWidth > 0).length"
    assert browser.evaluate(visible) == with_fix > 0
    browser.evaluate("document.querySelector('button.copy').click()")
    label = "Copy"
    for _ in range(40):
        label = browser.evaluate("document.querySelector('button.copy').textContent")
        if label != "Copy":
            break
        time.sleep(0.05)
    assert label in ("Copied", "Press Ctrl+C")
    # in-page links all have a target
    assert browser.evaluate("Array.from(document.querySelectorAll('a[href^=\"#\"]'))"
                            ".filter(a => !document.getElementById(a.getAttribute('href').slice(1))).length") == 0
    png = browser.screenshot(full_page=True)
    (tmp_path / "demo.png").write_bytes(png)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width == 1280 and height > 1500  # the whole page, longer than one screen
    assert len(png) > 50_000  # charts and text, not a blank page
    assert Browser.console_problems_of(browser.events[since:]) == []


def test_demo_report_prints_with_the_score_on_page_one(browser, demo_page, tmp_path):
    report, path = demo_page
    browser.open(path)
    pdf = browser.pdf()
    assert pdf.startswith(b"%PDF-")
    target = tmp_path / "demo.pdf"
    target.write_bytes(pdf)
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: run `make browser`; the PDF was made but not read")
    first = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-layout", str(target), "-"], capture_output=True,
                           text=True, check=True).stdout
    assert "Health score" in first and "of 100" in first
    assert str(report.data["score"]["score"]) in first.split()
    # the print stylesheet drops the buttons; the findings are in the PDF
    everything = subprocess.run(["pdftotext", str(target), "-"], capture_output=True, text=True, check=True).stdout
    assert "Copy" not in everything.split()
    assert all(f.code in everything for f in report.findings)


def test_demo_report_reads_with_javascript_off(browser, demo_page):
    report, path = demo_page
    browser.call("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        browser.open(path)
        assert browser.evaluate("document.documentElement.className") == ""  # our script did not run
        fixes = browser.evaluate("Array.from(document.querySelectorAll('pre.fix')).map(p => p.innerText)")
        assert fixes == [f.fix for f in report.findings if f.fix]
        # the copy buttons stay hidden (they need the script); the score is there
        assert browser.evaluate("Array.from(document.querySelectorAll('button.copy')).filter(b => b.offsetWidth > 0)"
                                ".length") == 0
        assert browser.evaluate("document.getElementById('score-value').textContent") == str(report.data["score"]["score"])
    finally:
        browser.call("Emulation.setScriptExecutionDisabled", {"value": False})


@pytest.fixture
def hostile_db(fresh_db):
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(f'CREATE TABLE "{HOSTILE_TABLE}" (id int PRIMARY KEY, v int, note text)')
        conn.execute(f'INSERT INTO "{HOSTILE_TABLE}" SELECT g, g % 100, \'n\' FROM generate_series(1, 20000) g')
        conn.execute(f'CREATE INDEX "{HOSTILE_INDEX}" ON "{HOSTILE_TABLE}" (note)')
        conn.execute(f'CREATE INDEX "dup {HOSTILE_INDEX}" ON "{HOSTILE_TABLE}" (note)')
        conn.execute(f'ANALYZE "{HOSTILE_TABLE}"')
        for i in range(30):
            # pg_stat_statements keeps identifiers (constants become $n): the alias is the hostile text
            conn.execute(f'SELECT count(*) AS "</code><script>alert(3)</script>" FROM "{HOSTILE_TABLE}" WHERE v = %s',
                         (i,))
    return fresh_db


def perftool(*args):
    proc = subprocess.run([sys.executable, "-m", "perftool", *args], capture_output=True, text=True,
                          env={**os.environ}, timeout=180)
    return proc.returncode, proc.stdout, proc.stderr


def test_hostile_identifiers_through_perftool_analyze(hostile_db, tmp_path):
    target = tmp_path / "hostile.html"
    code, out, err = perftool("analyze", "--dsn", hostile_db, "--format", "html", "-o", str(target))
    assert code == 0, err
    html = target.read_text()
    assert "<script>alert" not in html and "<img" not in html
    assert html.count("<script>") == 1  # the page's own
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the statement, the table
    assert "&lt;img src=x onerror=alert(2)&gt;" in html     # the index, in findings and their fix SQL
    assert "alert(3)" in html
    assert "DROP INDEX" in html  # the duplicate's fix, with the hostile name quoted inside it


def test_the_index_gate_and_health_render_html_too(fresh_db, tmp_path):
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE no_key (v int)")
    for args in (("indexes", "health"), ("indexes", "--check", "--fail-on", "never")):
        target = tmp_path / "gate.html"
        code, out, err = perftool(*args, "--dsn", fresh_db, "--format", "html", "-o", str(target))
        assert code == 0, err
        html = target.read_text()
        assert html.startswith("<!DOCTYPE html>") and 'data-code="T102"' in html and "public.no_key" in html


def test_hostile_identifiers_render_as_text_in_the_browser(hostile_db, browser, tmp_path):
    target = tmp_path / "hostile.html"
    code, _, err = perftool("analyze", "--dsn", hostile_db, "--format", "html", "-o", str(target))
    assert code == 0, err
    since = len(browser.events)
    browser.open(target)
    events = browser.events[since:]
    assert not [e for e in events if e["method"] == "Page.javascriptDialogOpening"]  # no alert() ran
    assert Browser.console_problems_of(events) == []
    assert browser.evaluate("document.querySelectorAll('img, script').length") == 1  # our script only
    text = browser.evaluate("document.body.innerText")
    assert HOSTILE_TABLE in text and HOSTILE_INDEX in text and "</code><script>alert(3)</script>" in text


def test_recommend_page_in_a_real_browser(browser, demo_db, tmp_path):
    target = tmp_path / "recommend.html"
    code, _, err = perftool("indexes", "recommend", "--dsn", demo_db["dsn"], "--budget", "50MB", "--format", "html",
                            "-o", str(target))
    assert code == 0, err
    since = len(browser.events)
    browser.open(target)
    events = browser.events[since:]
    assert [e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"] == [
        target.resolve().as_uri()]
    assert Browser.console_problems_of(events) == []
    count = browser.evaluate
    recommended = count("document.querySelectorAll('#section-recommendations tbody tr').length")
    statements = count("document.querySelectorAll('#section-statements tbody tr').length")
    assert recommended > 0 and statements > 0
    # one bar per index, one segment per index against the budget line, before and after per statement
    assert count("document.querySelectorAll('#chart-cost-by-index rect.bar.before').length") == recommended
    assert count("document.querySelectorAll('#chart-cost-by-index rect.bar.after').length") == recommended
    assert count("document.querySelectorAll('#chart-budget rect.segment').length") == 2 * recommended  # bar + legend
    assert count("document.querySelectorAll('#chart-budget line.budget').length") == 1
    assert count("document.querySelectorAll('#chart-cost-by-statement rect.bar.before').length") == min(25, statements)
    assert count("document.querySelectorAll('#chart-cost-by-statement rect.bar.after').length") == min(25, statements)
    text = count("document.body.innerText")
    assert "of 50.0 MB" in text and "Estimated workload cost" in text
    assert count("Array.from(document.querySelectorAll('article.finding')).filter(a => a.dataset.code === 'A101')"
                 ".length") == recommended


def open_clean(browser, target):
    """Open the page; assert it fetched only itself and logged no console problem."""
    since = len(browser.events)
    browser.open(target)
    events = browser.events[since:]
    assert [e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"] == [
        target.resolve().as_uri()]
    assert Browser.console_problems_of(events) == []


def plan_node_count(dsn: str, statement: str) -> int:
    """The plan's nodes as PostgreSQL itself gives them (EXPLAIN FORMAT JSON, not run)."""
    with psycopg.connect(dsn) as conn:
        doc = conn.execute("EXPLAIN (FORMAT JSON) " + statement).fetchone()[0]

    def nodes(plan: dict) -> int:
        return 1 + sum(nodes(child) for child in plan.get("Plans", []))

    return nodes(doc[0]["Plan"])


def test_explain_page_in_a_real_browser(browser, demo_db, tmp_path):
    statement = ("SELECT j.id, c.name FROM jobs j JOIN customers c ON c.id = j.customer_id "
                 "WHERE j.status = 'on_hold' AND j.priority = 1 ORDER BY j.due_date")
    target = tmp_path / "explain.html"
    code, _, err = perftool("explain", statement, "--dsn", demo_db["dsn"], "--no-proof", "--format", "html",
                            "-o", str(target))
    assert code in (0, 1), err  # 1: tips at --fail-on; the page is written all the same
    open_clean(browser, target)
    count = browser.evaluate
    nodes = plan_node_count(demo_db["dsn"], statement)
    assert nodes >= 3
    assert count("document.querySelectorAll('table.plan-tree tr.node').length") == nodes
    assert count("document.querySelectorAll('table.plan-tree tr.node svg.exclusive rect.own').length") == nodes
    # every tip about a node (all P1xx but JIT P109 and planning P110) is linked from its node's row
    node_tips = count("Array.from(document.querySelectorAll('article.finding')).filter(a => "
                      "a.dataset.code.startsWith('P') && !['P109', 'P110'].includes(a.dataset.code)).length")
    assert node_tips > 0
    assert count("document.querySelectorAll('table.plan-tree a.tip').length") == node_tips
    assert count("Array.from(document.querySelectorAll('a.tip')).every(a => document.getElementById("
                 "a.getAttribute('href').slice(1)) !== null)")
    assert " ms · " in count("document.querySelector('table.plan-tree .own-text').textContent")


def test_pool_page_in_a_real_browser(browser, sandbox, tmp_path):
    target = tmp_path / "pool.html"
    code, _, err = perftool("pool", "--dsn", sandbox.url(),
                            "--no-pgbouncer", "--format", "html", "-o", str(target))
    assert code in (0, 1), err  # 1: findings at --fail-on, the page is written all the same
    open_clean(browser, target)
    count = browser.evaluate
    assert count("document.querySelectorAll('#meter-connections line.threshold').length") == 2
    assert count("document.getElementById('meter-connections').dataset.level") in ("ok", "warning", "critical")
    assert count("document.querySelectorAll('#lock-tree').length") == 1


def test_replicas_page_of_a_primary_without_standbys(browser, sandbox, tmp_path):
    target = tmp_path / "replicas.html"
    code, _, err = perftool("replicas", "--dsn", sandbox.url(), "--format", "html", "-o", str(target))
    assert code in (0, 1), err
    open_clean(browser, target)
    assert browser.evaluate("document.querySelectorAll('#replicas').length") == 1
    badges = browser.evaluate("document.querySelectorAll('#replicas span.badge.verdict').length")
    rows = browser.evaluate("document.querySelectorAll('#replicas tr.replica').length")
    assert badges == rows  # one verdict badge per replica (none here: "No replica seen.")
