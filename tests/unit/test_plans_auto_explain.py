"""auto_explain entries in csvlog and jsonlog files (the stderr form is read from the sandbox's own
log in tests/integration/test_explain_log.py); hostile log text never crashes the reader."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from perftool.db.errors import PerftoolError
from perftool.plans.auto_explain import read_log
from perftool.plans.json_plan import parse_json
from perftool.plans.parse import parse_plan
from perftool.plans.text_plan import strip_psql

CORPUS = Path(__file__).parent.parent / "fixtures" / "plans"
JSON_PLAN = json.loads((CORPUS / "nested_loop.json").read_text())[0]
TEXT_PLAN = strip_psql((CORPUS / "nested_loop.txt").read_text())
QUERY = "SELECT *\nFROM a JOIN b ON a.id = b.ref\nWHERE a.x = 1"


def messages() -> list[str]:
    as_json = dict(JSON_PLAN, **{"Query Text": QUERY})
    text = "Query Text: " + QUERY + "\nQuery Parameters: $1 = 'x'\n" + TEXT_PLAN.strip("\n")
    return ["duration: 12.500 ms  plan:\n" + json.dumps(as_json, indent=2), "duration: 3.250 ms  plan:\n" + text,
            "duration: 1.000 ms  statement: SELECT 1"]


def csvlog() -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for i, message in enumerate(messages()):
        writer.writerow(["2026-12-01 22:23:28.255 UTC", "app", "shop", 10880 + i, "[local]", "abc.2a80", i + 1,
                         "SELECT", "2026-12-01 22:23:20 UTC", "3/7", 0, "LOG", "00000", message, "", "", "", "", "",
                         "", "", "", "psql", "client backend", "", 0])
    return out.getvalue()


def jsonlog() -> str:
    return "\n".join(json.dumps({"timestamp": "2026-12-01 22:23:28.255 UTC", "user": "app", "dbname": "shop",
                                 "pid": 10880, "error_severity": "LOG", "message": m}) for m in messages()) + "\n"


def check(read) -> None:
    assert [e.form for e in read.entries] == ["json", "text"] and not read.skipped
    assert [e.duration_ms for e in read.entries] == [12.5, 3.25]
    assert all(e.query == QUERY and e.database == "shop" for e in read.entries)
    assert read.entries[1].document["Query Parameters"] == "$1 = 'x'"
    tree = [n.label() for n in parse_json(read.entries[0].document).nodes()]
    assert tree == [n.label() for n in parse_json(read.entries[1].document, source="text").nodes()]
    assert tree == [n.label() for n in parse_plan((CORPUS / "nested_loop.json").read_text()).nodes()]


def test_csvlog():
    read = read_log(csvlog())
    check(read)
    assert read.entries[1].line > read.entries[0].line > 0


def test_jsonlog():
    check(read_log(jsonlog()))


def test_stderr_with_any_prefix_and_tabs():
    lines = []
    for m in messages():
        first, *rest = m.split("\n")
        lines.append(f"Dec  1 22:23:28 host postgres[10880]: [3-1] app@shop LOG:  {first}")
        lines += ["\t" + r for r in rest]
    lines.append("2026-12-01 22:23:29 UTC [1] LOG:  checkpoint starting: time")
    read = read_log("\n".join(lines))
    assert [e.form for e in read.entries] == ["json", "text"]
    assert read.entries[1].query == QUERY and read.entries[1].line == 2 + len(messages()[0].split("\n")) - 1


def test_an_unreadable_entry_is_skipped_with_a_note():
    read = read_log("x LOG:  duration: 1.0 ms  plan:\n\t{not json\n" + "y LOG:  duration: 2.0 ms  plan:\n\tnothing\n")
    assert read.entries == [] and len(read.skipped) == 2 and read.skipped[0].startswith("line 1:")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["LOG:  duration: 1.5 ms  plan:", "\t{", "\t}", '\t"Plan": {}', "\tSeq Scan",
                                 "\t  ->  Hash  (cost=1..2 rows=3 width=4)", "\tQuery Text: x", "\x00", '"a,b"',
                                 "2026-12-01 22:23:28 UTC,", "{\"message\": 3}", "\t(cost=1", ""]) | st.text(),
                max_size=30))
def test_hostile_logs_never_crash(parts):
    text = "\n".join(parts)
    try:
        read = read_log(text)
    except PerftoolError:
        return
    for e in read.entries:
        try:
            parse_json(e.document, source=e.form)
        except PerftoolError:
            pass
