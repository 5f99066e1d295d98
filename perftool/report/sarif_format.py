"""SARIF 2.1.0 (OASIS Static Analysis Results Interchange Format), for GitHub code scanning and
other SARIF viewers: one run, a rule per check code, a result per finding.

A finding that names a file (`evidence.file` / `evidence.line`: index-set declarations) gets that
physical location; the others point at the first index-set file of the run when there is one
(code scanning needs a file to show a result) and always carry the database object as a logical
location. Fingerprints are stable over runs: code + object.
"""

from __future__ import annotations

import hashlib
import json
from typing import IO, Any

from perftool.report.model import Finding, Report

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def _rules(report: Report) -> list[dict[str, Any]]:
    known: dict[str, dict[str, Any]] = {}
    for c in report.data.get("checks") or []:
        if isinstance(c, dict) and c.get("code"):
            known[c["code"]] = c
    for f in report.findings:
        known.setdefault(f.code, {"code": f.code, "title": f.title, "severity": f.severity.value, "summary": ""})
    rules = []
    for code in sorted(known):
        c = known[code]
        rule: dict[str, Any] = {
            "id": code,
            "name": "".join(w.capitalize() for w in str(c.get("title", code)).replace("-", " ").split()) or code,
            "shortDescription": {"text": str(c.get("title") or code)},
            "help": {"text": f"See docs/checks/{code}.md in perftool's documentation."},
            "defaultConfiguration": {"level": LEVEL.get(str(c.get("severity")), "warning")},
            "properties": {"docs": f"docs/checks/{code}.md"},
        }
        if c.get("summary"):
            rule["fullDescription"] = {"text": str(c["summary"])}
        rules.append(rule)
    return rules


def _location(f: Finding, fallback_file: str | None) -> dict[str, Any]:
    loc: dict[str, Any] = {}
    file = f.evidence.get("file") or fallback_file
    if file:
        physical: dict[str, Any] = {"artifactLocation": {"uri": str(file).replace("\\", "/")}}
        line = f.evidence.get("line") if f.evidence.get("file") else None
        physical["region"] = {"startLine": int(line) if isinstance(line, int) and line > 0 else 1}
        loc["physicalLocation"] = physical
    if f.object:
        loc["logicalLocations"] = [{"fullyQualifiedName": f.object, "kind": "resource"}]
    return loc


def _message(f: Finding) -> str:
    text = f.title + (f" [{f.object}]" if f.object else "")
    if f.detail:
        text += "\n" + f.detail
    if f.fix:
        text += "\nFix:\n" + f.fix
    return text


def sarif_document(report: Report) -> dict[str, Any]:
    from perftool.report.model import _plain

    rules = _rules(report)
    index = {r["id"]: i for i, r in enumerate(rules)}
    sets = (report.data.get("gate") or {}).get("index_sets") or report.data.get("index_sets") or []
    fallback = sets[0] if sets else None
    results = []
    for f in report.findings:
        result: dict[str, Any] = {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": LEVEL[f.severity.value],
            "message": {"text": _message(f)},
            "partialFingerprints": {
                "perftoolObject/v1": hashlib.sha256(f"{f.code}\0{f.object}".encode()).hexdigest()},
            "properties": {"object": f.object, "fix": f.fix, "evidence": _plain(f.evidence)},
        }
        loc = _location(f, fallback)
        if loc:
            result["locations"] = [loc]
        results.append(result)
    end = str(report.generated_at).replace("+00:00", "Z")
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "perftool", "version": str(report.perftool), "rules": rules}},
            "invocations": [{"executionSuccessful": True, "endTimeUtc": end,
                             "commandLine": f"perftool {report.command}"}],
            "results": results,
            "properties": {"command": report.command, "server": _plain(report.server), "notes": list(report.notes)},
        }],
    }


def render(report: Report, out: IO[str], *, color: bool = False, width: int | None = None) -> None:
    json.dump(sarif_document(report), out, indent=2, ensure_ascii=False, default=str)
    out.write("\n")
