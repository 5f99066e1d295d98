"""The change list: which indexes to create, drop or rebuild, and why.

Read from what perftool already writes with `--format json` — `indexes recommend` (its
`recommendations`), `indexes diff` / `indexes check` (I201 missing → create, I203 different → create
the declared form, I202 undeclared → drop only with `include_drops`), `indexes health` (I101
invalid → rebuild, I102 duplicate and I104 unused → drop) — or from a change list of our own
(YAML or JSON, docs/migrations.md):

```yaml
version: 1
changes:
  - {action: create, table: public.orders, columns: [customer_id, created_at DESC], where: "status = 'open'"}
  - {action: create, definition: "CREATE INDEX ON public.events (tenant_id)", partitions: [public.events_2026]}
  - {action: drop, index: public.orders_old_idx, why: unused for 90 days}
```

Every index definition becomes an `IndexSpec` (perftool/ddl.py); names are the input's or
`IndexSpec.name()`. Bad input raises InputError (exit 2) naming the entry.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from perftool.db.errors import InputError
from perftool.ddl import IndexSpec, KeyPart, ParsedCreate, parse_create, split_qualified
from perftool.report.values import human_bytes
from perftool.workload.sources import split_statements

ACTIONS = ("create", "drop", "rebuild")
LIST_VERSION = 1
CHANGE_KEYS = {"action", "table", "columns", "include", "where", "method", "unique", "name", "definition",
               "partitions", "index", "why"}
# what each key of a change holds: "str", "bool", "strs" (a list of strings) or "lines" (a string or strs)
CHANGE_TYPES = {"action": "str", "table": "str", "columns": "strs", "include": "strs", "where": "str", "method": "str",
                "unique": "bool", "name": "str", "definition": "str", "partitions": "strs", "index": "str",
                "why": "lines"}


@dataclass(frozen=True)
class Partition:
    """A partition of a partitioned table and the name of its index (attached to the parent's)."""

    schema: str
    table: str
    name: str


@dataclass
class Change:
    """One index change. `create`: build `spec` as `name` (on a partitioned table: ON ONLY the parent,
    then each of `partitions` concurrently and attached). `drop`: drop `schema.name` (`spec`, when
    known, lets the down step re-create it). `rebuild`: drop it and build `spec` again (an INVALID
    index). `why`: the comment lines saying why; `source`: where the change came from."""

    action: str
    schema: str
    table: str
    name: str
    spec: IndexSpec | None = None
    partitions: tuple[Partition, ...] = ()
    why: list[str] = field(default_factory=list)
    source: str = ""
    # the statements the index is for (indexes recommend): query, origin, estimated cost before/after
    statements: list[dict[str, Any]] = field(default_factory=list)
    size_bytes: int | None = None   # the index's estimated size (indexes recommend), for the build-time estimate

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def label(self) -> str:
        return f"{self.action} {self.qualified}"


@dataclass
class ChangeList:
    changes: list[Change]
    source: str = ""
    notes: list[str] = field(default_factory=list)


# --- reading ------------------------------------------------------------------------------------


def read_changes(path: str | Path, *, include_drops: bool = False, stdin_text: str | None = None) -> ChangeList:
    """The change list in FILE (`-`: stdin): perftool's JSON output or a change list (YAML/JSON)."""
    name = "stdin" if str(path) == "-" else str(path)
    if stdin_text is not None:
        text = stdin_text
    else:
        import sys

        try:
            text = sys.stdin.read() if str(path) == "-" else Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{name}: not UTF-8 text (byte {exc.start}): expected perftool's JSON output "
                             "or a YAML/JSON change list") from None
        except OSError as exc:
            raise InputError(f"cannot read {name}: {exc.strerror}") from None
    return changes_from_text(text, name, include_drops=include_drops)


def changes_from_text(text: str, name: str = "<input>", *, include_drops: bool = False) -> ChangeList:
    document = _load(text, name)
    if not isinstance(document, dict):
        raise InputError(f"{name}: expected a JSON/YAML object (perftool's --format json output or a change list)")
    _refuse_nul(document, name)
    command = document.get("command")
    if "changes" in document:
        out = from_change_list(document, name)
    elif command == "indexes recommend" or "recommendations" in document and command is None:
        out = from_recommend(document, name)
    elif isinstance(document.get("findings"), list):
        out = from_findings(document, name, include_drops=include_drops)
    else:
        raise InputError(f"{name}: neither a change list (changes:) nor the JSON of indexes recommend, "
                         "diff, check or health", "write it with --format json")
    return _dedupe(out)


def _refuse_nul(value: Any, name: str) -> None:
    """A NUL character anywhere in the document is an input error: no PostgreSQL name or SQL text can
    hold one (psycopg refuses to quote it), so it can only be a damaged file."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if "\x00" in v:
                shown = v.replace("\x00", "\\0")[:60]
                raise InputError(f"{name}: a NUL character in {shown!r}: no PostgreSQL name or SQL text can hold one")
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)


def _load(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or " ".join(str(exc).split())   # reader errors: several lines
        raise InputError(f"{name}{where}: neither JSON nor YAML ({problem})") from None


def from_recommend(document: dict[str, Any], name: str = "<recommend>") -> ChangeList:
    """`indexes recommend --format json`: each recommendation's `definition` (one CREATE INDEX, or the
    partitioned three-step form) with the statements it helps, its size and the cost it saves."""
    recs = document.get("recommendations")
    if not isinstance(recs, list):
        raise InputError(f"{name}: `recommendations` is not a list")
    changes = []
    for i, rec in enumerate(recs, 1):
        if not isinstance(rec, dict) or not isinstance(rec.get("definition"), str):
            raise InputError(f"{name}: recommendation {i} has no definition")
        change = _from_definition(rec["definition"], f"{name}: recommendation {i}")
        change.why = recommend_why(rec)
        listed = rec.get("statements")
        change.statements = [{"query": st["query"], "origin": str(st.get("origin") or ""),
                              "cost_before": _number(st.get("cost_before")),
                              "cost_after": _number(st.get("cost_after"))}
                             for st in (listed if isinstance(listed, list) else [])
                             if isinstance(st, dict) and isinstance(st.get("query"), str)]
        change.source = "indexes recommend"
        size = _number(rec.get("size_bytes"))
        change.size_bytes = int(size) if size is not None and size >= 0 else None
        changes.append(change)
    return ChangeList(changes, name)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def recommend_why(rec: dict[str, Any]) -> list[str]:
    lines = ["recommended by perftool indexes recommend"
             + ("" if rec.get("verified", True) else " (heuristic, not verified with HypoPG)")]
    facts = []
    if isinstance(rec.get("size_bytes"), (int, float)) and not isinstance(rec["size_bytes"], bool):
        facts.append(f"estimated size {human_bytes(rec['size_bytes'])}")
    if isinstance(rec.get("saved_pct"), (int, float)) and not isinstance(rec["saved_pct"], bool):
        facts.append(f"saves {rec['saved_pct']:.1%} of the workload's estimated cost")
    if facts:
        lines.append("; ".join(facts))
    listed = rec.get("statements")
    statements = [s for s in listed if isinstance(s, dict)] if isinstance(listed, list) else []
    if statements:
        lines.append(f"helps {len(statements)} statement(s):")
    for s in statements[:5]:
        query = " ".join(str(s.get("query", "")).split())
        cost = ""
        if s.get("cost_before") is not None and s.get("cost_after") is not None:
            cost = f" cost {s['cost_before']} → {s['cost_after']}"
        lines.append(f"  {s.get('origin') or 'statement'}:{cost} {query[:100]}")
    if len(statements) > 5:
        lines.append(f"  … and {len(statements) - 5} more")
    return lines


# the health / drift codes the generator reads, and what each becomes
CODE_ACTIONS = {"I101": "rebuild", "I102": "drop", "I104": "drop", "I201": "create", "I202": "drop",
                "I203": "create"}


def from_findings(document: dict[str, Any], name: str = "<findings>", *, include_drops: bool = False) -> ChangeList:
    """The findings of `indexes health`, `diff` or `check` (JSON): see CODE_ACTIONS. An undeclared
    index (I202) is dropped only with `include_drops`; with it, I203 also drops the actual index."""
    changes: list[Change] = []
    notes: list[str] = []
    skipped_drops = 0
    for i, f in enumerate(document.get("findings") or [], 1):
        if not isinstance(f, dict) or not isinstance(f.get("code"), str) or f["code"] not in CODE_ACTIONS:
            continue
        code, where = f["code"], f"{name}: finding {i} ({f.get('code')})"
        why = [f"{code} {f.get('title', '')}".strip()]
        if f.get("detail"):
            why.append(" ".join(str(f["detail"]).split())[:300])
        evidence: dict[str, Any] = f["evidence"] if isinstance(f.get("evidence"), dict) else {}
        fix = str(f.get("fix") or "")
        if code in ("I201", "I203"):
            create = _first_create(fix)
            if create is None:
                notes.append(f"{where}: no CREATE INDEX in its fix, skipped")
                continue
            change = _from_definition(create, where)
            change.why, change.source = why, code
            changes.append(change)
            if code == "I203" and include_drops and f.get("object"):
                changes.append(_drop(str(f["object"]), evidence, why, code, where))
            continue
        if code == "I202" and not include_drops:
            skipped_drops += 1
            continue
        if "DROP INDEX" not in fix.upper():
            notes.append(f"{where}: its fix is not a DROP INDEX (a constraint's index?), skipped")
            continue
        drop = _drop(str(f.get("object") or ""), evidence, why, code, where)
        if code == "I101":
            definition = evidence.get("definition")
            if drop.name.endswith(("_ccnew", "_ccold")) or "CREATE" not in fix.upper() or not definition:
                changes.append(drop)     # a REINDEX CONCURRENTLY leftover, or a partitioned index: drop only
                continue
            drop.action = "rebuild"
        changes.append(drop)
    if skipped_drops:
        notes.append(f"{skipped_drops} undeclared index(es) (I202) not dropped: pass --include-drops to drop them")
    return ChangeList(changes, name, notes)


def _drop(obj: str, evidence: dict[str, Any], why: list[str], code: str, where: str) -> Change:
    schema, _, index = obj.rpartition(".")
    if not index:
        raise InputError(f"{where}: no index named in `object`")
    table = str(evidence.get("table") or "").rpartition(".")[2]
    spec = None
    definition = evidence.get("definition")
    if isinstance(definition, str):
        try:
            spec = parse_create(definition, schema or "public").spec
        except ValueError:
            spec = None
    if isinstance(evidence.get("size_bytes"), (int, float)) and not isinstance(evidence["size_bytes"], bool):
        why = [*why, f"size {human_bytes(evidence['size_bytes'])}"]
    return Change("drop", schema or "public", table or (spec.table if spec else ""), _unquote(index), spec,
                  why=why, source=code)


def _unquote(name: str) -> str:
    return name[1:-1].replace('""', '"') if len(name) >= 2 and name[0] == name[-1] == '"' else name


def _first_create(text: str) -> str | None:
    for _, stmt in split_statements(text):
        body = "\n".join(ln for ln in stmt.splitlines() if not ln.lstrip().startswith("--")).strip()
        if body.upper().startswith("CREATE"):
            return body
    return None


def _from_definition(text: str, where: str, partitions: list[str] | None = None) -> Change:
    """A create from CREATE INDEX text: one statement, or ON ONLY + per-partition CREATE + ATTACH."""
    statements = [s for _, s in split_statements(text)]
    creates: list[ParsedCreate] = []
    for stmt in statements:
        body = "\n".join(ln for ln in stmt.splitlines() if not ln.lstrip().startswith("--")).strip()
        if re.match(r"ALTER\s+INDEX\b.*\bATTACH\s+PARTITION\b", body, re.IGNORECASE | re.DOTALL):
            continue        # the partitioned form: the attaches follow from the creates
        try:
            creates.append(parse_create(body))
        except ValueError as exc:
            raise InputError(f"{where}: {exc}: {body[:120]}") from None
    if not creates:
        raise InputError(f"{where}: no CREATE INDEX statement in {text[:120]!r}")
    head = creates[0]
    spec = head.spec
    name = head.name or spec.name()
    parts = tuple(Partition(c.spec.schema, c.spec.table, c.name or c.spec.name()) for c in creates[1:])
    if partitions:
        parts += tuple(partition(spec, p, where) for p in partitions)
    return Change("create", spec.schema, spec.table, name, spec, parts)


def partition(spec: IndexSpec, qualified: str, where: str = "partitions") -> Partition:
    """A partition given as [schema.]table: its index is the parent's spec on it, named by name()."""
    schema, table = _qualified(qualified, where, spec.schema)
    child = replace(spec, schema=schema, table=table)
    return Partition(child.schema, child.table, child.name())


def from_change_list(document: dict[str, Any], name: str = "<change list>") -> ChangeList:
    version = document.get("version", LIST_VERSION)
    if version != LIST_VERSION:
        raise InputError(f"{name}: change list version {version!r} (this perftool reads version {LIST_VERSION})")
    items = document.get("changes")
    if not isinstance(items, list):
        raise InputError(f"{name}: `changes` must be a list")
    out = []
    for i, item in enumerate(items, 1):
        where = f"{name}: change {i}"
        if not isinstance(item, dict):
            raise InputError(f"{where}: expected a mapping")
        unknown = set(item) - CHANGE_KEYS
        if unknown:
            raise InputError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}",
                             f"allowed: {', '.join(sorted(CHANGE_KEYS))}")
        _check_types(item, where)
        action = item.get("action", "create")
        if action not in ACTIONS:
            raise InputError(f"{where}: action must be one of {', '.join(ACTIONS)}, not {action!r}")
        why = item.get("why") or []
        why = [str(why)] if not isinstance(why, list) else [str(w) for w in why]
        partitions = item.get("partitions") or []
        if not isinstance(partitions, list) or not all(isinstance(p, str) for p in partitions):
            raise InputError(f"{where}: partitions must be a list of [schema.]table names")
        if action == "drop" and "index" in item:
            schema, idx = _qualified(str(item["index"]), f"{where}: index")
            table = _qualified(str(item["table"]), f"{where}: table")[1] if item.get("table") else ""
            out.append(Change("drop", schema, table, idx, why=why, source="change list"))
            continue
        change = _from_definition(str(item["definition"]), where, partitions) if item.get("definition") \
            else _from_columns(item, where, partitions)
        change.action, change.why, change.source = action, why, "change list"
        out.append(change)
    return ChangeList(out, name)


def _check_types(item: dict[str, Any], where: str) -> None:
    for key, kind in CHANGE_TYPES.items():
        value = item.get(key)
        if value is None:
            continue
        ok = {"str": isinstance(value, str), "bool": isinstance(value, bool),
              "strs": isinstance(value, list) and all(isinstance(v, str) for v in value),
              "lines": isinstance(value, str) or isinstance(value, list) and all(isinstance(v, str) for v in value),
              }[kind]
        if not ok:
            what = {"str": "a string", "bool": "true or false", "strs": "a list of strings",
                    "lines": "a string or a list of strings"}[kind]
            raise InputError(f"{where}: {key} must be {what}")


def _from_columns(item: dict[str, Any], where: str, partitions: list[str]) -> Change:
    table = item.get("table")
    columns = item.get("columns")
    if not isinstance(table, str) or not table:
        raise InputError(f"{where}: needs `table` (schema.table) and `columns`, or a `definition`")
    if not isinstance(columns, list) or not columns:
        raise InputError(f"{where}: `columns` must be a non-empty list")
    schema, tab = _qualified(table, f"{where}: table")
    probe = "CREATE INDEX ON x (" + ", ".join(str(c) for c in columns) + ")"
    if item.get("where"):
        probe += " WHERE " + str(item["where"])
    if len(split_statements(probe)) != 1:
        raise InputError(f"{where}: columns and where must not end the statement (a `;` outside quotes)")
    try:
        parts: tuple[KeyPart, ...] = parse_create(probe).spec.parts
    except ValueError as exc:
        raise InputError(f"{where}: columns/where: {exc}") from None
    include = item.get("include") or []
    if not isinstance(include, list):
        raise InputError(f"{where}: include must be a list of columns")
    spec = IndexSpec(schema, tab, parts, tuple(str(c) for c in include), item.get("where"),
                     str(item.get("method") or "btree"), bool(item.get("unique")))
    name = str(item.get("name") or spec.name())
    return Change("create", spec.schema, spec.table, name, spec, tuple(partition(spec, p, where) for p in partitions))


def _qualified(text: str, where: str, default_schema: str = "public") -> tuple[str, str]:
    try:
        return split_qualified(text, default_schema)
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None


def _dedupe(changes: ChangeList) -> ChangeList:
    """One change per index name (the first); the rest noted."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for c in changes.changes:
        key = (c.schema, c.name)
        if key in seen:
            changes.notes.append(f"{c.label}: listed twice, the first one kept")
            continue
        seen.add(key)
        kept.append(c)
    changes.changes = kept
    return changes


def recommended_changes(dsn: str, statements_from: dict[str, Any] | None = None, options: Any = None) -> ChangeList:
    """Run the advisor (`indexes recommend`, default options, pg_stat_statements unless
    `statements_from` names files/queries/logs) and read its recommendations as creates."""
    from perftool.advisor.pipeline import AdvisorOptions, recommend_report

    report = recommend_report(dsn, statements_from or {}, options or AdvisorOptions())
    return from_recommend(json.loads(json.dumps(report.as_dict())), "indexes recommend")


def resolve_partitions(conn: Any, changes: list[Change]) -> list[str]:
    """Give each create on a partitioned table that lists no partitions the table's partitions (from
    the catalog), so it is built ON ONLY the parent, each partition concurrently, attached. Returns
    notes; a partition that is partitioned again is an InputError (not supported yet)."""
    from perftool.db.sql import fetch_all

    wanted = [c for c in changes if c.action in ("create", "rebuild") and c.spec is not None and not c.partitions]
    if not wanted:
        return []
    pairs = sorted({(c.schema, c.table) for c in wanted})
    found: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    for row in fetch_all(conn, "migration_partitions", {"schemas": [p[0] for p in pairs],
                                                        "tables": [p[1] for p in pairs]}):
        parts = found.setdefault((row["schema_name"], row["table_name"]), [])
        if row["partition_name"] is not None:
            parts.append((row["partition_schema"], row["partition_name"], row["kind"]))
    notes = []
    for c in wanted:
        if (c.schema, c.table) not in found:
            continue
        parts = found[(c.schema, c.table)]
        deeper = [f"{s}.{t}" for s, t, kind in parts if kind == "p"]
        if deeper:
            raise InputError(f"{c.schema}.{c.table}: partitions {', '.join(deeper)} are partitioned again",
                             "index each level yourself (ON ONLY, then attach): not generated yet")
        assert c.spec is not None
        c.partitions = tuple(partition(c.spec, _quote(s, t)) for s, t, _ in parts)
        notes.append(f"{c.schema}.{c.table} is partitioned: {len(parts)} partition(s) indexed concurrently, "
                     "then attached")
    return notes


def _quote(schema: str, table: str) -> str:
    return ".".join('"' + p.replace('"', '""') + '"' for p in (schema, table))
