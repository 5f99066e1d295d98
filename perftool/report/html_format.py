"""HTML: one self-contained page per Report — inline CSS, inline SVG charts, a few lines of inline
JS for the copy buttons, nothing fetched from anywhere (a Content-Security-Policy forbids it), readable
with JS off and printable.

Jinja2 renders it with autoescaping on for every template, so statement texts, identifiers, titles
and fix SQL are always text, never markup. The page is the generic part every command gets
(header, notes, sections as tables, findings with explanation, fix SQL and a copy button) plus the
parts of its command's page, if any: `PAGES` maps `report.command` to a module in
perftool/report/html_pages whose `parts(report, links)` returns `PagePart`s. Adding a command's
page is one module and one line here; the renderer and the other commands never change.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
from functools import lru_cache
from typing import IO, Any

import jinja2
from markupsafe import Markup

from perftool.report.html_pages import FindingLinks, PagePart, section_table
from perftool.report.model import Report

# report.command -> the module holding its page parts (`parts(report, links) -> list[PagePart]`)
PAGES: dict[str, str] = {
    "analyze": "perftool.report.html_pages.analyze",
    "explain": "perftool.report.html_pages.explain",
    "indexes recommend": "perftool.report.html_pages.recommend",
    "pool": "perftool.report.html_pages.pool",
    "replicas": "perftool.report.html_pages.replicas",
}

SEVERITY_LABEL = {"error": "error", "warning": "warning", "info": "info"}


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("perftool.report", "templates"),
        autoescape=True,  # every template, whatever its file name: no text is ever markup
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


@lru_cache(maxsize=1)
def _script() -> tuple[str, str]:
    """The inline script and its CSP hash: only this script may run, so even markup that escaped
    escaping could not execute."""
    text = environment().get_template("copy.js").render()
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return text, f"'sha256-{digest}'"


def page_parts(report: Report, links: FindingLinks) -> list[PagePart]:
    module_name = PAGES.get(report.command)
    if module_name is None:
        return []
    return list(importlib.import_module(module_name).parts(report, links))


def context(report: Report) -> dict[str, Any]:
    links = FindingLinks(report.findings)
    parts = page_parts(report, links)
    shown = {key for p in parts for key in p.sections}
    script, script_hash = _script()
    counts = {sev: sum(1 for f in report.findings if f.severity.value == sev) for sev in ("error", "warning", "info")}
    env = environment()
    return {
        "report": report,
        "parts": parts,
        "rendered_parts": [Markup(env.get_template(p.template).render(part=p, **p.context)) for p in parts],
        "tables": [section_table(s, links) for s in report.sections if s.key not in shown],
        "findings": links.items,
        "counts": counts,
        "script": script,
        "csp": (f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src {script_hash}; "
                "base-uri 'none'; form-action 'none'"),
    }


def render(report: Report, out: IO[str], *, color: bool = False, width: int | None = None) -> None:
    env = environment()
    out.write(env.get_template("report.html.j2").render(context(report)))
