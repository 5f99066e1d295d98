"""The CI outputs without a server: SARIF validated against the official SARIF 2.1.0 schema
(tests/schemas, a copy trimmed of its descriptions), GitHub workflow commands with the toolkit's
escaping, JUnit XML parsed back with xml.etree, the terse gate summary, baselines and ignores."""

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from perftool.db.errors import InputError
from perftool.health.index_sets import load_index_set_text
from perftool.health.reports import (
    baseline_document,
    load_baseline,
    suppress_ignored,
    write_baseline,
)
from perftool.report import summary_format
from perftool.report.ignores import IgnoreEntry
from perftool.report.model import Finding, Report
from perftool.report.render import FORMATS, render_to_string

SARIF_SCHEMA = json.loads((Path(__file__).parents[1] / "schemas" / "sarif-schema-2.1.0.json").read_text())
CHECKS = [{"code": "I102", "title": "duplicate index", "severity": "error", "summary": "Two indexes store the same."},
          {"code": "I104", "title": "unused index", "severity": "warning", "summary": "No query uses it."},
          {"code": "I201", "title": "declared index missing", "severity": "error", "summary": "Declared, absent."},
          {"code": "T102", "title": "table without a primary key", "severity": "warning", "summary": "No key."}]


def gate_report(fail_on="error", findings=None) -> Report:
    findings = findings if findings is not None else [
        Finding("I201", "error", "declared index missing: public.jobs(status, created_at)",
                "public.jobs(status, created_at)", "index_sets/demo.yaml:21: declares ...",
                'CREATE INDEX CONCURRENTLY "jobs_status_created_at_idx" ON "public"."jobs" ("status", "created_at");',
                {"file": "index_sets/demo.yaml", "line": 21}),
        Finding("I102", "error", "duplicate index public.users_email_idx: same as users_email_key",
                "public.users_email_idx", "100% <dup> & \"quoted\", commas: a,b\nsecond line \x00\x07",
                'DROP INDEX CONCURRENTLY IF EXISTS "public"."users_email_idx";', {"size_bytes": 16384}),
        Finding("I104", "warning", "unused index public.audit_log_payload_hash_idx (11.3 MB)",
                "public.audit_log_payload_hash_idx", "scanned 0 times", "DROP INDEX ...;", {"idx_scan": {"p": 0}}),
        Finding("T102", "info", "table public.audit_log has no primary key ü", "public.audit_log", "", ""),
    ]
    r = Report(command="indexes check", server={"host": "db", "port": 5432, "database": "shop", "version": "15.4"},
               findings=findings, notes=["index sets: index_sets/demo.yaml"], generated_at="2026-01-01T00:00:00+00:00",
               perftool="0.0.0")
    code = r.exit_code(fail_on)
    r.data = {"gate": {"passed": code == 0, "fail_on": fail_on, "error": 2, "warning": 1, "info": 1, "ignored": 1,
                       "baselined": 0, "checks": 15, "index_sets": ["index_sets/demo.yaml"]},
              "checks": CHECKS}
    return r


def test_the_three_ci_formats_are_registered():
    assert {"sarif", "github", "junit"} <= set(FORMATS)


def validate_sarif(doc):
    jsonschema.Draft4Validator(SARIF_SCHEMA, format_checker=jsonschema.FormatChecker()).validate(doc)


def test_sarif_validates_against_the_official_schema():
    doc = json.loads(render_to_string(gate_report(), "sarif"))
    validate_sarif(doc)
    assert doc["version"] == "2.1.0"
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["I102", "I104", "I201", "T102"]
    assert rules[0]["defaultConfiguration"]["level"] == "error"
    results = run["results"]
    assert [r["level"] for r in results] == ["error", "error", "warning", "note"]
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
    located = results[0]["locations"][0]
    assert located["physicalLocation"] == {"artifactLocation": {"uri": "index_sets/demo.yaml"}, "region": {"startLine": 21}}
    # findings without a file point at the run's index set file and name the object logically
    assert results[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "index_sets/demo.yaml"
    assert results[1]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "public.users_email_idx"
    assert "DROP INDEX CONCURRENTLY" in results[1]["properties"]["fix"]
    # fingerprints: stable for the same code + object, different otherwise
    again = json.loads(render_to_string(gate_report(), "sarif"))["runs"][0]["results"]
    assert [r["partialFingerprints"] for r in again] == [r["partialFingerprints"] for r in results]
    assert len({json.dumps(r["partialFingerprints"]) for r in results}) == len(results)


def test_sarif_of_other_reports_and_of_no_findings_validates():
    empty = gate_report(findings=[])
    doc = json.loads(render_to_string(empty, "sarif"))
    validate_sarif(doc)
    assert doc["runs"][0]["results"] == [] and len(doc["runs"][0]["tool"]["driver"]["rules"]) == 4
    plain = Report(command="queries", findings=[Finding("Q101", "warning", "slow", "queryid:1")])
    doc = json.loads(render_to_string(plain, "sarif"))
    validate_sarif(doc)
    assert "physicalLocation" not in doc["runs"][0]["results"][0]["locations"][0]


def test_the_schema_catches_a_broken_log():
    doc = json.loads(render_to_string(gate_report(), "sarif"))
    doc["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        validate_sarif(doc)


def _unescape(text):
    return text.replace("%0A", "\n").replace("%0D", "\r").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")


def test_github_annotations():
    lines = render_to_string(gate_report(), "github").splitlines()
    assert len(lines) == 5
    assert lines[0].startswith("::error file=index_sets/demo.yaml,line=21,title=I201 declared index missing%3A ")
    assert lines[1].startswith("::error title=I102 duplicate index public.users_email_idx%3A same as users_email_key::")
    assert lines[2].startswith("::warning ") and lines[3].startswith("::notice ")
    message = lines[1].split("::", 2)[2]
    assert "\n" not in message and "%0A" in message
    assert _unescape(message).startswith('[public.users_email_idx] 100% <dup> & "quoted", commas: a,b\nsecond line')
    assert "fix:\nDROP INDEX CONCURRENTLY" in _unescape(message)
    assert lines[4] == "perftool indexes check: 2 error, 1 warning, 1 info; index sets: index_sets/demo.yaml"


def test_junit_parses_and_counts():
    text = render_to_string(gate_report(), "junit")
    root = ET.fromstring(text)
    assert root.tag == "testsuites" and root.get("name") == "perftool indexes check"
    suites = {s.get("name").split()[0]: s for s in root.findall("testsuite")}
    assert set(suites) == {"I102", "I104", "I201", "T102"}
    # --fail-on error: the two errors fail, the warning and the info pass with their text in system-out
    assert root.get("failures") == "2" and root.get("tests") == "4"
    dup = suites["I102"].find("testcase")
    assert dup.get("classname") == "perftool.I102" and dup.get("name") == "public.users_email_idx"
    failure = dup.find("failure")
    assert failure.get("type") == "error" and "100% <dup> & \"quoted\"" in failure.text
    assert "\x00" not in failure.text and "\x07" not in failure.text
    assert suites["I201"].find("testcase").get("file") == "index_sets/demo.yaml"
    assert suites["I104"].find("testcase/failure") is None
    assert "warning: unused index" in suites["I104"].find("testcase/system-out").text
    strict = ET.fromstring(render_to_string(gate_report("warning"), "junit"))
    assert strict.get("failures") == "3"


def test_junit_passing_case_for_a_clean_check():
    root = ET.fromstring(render_to_string(gate_report(findings=[]), "junit"))
    assert root.get("failures") == "0" and root.get("tests") == "4"
    assert {c.get("name") for c in root.iter("testcase")} == {"no findings"}


def test_gate_summary_is_one_line_when_all_is_well():
    out = io.StringIO()
    summary_format.render(gate_report(findings=[]), out)
    assert out.getvalue().count("\n") == 1
    assert out.getvalue().startswith("perftool indexes --check: ok — 0 errors, 0 warnings, 0 info")


def test_gate_summary_lists_findings_when_failing():
    out = io.StringIO()
    summary_format.render(gate_report(), out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("ERROR    I201  public.jobs(status, created_at): declared index missing")
    assert lines[1].startswith("         fix: CREATE INDEX CONCURRENTLY")
    assert any(ln.startswith("WARNING  I104") for ln in lines)
    assert lines[-1].startswith("perftool indexes --check: FAILED — 2 errors, 1 warning, 1 info (fail on error)")
    assert "1 ignored" in lines[-1]


def test_baseline_round_trip_and_errors(tmp_path):
    path = tmp_path / "baseline.json"
    write_baseline(str(path), gate_report().findings)
    assert ("I102", "public.users_email_idx") in load_baseline(str(path))
    assert baseline_document([])["findings"] == []
    with pytest.raises(InputError, match="does not exist"):
        load_baseline(str(tmp_path / "nope.json"))
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "perftool_baseline": 1,\n  "findings": [,]\n}')
    with pytest.raises(InputError, match=r"bad.json:3: invalid JSON"):
        load_baseline(str(bad))
    bad.write_text('{"findings": []}')
    with pytest.raises(InputError, match="not a perftool baseline"):
        load_baseline(str(bad))
    bad.write_text('{"perftool_baseline": 1, "findings": [{"code": "I102"}]}')
    with pytest.raises(InputError, match="entry 1 needs code and object"):
        load_baseline(str(bad))


def test_ignores_from_the_index_set_and_the_config():
    s = load_index_set_text("ignore:\n  - {code: 'I1*', object: public.users_*, reason: legacy}\n", "s.yaml")
    kept, dropped = suppress_ignored(gate_report().findings, s,
                                     [IgnoreEntry("T102", reason="append-only", origin="perftool.yaml")])
    assert [f.code for f in kept] == ["I201", "I104"]
    assert dropped[0] == {"code": "I102", "object": "public.users_email_idx", "severity": "error",
                          "title": "duplicate index public.users_email_idx: same as users_email_key",
                          "reason": "legacy", "by": "s.yaml:2"}
    assert dropped[1]["by"] == "perftool.yaml"


