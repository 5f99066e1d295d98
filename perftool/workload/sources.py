"""Where the advisor's statements come from, each with a weight.

- pg_stat_statements (default): normalised texts with `$n` parameters, `calls` and total time
  (via `perftool.workload.stats.collect_statements`; perftool's own statements are left out);
- a SQL file (`--from FILE`) or standard input (`-`): statements separated by `;` (quotes, dollar
  quotes and comments respected), weight 1 per occurrence;
- `--query "SQL"`: one statement;
- PostgreSQL server logs (`--log FILE`) written with `log_min_duration_statement`: `duration: …
  ms  statement: …` and `execute <name>: …` entries (multi-line statements included), with the
  `DETAIL:  parameters: $1 = '…'` line substituted back in, weighted by occurrences and time.

Every loader returns `WorkloadStatement`s; identical texts are merged (calls and time added).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from perftool.db.errors import InputError

if TYPE_CHECKING:
    import psycopg


@dataclass
class WorkloadStatement:
    text: str
    calls: float = 1.0
    total_ms: float = 0.0
    rows: float = 0.0                 # rows returned/affected in total (pg_stat_statements)
    source: str = "query"             # pg_stat_statements, file, stdin, query, log
    origin: str = ""                  # where exactly: file:line, queryid:…
    queryid: int | None = None

    @property
    def rows_per_call(self) -> float | None:
        return self.rows / self.calls if self.calls and self.rows else None


# --- splitting SQL text ------------------------------------------------------------------------------

_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


def split_statements(text: str) -> list[tuple[int, str]]:
    """(line number, statement) for each `;`-separated statement; quotes, dollar quotes, comments kept.

    The line is that of the statement's first character outside comments (a comment before it, or one
    after the previous `;` on that statement's line, is kept in the text but does not move the line).
    `E'…'` strings honour backslash escapes; pieces holding nothing but comments are dropped."""
    out: list[tuple[int, str]] = []
    i, n, start, line = 0, len(text), 0, 1
    code, code_line = False, 1        # has the current piece anything outside comments, and from which line
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
            i += 1
        elif ch == "-" and text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif ch == "/" and text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    line += text[i] == "\n"
                    i += 1
        elif ch in ("'", '"'):
            if not code:
                code, code_line = True, line
            backslash = ch == "'" and i > 0 and text[i - 1] in "Ee" and not (
                i > 1 and (text[i - 2].isalnum() or text[i - 2] in "_$"))
            i += 1
            while i < n:
                if backslash and text[i] == "\\" and i + 1 < n:
                    line += text[i + 1] == "\n"
                    i += 2
                    continue
                if text[i] == ch:
                    if i + 1 < n and text[i + 1] == ch:
                        i += 2
                        continue
                    i += 1
                    break
                line += text[i] == "\n"
                i += 1
        elif ch == "$":
            if not code:
                code, code_line = True, line
            m = _DOLLAR.match(text, i)
            if m and not (i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_")):
                tag = m.group(0)
                end = text.find(tag, m.end())
                end = n if end < 0 else end + len(tag)
                line += text.count("\n", i, end)
                i = end
            else:
                i += 1
        elif ch == ";":
            if code:
                out.append((code_line, text[start:i].strip()))
            i += 1
            start, code = i, False
        else:
            if not code and not ch.isspace():
                code, code_line = True, line
            i += 1
    if code:
        out.append((code_line, text[start:].strip()))
    return out


_QUOTED = re.compile(r"""(?<![\w$])[Ee]'(?:[^'\\]|\\.|'')*'?|'(?:[^']|'')*'?|"(?:[^"]|"")*"?"""
                     r"""|(?<![\w$])(\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$).*?(?:\1|\Z)""", re.S)
_SPACE = re.compile(r"\s+")


def _merge_key(text: str) -> str:
    """The statement with leading comments, a final `;`, and case and runs of white space outside quotes
    folded; string literals, quoted identifiers and dollar-quoted bodies are kept as written."""
    from perftool.workload.statement_text import strip_leading_comments

    body = strip_leading_comments(text or "").strip().rstrip(";").strip()
    parts, pos = [], 0
    for m in _QUOTED.finditer(body):
        parts += [_SPACE.sub(" ", body[pos:m.start()]).lower(), m.group(0)]
        pos = m.end()
    parts.append(_SPACE.sub(" ", body[pos:]).lower())
    return "".join(parts)


def merge(statements: list[WorkloadStatement]) -> list[WorkloadStatement]:
    """Identical texts (white space and case outside quotes aside) become one entry, weights added.
    Literals and quoted identifiers count as written: `'PAID'` and `'paid'` are different statements."""
    merged: dict[str, WorkloadStatement] = {}
    for s in statements:
        key = _merge_key(s.text)
        have = merged.get(key)
        if have is None:
            merged[key] = WorkloadStatement(text=s.text, calls=s.calls, total_ms=s.total_ms, rows=s.rows,
                                            source=s.source, origin=s.origin, queryid=s.queryid)
        else:
            have.calls += s.calls
            have.total_ms += s.total_ms
            have.rows += s.rows
    return list(merged.values())


# --- loaders -----------------------------------------------------------------------------------------

def from_text(text: str, source: str = "stdin", name: str = "stdin") -> list[WorkloadStatement]:
    return [WorkloadStatement(text=body, source=source, origin=f"{name}:{line}")
            for line, body in split_statements(text)]


def from_file(path: str | Path) -> list[WorkloadStatement]:
    if str(path) == "-":
        return from_text(sys.stdin.read(), "stdin", "stdin")
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror or exc}") from None
    return from_text(text, "file", str(p))


def from_queries(queries: list[str]) -> list[WorkloadStatement]:
    out = []
    for i, q in enumerate(queries, 1):
        parts = split_statements(q)
        for _line, body in parts or [(1, q.strip())]:
            if body:
                out.append(WorkloadStatement(text=body, source="query", origin=f"--query {i}"))
    return out


def from_stat_statements(conn: psycopg.Connection, *, min_calls: int = 1) -> list[WorkloadStatement]:
    """Top-level statements of this database from pg_stat_statements (checked to be installed)."""
    from perftool.db.connect import require_pg_stat_statements, server_info
    from perftool.workload.stats import collect_statements

    require_pg_stat_statements(server_info(conn))
    out = []
    for s in collect_statements(conn, min_calls=min_calls):
        if not s.toplevel or not s.query:
            continue
        out.append(WorkloadStatement(text=s.query.strip().rstrip(";").strip(), calls=float(s.calls),
                                     total_ms=float(s.total_ms), rows=float(s.rows), source="pg_stat_statements",
                                     origin=f"queryid:{s.queryid}" if s.queryid is not None else "pg_stat_statements",
                                     queryid=s.queryid))
    return out


# --- PostgreSQL logs ---------------------------------------------------------------------------------

_LEVELS = ("LOG", "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG1", "DEBUG2", "DEBUG3", "DEBUG4", "DEBUG5",
           "DETAIL", "HINT", "CONTEXT", "STATEMENT", "FATAL", "PANIC", "QUERY", "LOCATION")
_ENTRY = re.compile(r"^(?P<prefix>.*?)\b(?P<level>" + "|".join(_LEVELS) + r"):  (?P<message>.*)$")
_DURATION = re.compile(
    r"^duration: (?P<ms>[0-9.]+) ms\s+(?P<kind>statement|execute [^:]*|bind [^:]*|parse [^:]*): (?P<text>.*)$", re.S)
_PARAM_VALUE = re.compile(r"\$(\d+) = ('(?:[^']|'')*'|NULL)")


def _substitute(text: str, detail: str) -> str:
    """Put `DETAIL:  parameters: $1 = '5', $2 = NULL` values back into the statement. A logged value
    is data from the application's users: it is read back to the string it was and quoted again by
    psycopg (`E'…'` when it holds a backslash), which reads the same under either setting of
    standard_conforming_strings — never pasted in as the log wrote it."""
    from psycopg import sql

    values: dict[int, str] = {}
    for m in _PARAM_VALUE.finditer(detail):
        raw = m.group(2)
        value = raw[1:-1].replace("''", "'")
        if raw == "NULL":
            values[int(m.group(1))] = "NULL"
        elif "\x00" not in value:    # a NUL cannot be sent at all: that $n stays a parameter
            values[int(m.group(1))] = sql.Literal(value).as_string(None).strip()
    if not values:
        return text
    return re.sub(r"(?<![\w$])\$(\d+)(?!\d)", lambda m: values.get(int(m.group(1)), m.group(0)), text)


def _log_entries(lines) -> list[tuple[str, str, int]]:
    """(level, message, line number) entries: continuation lines (tab-indented or not starting a new
    entry) are joined to the entry before them. JSON log lines (`jsonlog`) are read too."""
    entries: list[tuple[str, str, int]] = []
    for number, raw in enumerate(lines, 1):
        line = raw.rstrip("\n")
        if line.startswith("{") and line.endswith("}"):
            try:
                rec = json.loads(line)
            except ValueError:
                rec = None
            if isinstance(rec, dict) and "message" in rec:
                entries.append((str(rec.get("error_severity", "LOG")), str(rec["message"]), number))
                if rec.get("detail"):
                    entries.append(("DETAIL", str(rec["detail"]), number))
                continue
        # the server writes each further line of a message after one tab: never a new entry
        m = None if line.startswith("\t") and entries else _ENTRY.match(line)
        if m:
            entries.append((m["level"], m["message"], number))
        elif entries:
            level, message, start = entries[-1]
            entries[-1] = (level, message + "\n" + (line[1:] if line.startswith("\t") else line), start)
    return entries


def from_log(path: str | Path) -> list[WorkloadStatement]:
    """Statements logged with their duration (log_min_duration_statement)."""
    p = Path(path)
    try:
        with p.open(encoding="utf-8", errors="replace") as fh:
            entries = _log_entries(fh)
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror or exc}") from None
    out: list[WorkloadStatement] = []
    for i, (level, message, number) in enumerate(entries):
        if level != "LOG":
            continue
        m = _DURATION.match(message)
        if not m or m["kind"].startswith(("bind", "parse")):
            continue
        text = m["text"].strip()
        nxt = entries[i + 1] if i + 1 < len(entries) else None
        if nxt and nxt[0] == "DETAIL" and nxt[1].startswith("parameters:"):
            text = _substitute(text, nxt[1])
        out.append(WorkloadStatement(text=text.rstrip(";").strip(), calls=1.0, total_ms=float(m["ms"]), source="log",
                                     origin=f"{p}:{number}"))
    if not out:
        raise InputError(f"{p}: no statements with durations found",
                         "log them with log_min_duration_statement = 0, or a threshold in ms")
    return out
