"""Declarative index sets: YAML files listing the indexes a team expects, load and validate them
(every error is `file:line: message`, an InputError, exit 2), compare them with the catalog
(`diff_index_set`, pure) and write the current database as one (`snapshot_yaml`).

```yaml
version: 1
schema: public          # tables are in this schema unless written schema.table
complete: true          # the file lists every table of its schemas: indexes elsewhere are undeclared
tables:
  jobs:
    - columns: [customer_id]
    - columns: [status, created_at DESC]
      name: jobs_status_created_at_idx      # optional: indexes are compared by definition
    - columns: [job_number text_pattern_ops]
    - {columns: [lower(email)], unique: true, where: "deleted_at IS NULL", include: [id]}
ignore:
  - {code: I104, object: public.jobs_priority_idx, reason: used by the month-end report}
```

Indexes are equivalent when their access method, uniqueness, key columns (or expressions) with
order, NULLS placement, operator classes and collations, INCLUDE columns (as a set) and predicate
are the same. Expressions and predicates are compared after normalising them with sqlglot
(parentheses, casts of literals and to text types, `= ANY (ARRAY[...])` as `IN (...)`, identifier
case), so the server's `(status <> 'done'::text)` equals a declared `status != 'done'`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from perftool.catalog.schema import Catalog, IndexColumn, IndexInfo, TableInfo, quote_ident
from perftool.db.errors import InputError
from perftool.ddl import IndexSpec, KeyPart, from_index

SET_VERSION = 1
SET_SUFFIXES = (".yaml", ".yml")
DEFAULT_DIR = "index_sets"
METHODS = ("btree", "hash", "gist", "spgist", "gin", "brin")
TOP_KEYS = {"version", "schema", "complete", "tables", "ignore", "description"}
INDEX_KEYS = {"columns", "name", "method", "unique", "primary", "where", "include", "comment"}
COLUMN_KEYS = {"column", "expression", "order", "nulls", "opclass", "collation"}
IGNORE_KEYS = {"code", "object", "reason"}

_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_IDENT_ONLY = re.compile(rf"^{_IDENT}$")
_QUALIFIED = re.compile(rf"^(?:(?P<schema>{_IDENT})\.)?(?P<name>{_IDENT})$")
_COLUMN_TEXT = re.compile(
    rf"^(?P<head>.+?)"
    rf"(?:\s+COLLATE\s+(?P<collation>{_IDENT}))?"
    r"(?:\s+(?P<opclass>[A-Za-z_][A-Za-z0-9_$]*_ops))?"
    r"(?:\s+(?P<order>ASC|DESC))?"
    r"(?:\s+NULLS\s+(?P<nulls>FIRST|LAST))?\s*$",
    re.IGNORECASE | re.DOTALL)


# ---------------------------------------------------------------------------------------------
# model


@dataclass(frozen=True)
class Source:
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class DeclaredColumn:
    column: str | None = None         # a table column (identifier, case as stored)
    expression: str | None = None     # or an SQL expression, as written
    descending: bool = False
    nulls_first: bool | None = None   # None: the default (NULLS FIRST for DESC, LAST for ASC)
    opclass: str | None = None
    collation: str | None = None

    def text(self) -> str:
        """The compact string form (`name`, `lower(email)`, `created_at DESC`, `x text_pattern_ops`)."""
        out = quote_ident(self.column) if self.column is not None else (self.expression or "")
        if self.collation:
            out += " COLLATE " + quote_ident(self.collation)
        if self.opclass:
            out += " " + self.opclass
        if self.descending:
            out += " DESC"
        if self.nulls_first is not None and self.nulls_first != self.descending:
            out += " NULLS FIRST" if self.nulls_first else " NULLS LAST"
        return out

    def part(self) -> KeyPart:
        return KeyPart(column=self.column, expression=self.expression, descending=self.descending,
                       nulls_first=self.nulls_first, opclass=self.opclass, collation=self.collation)


@dataclass
class DeclaredIndex:
    schema: str
    table: str
    columns: list[DeclaredColumn]
    name: str | None = None
    method: str = "btree"
    unique: bool = False
    primary: bool = False
    where: str | None = None
    include: list[str] = field(default_factory=list)
    source: Source | None = None

    @property
    def table_qualified(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def label(self) -> str:
        """The finding object: `schema.name` when named, else `schema.table(columns)`."""
        if self.name:
            return f"{self.schema}.{self.name}"
        return f"{self.schema}.{self.table}({', '.join(c.text() for c in self.columns)})"

    def spec(self) -> IndexSpec:
        """The declared index as an IndexSpec (its SQL and, when the declaration names none, its name)."""
        return IndexSpec(self.schema, self.table, tuple(c.part() for c in self.columns), tuple(self.include),
                         self.where, self.method, self.unique)

    def describe(self) -> str:
        kind = "PRIMARY KEY " if self.primary else ("UNIQUE " if self.unique else "")
        out = f"{kind}{self.table_qualified} USING {self.method} ({', '.join(c.text() for c in self.columns)})"
        if self.include:
            out += f" INCLUDE ({', '.join(self.include)})"
        if self.where:
            out += f" WHERE {self.where}"
        return out


@dataclass
class IgnoreEntry:
    code: str
    object: str = "*"
    reason: str = ""
    source: Source | None = None

    def matches(self, code: str, obj: str) -> bool:
        return fnmatch.fnmatchcase(code, self.code) and fnmatch.fnmatchcase(obj, self.object)


@dataclass
class IndexSet:
    files: list[str] = field(default_factory=list)
    indexes: list[DeclaredIndex] = field(default_factory=list)
    tables: dict[tuple[str, str], Source] = field(default_factory=dict)   # listed tables
    complete_schemas: dict[str, Source] = field(default_factory=dict)     # every table listed
    ignore: list[IgnoreEntry] = field(default_factory=list)

    def merge(self, other: IndexSet) -> None:
        self.files += other.files
        self.indexes += other.indexes
        for k, v in other.tables.items():
            self.tables.setdefault(k, v)
        for k, v in other.complete_schemas.items():
            self.complete_schemas.setdefault(k, v)
        self.ignore += other.ignore

    def covers(self, schema: str, table: str) -> bool:
        return (schema, table) in self.tables or schema in self.complete_schemas


# ---------------------------------------------------------------------------------------------
# YAML with line numbers


class _Map(dict):
    line = 1
    key_lines: dict


class _Seq(list):
    line = 1
    item_lines: list


def _compose(text: str, path: str):
    import yaml

    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else path
        raise InputError(f"{where}: invalid YAML: {exc.problem or exc.context or 'syntax error'}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: invalid YAML: {str(exc).splitlines()[0] if str(exc) else 'unreadable'}") from None


def _to_python(node, path: str) -> Any:
    """The composed YAML node as dicts/lists that remember their lines (_Map, _Seq)."""
    import yaml

    loader = yaml.SafeLoader("")
    memo: dict[int, Any] = {}

    def convert(n, depth: int = 0):
        if n is None:  # an empty document
            return None
        if depth > 50:
            raise InputError(f"{path}:{n.start_mark.line + 1}: nested too deeply")
        if id(n) in memo:
            return memo[id(n)]
        line = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            out = _Map()
            out.line, out.key_lines = line, {}
            memo[id(n)] = out
            for k, v in n.value:
                key = convert(k, depth + 1)
                if not isinstance(key, str):
                    raise InputError(f"{path}:{k.start_mark.line + 1}: keys must be text, not {_kind(key)}")
                if key in out:
                    raise InputError(f"{path}:{k.start_mark.line + 1}: {key!r} is given twice")
                out[key] = convert(v, depth + 1)
                out.key_lines[key] = k.start_mark.line + 1
            return out
        if isinstance(n, yaml.SequenceNode):
            seq = _Seq()
            seq.line, seq.item_lines = line, []
            memo[id(n)] = seq
            for item in n.value:
                seq.append(convert(item, depth + 1))
                seq.item_lines.append(item.start_mark.line + 1)
            return seq
        try:
            value = loader.construct_object(n, deep=True)
        except Exception as exc:  # noqa: BLE001 - a bad scalar (e.g. an impossible date) is input
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(f"{path}:{line}: cannot read value: {first}") from None
        memo[id(n)] = value
        return value

    try:
        return convert(node)
    except RecursionError:
        raise InputError(f"{path}: nested too deeply") from None


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


# ---------------------------------------------------------------------------------------------
# validation


class _Reader:
    """Validates one file's parsed YAML into an IndexSet, with file:line errors."""

    def __init__(self, path: str):
        self.path = path

    def fail(self, line: int, message: str, hint: str | None = None):
        raise InputError(f"{self.path}:{line}: {message}", hint)

    def line_of(self, mapping: _Map, key: str) -> int:
        return mapping.key_lines.get(key, mapping.line)

    def keys(self, mapping: _Map, allowed: set[str], what: str) -> None:
        for key in mapping:
            if key not in allowed:
                import difflib

                close = difflib.get_close_matches(key, sorted(allowed), n=1)
                self.fail(self.line_of(mapping, key), f"unknown key {key!r} in {what}",
                          f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(sorted(allowed))}")

    def text(self, mapping: _Map, key: str, what: str, *, required: bool = False) -> str | None:
        value = mapping.get(key)
        if value is None:
            if required:
                self.fail(mapping.line, f"{what} needs {key}:")
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.fail(self.line_of(mapping, key), f"{key}: must be text, not {_kind(value)}")
        text = str(value).strip()
        if not text:
            self.fail(self.line_of(mapping, key), f"{key}: must not be empty")
        return text

    def flag(self, mapping: _Map, key: str) -> bool:
        value = mapping.get(key, False)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.fail(self.line_of(mapping, key), f"{key}: must be true or false, not {value!r}")
        return value

    def ident(self, text: str, line: int, what: str) -> str:
        if not _IDENT_ONLY.match(text):
            self.fail(line, f"{what} {text!r} is not a valid name")
        return fold_ident(text)

    def read(self, doc: Any) -> IndexSet:
        if doc is None:
            self.fail(1, "the file is empty", "an index set starts with tables: (docs/commands/indexes.md)")
        if not isinstance(doc, _Map):
            self.fail(getattr(doc, "line", 1), f"an index set must be a mapping (version:, schema:, tables:), "
                                               f"not {_kind(doc)}")
        self.keys(doc, TOP_KEYS, "the index set")
        version = doc.get("version", SET_VERSION)
        if version != SET_VERSION or isinstance(version, bool):
            self.fail(self.line_of(doc, "version"), f"version must be {SET_VERSION}, not {version!r}")
        schema_text = self.text(doc, "schema", "the index set") or "public"
        schema = self.ident(schema_text, self.line_of(doc, "schema"), "schema")
        complete = self.flag(doc, "complete")
        out = IndexSet(files=[self.path])
        tables = doc.get("tables")
        if tables is None:
            tables = _Map()
        if not isinstance(tables, _Map):
            self.fail(self.line_of(doc, "tables"), f"tables: must map table names to lists of indexes, "
                                                   f"not {_kind(tables)}")
        schemas = {schema}
        for key, entries in tables.items():
            line = self.line_of(tables, key)
            m = _QUALIFIED.match(key.strip())
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
            if not isinstance(entries, _Seq):
                self.fail(line, f"table {key}: must be a list of indexes (- columns: [...]), not {_kind(entries)}")
            for entry, entry_line in zip(entries, entries.item_lines, strict=True):
                out.indexes.append(self.index(entry, entry_line, t_schema, t_name))
        if complete:
            for s in sorted(schemas):
                out.complete_schemas[s] = Source(self.path, self.line_of(doc, "complete"))
        out.ignore = self.ignores(doc)
        no_twins(out.indexes)
        return out

    def index(self, entry: Any, line: int, schema: str, table: str) -> DeclaredIndex:
        if not isinstance(entry, _Map):
            self.fail(line, f"an index of {table} must be a mapping with columns:, not {_kind(entry)}")
        self.keys(entry, INDEX_KEYS, f"an index of {table}")
        cols = entry.get("columns")
        if not isinstance(cols, _Seq) or not cols:
            self.fail(self.line_of(entry, "columns") if "columns" in entry else entry.line,
                      f"an index of {table} needs columns: [a non-empty list]")
        columns = [self.column(c, ln) for c, ln in zip(cols, cols.item_lines, strict=True)]
        method = (self.text(entry, "method", "an index") or "btree").lower()
        if method not in METHODS:
            self.fail(self.line_of(entry, "method"), f"method {method!r} is not one of {', '.join(METHODS)}")
        name = self.text(entry, "name", "an index")
        if name is not None:
            name = self.ident(name, self.line_of(entry, "name"), "index name")
        primary = self.flag(entry, "primary")
        include = entry.get("include") or []
        if not isinstance(include, list) or not all(isinstance(c, str) and c.strip() for c in include):
            self.fail(self.line_of(entry, "include"), "include: must be a list of column names")
        include_names = [self.ident(c.strip(), self.line_of(entry, "include"), "column") for c in include]
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
        if not isinstance(value, _Map):
            self.fail(line, f"a column must be a name, an expression or a mapping (column:, order:), "
                            f"not {_kind(value)}")
        self.keys(value, COLUMN_KEYS, "a column")
        column = self.text(value, "column", "a column")
        expression = self.text(value, "expression", "a column")
        if (column is None) == (expression is None):
            self.fail(value.line, "a column mapping needs exactly one of column: or expression:")
        order = (self.text(value, "order", "a column") or "asc").lower()
        if order not in ("asc", "desc"):
            self.fail(self.line_of(value, "order"), f"order: must be asc or desc, not {order!r}")
        nulls = self.text(value, "nulls", "a column")
        if nulls is not None and nulls.lower() not in ("first", "last"):
            self.fail(self.line_of(value, "nulls"), f"nulls: must be first or last, not {nulls!r}")
        collation = self.text(value, "collation", "a column")
        return DeclaredColumn(
            column=self.ident(column, self.line_of(value, "column"), "column") if column is not None else None,
            expression=_strip_outer_parens(expression) if expression is not None else None,
            descending=order == "desc", nulls_first=None if nulls is None else nulls.lower() == "first",
            opclass=(self.text(value, "opclass", "a column") or "").lower() or None,
            # a collation name is taken as written here ("C", "en_US"); quotes are optional
            collation=collation[1:-1].replace('""', '"') if collation and len(collation) > 1 and collation[0] == '"'
            and collation[-1] == '"' else collation)

    def ignores(self, doc: _Map) -> list[IgnoreEntry]:
        entries = doc.get("ignore")
        if entries is None:
            return []
        if not isinstance(entries, _Seq):
            self.fail(self.line_of(doc, "ignore"), "ignore: must be a list of {code:, object:, reason:}")
        out = []
        for entry, line in zip(entries, entries.item_lines, strict=True):
            if not isinstance(entry, _Map):
                self.fail(line, f"an ignore entry must be a mapping with code:, object: and reason:, "
                                f"not {_kind(entry)}")
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
                raise InputError(f"{d.source or '<index set>'}: index {d.describe()} is declared twice "
                                 f"(also at {other.source or '?'})")
        seen.setdefault(ident, []).append(d)


def fold_ident(text: str) -> str:
    """SQL identifier rules: "Quoted" keeps its case, bare names fold to lower case."""
    text = text.strip()
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        return text[1:-1].replace('""', '"')
    return text.lower()


def _strip_outer_parens(text: str) -> str:
    text = text.strip()
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    return text


def _balanced(text: str) -> bool:
    depth, quote = 0, False
    for ch in text:
        if ch == "'":
            quote = not quote
        elif not quote and ch == "(":
            depth += 1
        elif not quote and ch == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and not quote


def parse_column(text: str) -> DeclaredColumn:
    """`name`, `"Name"`, `lower(email)`, `created_at DESC NULLS LAST`, `code text_pattern_ops`,
    `title COLLATE "C"` → DeclaredColumn. Raises ValueError for an empty column."""
    text = text.strip()
    if not text:
        raise ValueError("a column must not be empty")
    m = _COLUMN_TEXT.match(text)
    head = (m["head"] if m else text).strip()
    column = expression = None
    if _IDENT_ONLY.match(head):
        column = fold_ident(head)
    else:
        expression = _strip_outer_parens(head)
        if not expression:
            raise ValueError(f"column {text!r} has no name or expression")
    order = (m["order"] or "").upper() if m else ""
    nulls = (m["nulls"] or "").upper() if m else ""
    collation = m["collation"] if m else None
    return DeclaredColumn(column=column, expression=expression, descending=order == "DESC",
                          nulls_first=None if not nulls else nulls == "FIRST",
                          opclass=(m["opclass"].lower() if m and m["opclass"] else None),
                          collation=fold_ident(collation) if collation else None)


# ---------------------------------------------------------------------------------------------
# loading


def load_index_set_text(text: str, path: str = "<index set>") -> IndexSet:
    """Parse and validate one file's text. Any problem is an InputError `path:line: message`."""
    return _Reader(path).read(_to_python(_compose(text, path), path))


def set_files(paths: Iterable[str | Path]) -> list[Path]:
    """The YAML files named by `paths` (files, or directories: their *.yaml / *.yml, sorted)."""
    files: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found = sorted(f for f in path.iterdir() if f.suffix in SET_SUFFIXES and f.is_file())
            if not found:
                raise InputError(f"{path}: no index set files (*.yaml) in this directory")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"index set {path} does not exist", "pass --set FILE_OR_DIRECTORY")
    return files


def load_index_sets(paths: Iterable[str | Path]) -> IndexSet:
    """Load and merge every index set file under `paths`."""
    merged = IndexSet()
    for f in set_files(paths):
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read {f}: {exc}") from None
        merged.merge(load_index_set_text(text, str(f)))
    if len(merged.files) > 1:
        no_twins(merged.indexes)
    return merged


def default_set_paths() -> list[Path]:
    """`index_sets/` in the current directory when it exists, else nothing."""
    p = Path(DEFAULT_DIR)
    return [p] if p.is_dir() and any(f.suffix in SET_SUFFIXES for f in p.iterdir()) else []


# ---------------------------------------------------------------------------------------------
# normalisation and comparison


@lru_cache(maxsize=4096)
def normalize_sql(text: str) -> str:
    """A canonical key for an SQL expression or predicate: parsed with sqlglot (postgres), with
    parentheses, casts of literals and casts to text types dropped, `= ANY (ARRAY[...])` as
    `IN (...)`, bare identifiers lower-cased. Text sqlglot cannot parse is compared with its
    whitespace collapsed and lower-cased."""
    flat = " ".join(str(text).split())
    try:
        import sqlglot

        tree = sqlglot.parse_one(flat, read="postgres")
        for _ in range(3):
            tree = tree.transform(_simplify)
        return repr(tree)
    except Exception:  # noqa: BLE001 - any parser failure falls back to text comparison
        return "text:" + flat.lower()


def _simplify(node):
    from sqlglot import exp

    if isinstance(node, exp.Paren):
        return node.this
    if isinstance(node, exp.Cast) and (isinstance(node.this, exp.Literal)
                                       or node.to.is_type("text", "varchar", "char", "bpchar", "name")):
        return node.this
    if isinstance(node, exp.Identifier):  # SQL rules, idempotent: bare names fold, "Quoted" ones keep case
        name = str(node.this)
        if node.quoted:
            return exp.Identifier(this=name, quoted=False) if name == name.lower() else node
        return exp.Identifier(this=name.lower(), quoted=False) if name != name.lower() else node
    if isinstance(node, (exp.EQ, exp.NEQ)):
        rhs = node.expression
        array = None
        if isinstance(rhs, (exp.Any, exp.All)) and isinstance(rhs.this, exp.Array):
            array = rhs.this
        elif (isinstance(rhs, exp.Anonymous) and str(rhs.this).upper() in ("ANY", "ALL")
              and len(rhs.expressions) == 1 and isinstance(rhs.expressions[0], exp.Array)):
            array = rhs.expressions[0]
        if array is not None:
            found = exp.In(this=node.this, expressions=list(array.expressions))
            return found if isinstance(node, exp.EQ) else exp.Not(this=found)
    return node


def declared_identity(d: DeclaredIndex) -> tuple:
    cols = tuple((c.column, normalize_sql(c.expression) if c.expression else None, c.descending,
                  c.nulls_first if c.nulls_first is not None else c.descending, c.opclass, c.collation)
                 for c in d.columns)
    return (d.schema, d.table, d.method, d.unique, cols, tuple(sorted(d.include)),
            normalize_sql(d.where) if d.where else "")


def column_differences(d: DeclaredColumn, a: IndexColumn) -> list[str]:
    out = []
    if d.column is not None:
        if a.name != d.column:
            out.append(f"{a.definition if a.name is None else a.name} instead of {d.column}")
            return out
    elif a.name is not None or normalize_sql(d.expression or "") != normalize_sql(a.definition):
        out.append(f"{a.definition} instead of {d.expression}")
        return out
    label = d.column or d.expression
    if d.descending != a.descending:
        out.append(f"{label} {'DESC' if a.descending else 'ASC'}, declared {'DESC' if d.descending else 'ASC'}")
    want_nulls = d.nulls_first if d.nulls_first is not None else d.descending
    if want_nulls != a.nulls_first:
        out.append(f"{label} NULLS {'FIRST' if a.nulls_first else 'LAST'}, declared NULLS "
                   f"{'FIRST' if want_nulls else 'LAST'}")
    if d.opclass:
        if d.opclass != a.opclass.lower() and d.opclass.split(".")[-1] != a.opclass.lower():
            out.append(f"{label} operator class {a.opclass}, declared {d.opclass}")
    elif not a.opclass_default:
        out.append(f"{label} operator class {a.opclass}, declared the default")
    if d.collation:
        if d.collation != a.collation:
            out.append(f"{label} collation {a.collation or 'none'}, declared {d.collation}")
    elif a.explicit_collation:
        out.append(f"{label} collation {a.explicit_collation}, declared the column's")
    return out


def differences(d: DeclaredIndex, a: IndexInfo) -> list[str]:
    """How the actual index `a` differs from declaration `d` (empty: equivalent)."""
    out = []
    if d.method != a.method:
        out.append(f"method {a.method}, declared {d.method}")
    if d.primary and not a.is_primary:
        out.append("not the primary key, declared primary: true")
    if d.unique != a.is_unique:
        out.append(f"{'unique' if a.is_unique else 'not unique'}, declared {'unique' if d.unique else 'not unique'}")
    if len(d.columns) != len(a.columns):
        out.append(f"key ({a.columns_text()}), declared ({', '.join(c.text() for c in d.columns)})")
    else:
        for dc, ac in zip(d.columns, a.columns, strict=True):
            out += column_differences(dc, ac)
    if sorted(d.include) != sorted(a.include):
        out.append(f"INCLUDE ({', '.join(a.include) or 'none'}), declared ({', '.join(d.include) or 'none'})")
    want = normalize_sql(d.where) if d.where else ""
    have = normalize_sql(a.predicate) if a.predicate else ""
    if want != have:
        out.append(f"WHERE {a.predicate or '(none)'}, declared WHERE {d.where or '(none)'}")
    return out


@dataclass
class DriftItem:
    kind: str                              # missing | extra | different
    table: str
    declared: DeclaredIndex | None = None
    actual: IndexInfo | None = None
    differences: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class Drift:
    missing: list[DriftItem] = field(default_factory=list)
    extra: list[DriftItem] = field(default_factory=list)
    different: list[DriftItem] = field(default_factory=list)
    matched: list[tuple[DeclaredIndex, IndexInfo]] = field(default_factory=list)


def _comparable_actual(ix: IndexInfo) -> bool:
    return not ix.is_attached


def diff_index_set(catalog: Catalog, index_set: IndexSet) -> Drift:
    """Pure: declared vs actual indexes, table by table. An actual index equivalent to a
    declaration matches it whatever its name; a declaration left over is *different* when an
    unmatched index has its name or its key columns, else *missing*; an actual index left over on
    a covered table is *extra* unless it backs a constraint (or is invalid: I101 reports those)."""
    drift = Drift()
    tables: dict[tuple[str, str], TableInfo] = {(t.schema, t.name): t for t in catalog.tables}
    by_table: dict[tuple[str, str], list[DeclaredIndex]] = {}
    for d in index_set.indexes:
        by_table.setdefault((d.schema, d.table), []).append(d)
    for key, declared in by_table.items():
        t = tables.get(key)
        if t is None:
            for d in declared:
                drift.missing.append(DriftItem("missing", f"{key[0]}.{key[1]}", declared=d,
                                               note=f"table {key[0]}.{key[1]} does not exist"))
            continue
        valid = [ix for ix in t.indexes if _comparable_actual(ix) and ix.is_valid]
        unmatched = list(valid)
        left: list[DeclaredIndex] = []
        for d in declared:
            hit = next((a for a in unmatched if not differences(d, a)), None)
            if hit is None:
                left.append(d)
            else:
                unmatched.remove(hit)
                drift.matched.append((d, hit))
        for d in left:
            near = next((a for a in unmatched if d.name and a.name == d.name), None)
            if near is None:
                near = next((a for a in unmatched if _same_key_columns(d, a)), None)
            if near is not None:
                unmatched.remove(near)
                drift.different.append(DriftItem("different", t.qualified, declared=d, actual=near,
                                                 differences=differences(d, near)))
                continue
            invalid = next((a for a in t.indexes if not a.is_valid and not differences(d, a)), None)
            drift.missing.append(DriftItem(
                "missing", t.qualified, declared=d,
                note=f"{invalid.name} has this definition but is INVALID (I101)" if invalid else ""))
        extra_scope = index_set.covers(t.schema, t.name)
        for a in unmatched:
            if extra_scope and not a.backs_constraint:
                drift.extra.append(DriftItem("extra", t.qualified, actual=a))
    for t in catalog.tables:
        if (t.schema, t.name) in by_table or not index_set.covers(t.schema, t.name):
            continue
        for a in t.indexes:
            if _comparable_actual(a) and a.is_valid and not a.backs_constraint:
                drift.extra.append(DriftItem("extra", t.qualified, actual=a))
    return drift


def _same_key_columns(d: DeclaredIndex, a: IndexInfo) -> bool:
    if len(d.columns) != len(a.columns):
        return False
    for dc, ac in zip(d.columns, a.columns, strict=True):
        if dc.column is not None and dc.column != ac.name:
            return False
        if dc.column is None and (ac.name is not None
                                  or normalize_sql(dc.expression or "") != normalize_sql(ac.definition)):
            return False
    return True


# ---------------------------------------------------------------------------------------------
# snapshot


def declared_from_index(ix: IndexInfo) -> DeclaredIndex:
    """The declaration that matches an existing index exactly."""
    cols = [DeclaredColumn(column=p.column, expression=p.expression, descending=p.descending,
                           nulls_first=p.nulls_first, opclass=p.opclass, collation=p.collation)
            for p in from_index(ix).parts]
    return DeclaredIndex(schema=ix.schema, table=ix.table, columns=cols, name=ix.name, method=ix.method,
                         unique=ix.is_unique, primary=ix.is_primary, where=ix.predicate, include=list(ix.include))


def _column_yaml(c: DeclaredColumn) -> Any:
    text = c.text()
    try:
        back = parse_column(text)
    except ValueError:
        back = None
    if back == c:
        return text
    out: dict[str, Any] = {"column": quote_ident(c.column)} if c.column is not None else {"expression": c.expression}
    if c.descending:
        out["order"] = "desc"
    if c.nulls_first is not None:
        out["nulls"] = "first" if c.nulls_first else "last"
    if c.opclass:
        out["opclass"] = c.opclass
    if c.collation:
        out["collation"] = c.collation
    return out


def snapshot_document(catalog: Catalog, schema: str | None = None) -> dict[str, Any]:
    """The catalog's valid indexes as an index set document (complete: every table listed)."""
    schemas = sorted({t.schema for t in catalog.tables})
    main = schema or ("public" if "public" in schemas or not schemas else schemas[0])
    tables: dict[str, list] = {}
    for t in sorted(catalog.tables, key=lambda t: (t.schema != main, t.schema, t.name)):
        entries = []
        for ix in sorted(t.indexes, key=lambda i: (not i.is_primary, i.name)):
            if not ix.is_valid or ix.is_attached:
                continue
            d = declared_from_index(ix)
            entry: dict[str, Any] = {"columns": [_column_yaml(c) for c in d.columns], "name": quote_ident(ix.name)}
            if d.method != "btree":
                entry["method"] = d.method
            if d.primary:
                entry["primary"] = True
            elif d.unique:
                entry["unique"] = True
            if d.include:
                entry["include"] = [quote_ident(c) for c in d.include]
            if d.where:
                entry["where"] = d.where
            entries.append(entry)
        if entries:
            key = quote_ident(t.name) if t.schema == main else f"{quote_ident(t.schema)}.{quote_ident(t.name)}"
            tables[key] = entries
    return {"version": SET_VERSION, "schema": main, "complete": True, "tables": tables}


def snapshot_yaml(catalog: Catalog, schema: str | None = None, *, header: str = "") -> str:
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _seq(dumper, data):
        flow = all(isinstance(x, str) for x in data)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)

    _Dumper.add_representer(list, _seq)
    body = yaml.dump(snapshot_document(catalog, schema), Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=120)
    return header + body
