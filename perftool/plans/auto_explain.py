"""auto_explain entries in a server log → EXPLAIN documents (`perftool explain --log FILE`).

auto_explain writes each plan as one log message, `duration: 12.3 ms  plan:` followed by the plan
in `auto_explain.log_format` (json or text; the text one starts with `Query Text:` and, PG16+,
`Query Parameters:`). What carries the message depends on `log_destination`:

- stderr (and a `logging_collector` file of it): the first line has `log_line_prefix` (whatever
  it is) before the message; the message's further lines each start with a tab;
- csvlog: one CSV record per message, the message is the 14th field (newlines inside quotes);
- jsonlog (PG15+): one JSON object per line, the message under `message`.

`read_log(text)` finds every entry and returns `Logged` records: the line it starts on, the
duration, the statement text, and the plan as the JSON document EXPLAIN (FORMAT JSON) would have
given (the text form through `plans.text_plan`), which `plans.parse` reads like `--plan` input.
An entry that is not a readable plan is skipped with a note, never an exception.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

from perftool.db.errors import InputError
from perftool.plans.json_plan import PlanError
from perftool.plans.text_plan import parse_text_document

_HEAD = re.compile(r"duration: (\d+(?:\.\d+)?) ms\s+plan:\s*(.*)$")
_CSV_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? [A-Za-z0-9+:-]+,")
_COST = re.compile(r"\(cost=\d")
_CSV_MESSAGE = 13            # csvlog's message column (PG 13-18)
_CSV_DATABASE = 2


@dataclass
class Logged:
    line: int                       # where the entry starts in the file (1-based)
    duration_ms: float
    form: str                       # json or text (auto_explain.log_format)
    document: Any                   # the EXPLAIN (FORMAT JSON) document
    query: str | None = None
    database: str | None = None


@dataclass
class LogRead:
    entries: list[Logged] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)     # entries that were not readable plans, and why


def read_log(text: str) -> LogRead:
    """Every auto_explain entry of a server log (stderr, csvlog or jsonlog)."""
    text = text.replace("\r\n", "\n").lstrip("\ufeff")
    first = next((ln for ln in text.split("\n") if ln.strip()), "")
    if first.lstrip().startswith("{"):
        messages = _jsonlog(text)
    elif _CSV_START.match(first):
        messages = _csvlog(text)
    else:
        messages = _stderr(text)
    out = LogRead()
    for line, database, message in messages:
        head = _HEAD.search(message.split("\n", 1)[0])
        if head is None:
            continue
        rest = message.split("\n", 1)[1] if "\n" in message else ""
        body = (head.group(2) + "\n" + rest).strip("\n")
        try:
            out.entries.append(_entry(line, float(head.group(1)), _dedent(body), database))
        except PlanError as exc:
            out.skipped.append(f"line {line}: {exc.message}")
    return out


def _entry(line: int, duration: float, body: str, database: str | None) -> Logged:
    if body.lstrip().startswith("{"):
        try:
            doc = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise PlanError(f"not an EXPLAIN plan: invalid JSON ({str(exc).splitlines()[0][:120]})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("Plan"), dict):
            raise PlanError("not an EXPLAIN plan: no \"Plan\" object")
        logged_text = doc.get("Query Text")
        return Logged(line, duration, "json", doc, logged_text if isinstance(logged_text, str) else None, database)
    lines = body.split("\n")
    start = next((i for i, ln in enumerate(lines) if _COST.search(ln)), None)
    if start is None:
        raise PlanError("not an EXPLAIN plan: no plan node found")
    preamble = lines[:start]
    query: list[str] = []
    params: list[str] = []
    target = query
    for ln in preamble:
        stripped = ln.strip()
        if stripped.startswith("Query Text:"):
            target = query
            ln = stripped[len("Query Text:"):].lstrip()
        elif stripped.startswith("Query Parameters:"):
            target = params
            ln = stripped[len("Query Parameters:"):].lstrip()
        target.append(ln)
    try:
        doc = parse_text_document("\n".join(lines[start:]))
    except PlanError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as exc:
        raise PlanError(f"not an EXPLAIN plan perftool can read: {type(exc).__name__}: {str(exc)[:120]}") from None
    text = "\n".join(query).strip() or None
    if text is not None:
        doc["Query Text"] = text
    if params:
        doc["Query Parameters"] = "\n".join(params).strip()
    return Logged(line, duration, "text", doc, text, database)


def _dedent(body: str) -> str:
    """The message's lines without the tab stderr puts before each continuation line."""
    lines = body.split("\n")
    if len(lines) > 1 and all(ln.startswith("\t") or not ln for ln in lines[1:]):
        lines = [lines[0]] + [ln[1:] for ln in lines[1:]]
    return "\n".join(lines)


def _stderr(text: str) -> list[tuple[int, str | None, str]]:
    out: list[tuple[int, str | None, str]] = []
    current: list[str] | None = None
    start = 0
    for number, line in enumerate(text.split("\n"), 1):
        if current is not None and line.startswith("\t"):
            current.append(line)
            continue
        if current is not None:
            out.append((start, None, "\n".join(current)))
            current = None
        head = _HEAD.search(line)
        if head is not None:
            current, start = [line[head.start():]], number
    if current is not None:
        out.append((start, None, "\n".join(current)))
    return out


def _csvlog(text: str) -> list[tuple[int, str | None, str]]:
    out: list[tuple[int, str | None, str]] = []
    reader = csv.reader(io.StringIO(text))
    try:
        line = 1
        for record in reader:
            if len(record) > _CSV_MESSAGE:
                out.append((line, record[_CSV_DATABASE] or None, record[_CSV_MESSAGE]))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(f"not a csvlog file perftool can read: {exc}") from None
    return out


def _jsonlog(text: str) -> list[tuple[int, str | None, str]]:
    out: list[tuple[int, str | None, str]] = []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("message"), str):
            db = record.get("dbname")
            out.append((number, db if isinstance(db, str) else None, record["message"]))
    return out
