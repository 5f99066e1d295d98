"""JUnit XML, for CI systems that show test reports (GitLab, Jenkins, Azure, CircleCI): one test
suite per check code, one test case per finding, and a passing "no findings" case for a check
that found nothing.

A finding fails its test case when it is at or above the report's --fail-on (the gate records it)
or, without one, when it is a warning or an error; other findings pass with their text in
`system-out`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import IO

from perftool.report.model import Finding, Report, Severity

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str) -> str:
    return _INVALID_XML.sub("", str(value))


def _fails(f: Finding, fail_on: str | None) -> bool:
    if fail_on in ("info", "warning", "error"):
        return f.severity.rank >= Severity(fail_on).rank
    if fail_on in ("never", "none"):
        return False
    return f.severity.rank >= Severity.warning.rank


def render(report: Report, out: IO[str], *, color: bool = False, width: int | None = None) -> None:
    fail_on = (report.data.get("gate") or {}).get("fail_on")
    titles = {c["code"]: c.get("title", "") for c in report.data.get("checks") or [] if isinstance(c, dict)}
    by_code: dict[str, list[Finding]] = {code: [] for code in titles}
    for f in report.findings:
        by_code.setdefault(f.code, []).append(f)
    root = ET.Element("testsuites", name=_text(f"perftool {report.command}"))
    total = failures = 0
    for code in sorted(by_code):
        findings = by_code[code]
        suite = ET.SubElement(root, "testsuite", name=_text(f"{code} {titles.get(code) or ''}".strip()))
        suite_failures = 0
        if not findings:
            ET.SubElement(suite, "testcase", classname=f"perftool.{code}", name="no findings", time="0")
        for f in findings:
            case = ET.SubElement(suite, "testcase", classname=f"perftool.{code}", name=_text(f.object or f.title),
                                 time="0")
            body = "\n".join(x for x in (f.title, f.detail, ("fix:\n" + f.fix) if f.fix else "",
                                         f"docs/checks/{f.code}.md") if x)
            if f.evidence.get("file"):
                case.set("file", _text(str(f.evidence["file"])))
                if isinstance(f.evidence.get("line"), int):
                    case.set("line", str(f.evidence["line"]))
            if _fails(f, fail_on):
                failure = ET.SubElement(case, "failure", message=_text(f.title), type=f.severity.value)
                failure.text = _text(body)
                suite_failures += 1
            else:
                ET.SubElement(case, "system-out").text = _text(f"{f.severity.value}: {body}")
        cases = max(len(findings), 1)
        suite.set("tests", str(cases))
        suite.set("failures", str(suite_failures))
        suite.set("errors", "0")
        suite.set("skipped", "0")
        suite.set("time", "0")
        total += cases
        failures += suite_failures
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", "0")
    root.set("time", "0")
    ET.indent(root)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(root, encoding="unicode"))
    out.write("\n")
