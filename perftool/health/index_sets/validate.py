"""Validation: one file's YAML (`yaml_lines.Map`/`Seq`, which know their lines) into an IndexSet,
every problem an InputError `file:line: message` (exit 2), with a hint where one helps.

This reader is the one validator. The JSON Schema for editors, index_sets/index-set.schema.json
(`yaml-language-server: $schema=…`), is derived from the same key tables (`json_schema()`, written
by `make docs`; a test compares the file): the reader checks more than a schema can (identifiers,
the column syntax, an index declared twice) and says where, so it is not replaced by one —
jsonschema is not a runtime dependency and its errors carry no line numbers."""

from __future__ import annotations

import difflib
from typing import Any, NoReturn

from perftool.db.errors import InputError
from perftool.health.index_sets.compare import declared_identity
from perftool.health.index_sets.model import DeclaredColumn, DeclaredIndex, IgnoreEntry, IndexSet, Source
from perftool.health.index_sets.syntax import IDENT_ONLY, QUALIFIED, fold_ident, parse_column, strip_outer_parens
from perftool.health.index_sets.yaml_lines import Map, Seq, kind

SET_VERSION = 1
METHODS = ("btree", "hash", "gist", "spgist", "gin", "brin")
ORDERS = ("asc", "desc")
NULLS = ("first", "last")

_TEXT: dict[str, Any] = {"type": "string", "minLength": 1}

# Every key of each mapping, with its JSON Schema (the reader allows exactly these keys).
TOP_FIELDS: dict[str, dict[str, Any]] = {
    "version": {"const": SET_VERSION, "description": f"Format version ({SET_VERSION})."},
    "description": {"type": "string"},
    "schema": {**_TEXT, "description": "Schema of the tables written without one (default public)."},
    "complete": {"type": "boolean",
                 "description": "The file lists every table of its schemas: indexes on other tables are undeclared "
                                "(I202)."},
    "tables": {"type": ["object", "null"], "description": "table or schema.table -> the indexes it should have.",
               "additionalProperties": {"type": ["array", "null"], "items": {"$ref": "#/$defs/index"}}},
    "ignore": {"type": ["array", "null"], "items": {"$ref": "#/$defs/ignore"}},
}
INDEX_FIELDS: dict[str, dict[str, Any]] = {
    "columns": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/column"}},
    "name": {**_TEXT, "description": "Optional: indexes are compared by definition; a name helps tell 'different' "
                                     "(I203) from 'missing' (I201)."},
    "method": {"enum": list(METHODS)},
    "unique": {"type": "boolean"},
    "primary": {"type": "boolean", "description": "The primary key's index (implies unique)."},
    "where": {**_TEXT, "description": "Partial-index predicate (SQL)."},
    "include": {"type": "array", "items": _TEXT},
    "comment": {"type": "string"},
}
COLUMN_FIELDS: dict[str, dict[str, Any]] = {
    "column": _TEXT,
    "expression": _TEXT,
    "order": {"enum": [*ORDERS, *(o.upper() for o in ORDERS)]},
    "nulls": {"enum": [*NULLS, *(n.upper() for n in NULLS)]},
    "opclass": _TEXT,
    "collation": _TEXT,
}
IGNORE_FIELDS: dict[str, dict[str, Any]] = {
    "code": {**_TEXT, "description": "Finding code or glob (I104, T1*)."},
    "object": {**_TEXT, "description": "Finding object or glob (public.jobs_priority_idx, archive.*); default *."},
    "reason": _TEXT,
}
TOP_KEYS = set(TOP_FIELDS)
INDEX_KEYS = set(INDEX_FIELDS)
COLUMN_KEYS = set(COLUMN_FIELDS)
IGNORE_KEYS = set(IGNORE_FIELDS)


def one_line(text: str) -> str:
    """A message as one line on stderr: line breaks in names the file quotes written as \\n."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def json_schema() -> dict[str, Any]:
    """The JSON Schema of an index set file (index_sets/index-set.schema.json), for editors."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "perftool index set",
        "description": "The indexes a database should have, checked by `perftool indexes --check` and `perftool "
                       "indexes diff` (docs/commands/indexes.md). perftool validates files itself with file:line "
                       "messages; this schema is for editors (yaml-language-server: "
                       "$schema=index-set.schema.json).",
        "type": "object",
        "additionalProperties": False,
        "properties": TOP_FIELDS,
        "$defs": {
            "index": {"type": "object", "additionalProperties": False, "required": ["columns"],
                      "properties": INDEX_FIELDS},
            "column": {"oneOf": [
                {**_TEXT, "description": "name | \"Name\" | expression, then optional COLLATE x, opclass (…_ops), "
                                         "ASC|DESC, NULLS FIRST|LAST."},
                {"type": "object", "additionalProperties": False, "properties": COLUMN_FIELDS,
                 "oneOf": [{"required": ["column"]}, {"required": ["expression"]}]},
            ]},
            "ignore": {"type": "object", "additionalProperties": False, "required": ["code", "reason"],
                       "properties": IGNORE_FIELDS},
        },
    }


class Reader:
    """Validates one file's parsed YAML into an IndexSet, with file:line errors."""

    def __init__(self, path: str):
        self.path = path

    def fail(self, line: int, message: str, hint: str | None = None) -> NoReturn:
        raise InputError(f"{self.path}:{line}: {one_line(message)}", hint)

    def keys(self, mapping: Map, allowed: set[str], what: str) -> None:
        for key in mapping:
            if key not in allowed:
                close = difflib.get_close_matches(key, sorted(allowed), n=1)
                self.fail(mapping.line_of(key), f"unknown key {key!r} in {what}",
                          f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(sorted(allowed))}")

    def text(self, mapping: Map, key: str, what: str, *, required: bool = False) -> str | None:
        value = mapping.get(key)
        if value is None:
            if required:
                self.fail(mapping.line, f"{what} needs {key}:")
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.fail(mapping.line_of(key), f"{key}: must be text, not {kind(value)}")
        text = str(value).strip()
        if not text:
            self.fail(mapping.line_of(key), f"{key}: must not be empty")
        return text

    def flag(self, mapping: Map, key: str) -> bool:
        value = mapping.get(key, False)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.fail(mapping.line_of(key), f"{key}: must be true or false, not {value!r}")
        return value

    def ident(self, text: str, line: int, what: str) -> str:
        if not IDENT_ONLY.match(text):
            self.fail(line, f"{what} {text!r} is not a valid name")
        return fold_ident(text)

    def read(self, doc: Any) -> IndexSet:
        if doc is None:
            self.fail(1, "the file is empty", "an index set starts with tables: (docs/commands/indexes.md)")
        if not isinstance(doc, Map):
            self.fail(getattr(doc, "line", 1), f"an index set must be a mapping (version:, schema:, tables:), "
                                               f"not {kind(doc)}")
        self.keys(doc, TOP_KEYS, "the index set")
        version = doc.get("version", SET_VERSION)
        if version != SET_VERSION or isinstance(version, bool):
            self.fail(doc.line_of("version"), f"version must be {SET_VERSION}, not {version!r}")
        schema_text = self.text(doc, "schema", "the index set") or "public"
        schema = self.ident(schema_text, doc.line_of("schema"), "schema")
        complete = self.flag(doc, "complete")
        out = IndexSet(files=[self.path])
        tables = doc.get("tables")
        if tables is None:
            tables = Map()
        if not isinstance(tables, Map):
            self.fail(doc.line_of("tables"), f"tables: must map table names to lists of indexes, not {kind(tables)}")
        schemas = {schema}
        for key, entries in tables.items():
            line = tables.line_of(key)
            m = QUALIFIED.match(key.strip())
            if not m:
                self.fail(line, f"table name {key!r} is not valid (table or schema.table)")
            t_schema = fold_ident(m["schema"]) if m["schema"] else schema
            t_name = fold_ident(m["name"])
            schemas.add(t_schema)
            if (t_schema, t_name) in out.tables:
                first = out.tables[(t_schema, t_name)].line
                self.fail(line, f"table {t_schema}.{t_name} is listed twice (also line {first})")
            out.tables[(t_schema, t_name)] = Source(self.path, line)
            if entries is None:
                continue
            if not isinstance(entries, Seq):
                self.fail(line, f"table {key}: must be a list of indexes (- columns: [...]), not {kind(entries)}")
            for entry, entry_line in zip(entries, entries.item_lines, strict=True):
                out.indexes.append(self.index(entry, entry_line, t_schema, t_name))
        if complete:
            for s in sorted(schemas):
                out.complete_schemas[s] = Source(self.path, doc.line_of("complete"))
        out.ignore = self.ignores(doc)
        no_twins(out.indexes)
        return out

    def index(self, entry: Any, line: int, schema: str, table: str) -> DeclaredIndex:
        if not isinstance(entry, Map):
            self.fail(line, f"an index of {table} must be a mapping with columns:, not {kind(entry)}")
        self.keys(entry, INDEX_KEYS, f"an index of {table}")
        cols = entry.get("columns")
        if not isinstance(cols, Seq) or not cols:
            self.fail(entry.line_of("columns"), f"an index of {table} needs columns: [a non-empty list]")
        columns = [self.column(c, ln) for c, ln in zip(cols, cols.item_lines, strict=True)]
        method = (self.text(entry, "method", "an index") or "btree").lower()
        if method not in METHODS:
            self.fail(entry.line_of("method"), f"method {method!r} is not one of {', '.join(METHODS)}")
        name = self.text(entry, "name", "an index")
        if name is not None:
            name = self.ident(name, entry.line_of("name"), "index name")
        primary = self.flag(entry, "primary")
        include = entry.get("include") or []
        if not isinstance(include, list) or not all(isinstance(c, str) and c.strip() for c in include):
            self.fail(entry.line_of("include"), "include: must be a list of column names")
        include_names = [self.ident(c.strip(), entry.line_of("include"), "column") for c in include]
        where = self.text(entry, "where", "an index")
        self.text(entry, "comment", "an index")
        return DeclaredIndex(schema=schema, table=table, columns=columns, name=name, method=method,
                             unique=self.flag(entry, "unique") or primary, primary=primary, where=where,
                             include=include_names, source=Source(self.path, line))

    def column(self, value: Any, line: int) -> DeclaredColumn:
        if isinstance(value, str):
            try:
                return parse_column(value)
            except ValueError as exc:
                self.fail(line, str(exc))
        if not isinstance(value, Map):
            self.fail(line, f"a column must be a name, an expression or a mapping (column:, order:), "
                            f"not {kind(value)}")
        self.keys(value, COLUMN_KEYS, "a column")
        column = self.text(value, "column", "a column")
        expression = self.text(value, "expression", "a column")
        if (column is None) == (expression is None):
            self.fail(value.line, "a column mapping needs exactly one of column: or expression:")
        order = (self.text(value, "order", "a column") or "asc").lower()
        if order not in ORDERS:
            self.fail(value.line_of("order"), f"order: must be asc or desc, not {order!r}")
        nulls = self.text(value, "nulls", "a column")
        if nulls is not None and nulls.lower() not in NULLS:
            self.fail(value.line_of("nulls"), f"nulls: must be first or last, not {nulls!r}")
        collation = self.text(value, "collation", "a column")
        return DeclaredColumn(
            column=self.ident(column, value.line_of("column"), "column") if column is not None else None,
            expression=strip_outer_parens(expression) if expression is not None else None,
            descending=order == "desc", nulls_first=None if nulls is None else nulls.lower() == "first",
            opclass=(self.text(value, "opclass", "a column") or "").lower() or None,
            # a collation name is taken as written here ("C", "en_US"); quotes are optional
            collation=collation[1:-1].replace('""', '"') if collation and len(collation) > 1 and collation[0] == '"'
            and collation[-1] == '"' else collation)

    def ignores(self, doc: Map) -> list[IgnoreEntry]:
        entries = doc.get("ignore")
        if entries is None:
            return []
        if not isinstance(entries, Seq):
            self.fail(doc.line_of("ignore"), "ignore: must be a list of {code:, object:, reason:}")
        out = []
        for entry, line in zip(entries, entries.item_lines, strict=True):
            if not isinstance(entry, Map):
                self.fail(line, f"an ignore entry must be a mapping with code:, object: and reason:, "
                                f"not {kind(entry)}")
            self.keys(entry, IGNORE_KEYS, "an ignore entry")
            code = self.text(entry, "code", "an ignore entry", required=True)
            reason = self.text(entry, "reason", "an ignore entry")
            if reason is None:
                self.fail(entry.line, "an ignore entry needs a reason: (why this finding is accepted)")
            out.append(IgnoreEntry(code=str(code).upper(), object=self.text(entry, "object", "an ignore entry") or "*",
                                   reason=str(reason), source=Source(self.path, line)))
        return out


def no_twins(indexes: list[DeclaredIndex]) -> None:
    """The same index declared twice (in one file or across files) is an input error — unless both
    copies are named differently: a database can have two equal indexes (I102), and its snapshot
    declares both."""
    seen: dict[tuple, list[DeclaredIndex]] = {}
    for d in indexes:
        ident = declared_identity(d)
        for other in seen.get(ident, []):
            if d.name is None or other.name is None or d.name == other.name:
                raise InputError(f"{d.source or '<index set>'}: index {one_line(d.describe())} is declared twice "
                                 f"(also at {other.source or '?'})")
        seen.setdefault(ident, []).append(d)
