"""ONE index definition and DDL writer: `IndexSpec` (what an index stores) with its `CREATE INDEX`,
`DROP INDEX`, its one deterministic name and the one "is a prefix of" rule.

Everything that writes or compares an index to create uses it: the advisor (`IndexDef.spec()`),
HypoPG (`create_sql(name="")`), the health fixes (`health.checks.fix_sql`), the index sets
(`DeclaredIndex.spec()`) and the migrations. The statements come from four files in `db/sql/`
(`index_create`, `index_create_only`, `index_attach`, `index_drop`); every identifier is quoted by
`psycopg.sql.Identifier`. Expressions and predicates are SQL text (from the server's
pg_get_indexdef, the user's index set, or rendered with `sql.Literal`) and are kept as written.
"""

from __future__ import annotations

import functools
import hashlib
import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from psycopg import sql

    from perftool.catalog.schema import IndexInfo

MAX_NAME_BYTES = 63          # PostgreSQL's NAMEDATALEN - 1
DIGEST_CHARS = 8
_METHOD = re.compile(r"^[a-z_][a-z0-9_]*$")
_WORD = re.compile(r"[^a-z0-9_]+")


@dataclass(frozen=True, slots=True)
class KeyPart:
    """One key column of an index: a column name or an SQL expression, with its order, NULLS
    placement (None: the default for the order), operator class and collation (None: default)."""

    column: str | None = None
    expression: str | None = None
    descending: bool = False
    nulls_first: bool | None = None
    opclass: str | None = None
    collation: str | None = None

    def __post_init__(self) -> None:
        if self.nulls_first is not None and self.nulls_first == self.descending:
            object.__setattr__(self, "nulls_first", None)      # the default, said explicitly
        if not self.opclass:
            object.__setattr__(self, "opclass", None)
        if not self.collation:
            object.__setattr__(self, "collation", None)

    @property
    def label(self) -> str:
        return self.column if self.column is not None else (self.expression or "expr")

    @property
    def plain(self) -> bool:
        """A column in ascending order with every default (its name says all of it)."""
        return (self.column is not None and not self.descending and self.nulls_first is None
                and self.opclass is None and self.collation is None)

    def flipped(self) -> KeyPart:
        """The same key scanned backwards: the other order and the other NULLS placement."""
        nulls = self.nulls_first if self.nulls_first is not None else self.descending
        return KeyPart(self.column, self.expression, not self.descending, not nulls, self.opclass, self.collation)

    def sql(self):
        from psycopg import sql

        pieces = [sql.Identifier(self.column) if self.column is not None
                  else sql.SQL("(" + (self.expression or "") + ")")]
        if self.collation:
            pieces += [sql.SQL(" COLLATE "), sql.Identifier(self.collation)]
        if self.opclass:
            pieces += [sql.SQL(" "), sql.SQL(".").join(sql.Identifier(p) for p in self.opclass.split("."))]
        if self.descending:
            pieces.append(sql.SQL(" DESC"))
        if self.nulls_first is not None:
            pieces.append(sql.SQL(" NULLS FIRST" if self.nulls_first else " NULLS LAST"))
        return sql.Composed(pieces)


@dataclass(frozen=True)
class IndexSpec:
    """An index to create: schema.table, key parts, INCLUDE columns, partial predicate (SQL text),
    access method and uniqueness. Equal specs are the same index (the name is not part of it)."""

    schema: str
    table: str
    parts: tuple[KeyPart, ...]
    include: tuple[str, ...] = ()
    where: str | None = None
    method: str = "btree"
    unique: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.parts, tuple):
            object.__setattr__(self, "parts", tuple(self.parts))
        if not isinstance(self.include, tuple):
            object.__setattr__(self, "include", tuple(self.include))
        if not self.where:
            object.__setattr__(self, "where", None)
        if not _METHOD.match(self.method or ""):
            object.__setattr__(self, "method", "btree")

    # -- identity --------------------------------------------------------------------------------
    def definition(self) -> tuple:
        """What the index stores, without its table or name: equal tuples are the same index."""
        return (self.method, self.unique,
                tuple((p.column, p.expression, p.descending, p.nulls_first, p.opclass, p.collation)
                      for p in self.parts),
                self.include, self.where)

    def identity(self) -> tuple:
        return (self.schema, self.table, *self.definition())

    @property
    def columns(self) -> tuple[str, ...]:
        """The table columns the index needs (key columns, then INCLUDE), each once."""
        return tuple(dict.fromkeys([p.column for p in self.parts if p.column is not None] + list(self.include)))

    def prefix_of(self, other: IndexSpec) -> bool:
        """Whether `other` serves every lookup this index serves: same table, method and predicate;
        this key is a left prefix of `other`'s (same columns or expressions, operator classes and
        collations; the same order and NULLS placement, or all of them reversed, which a btree
        scans backwards); every INCLUDE column of this index is a column of `other`. An index is a
        prefix of itself and of an equal one; uniqueness is not considered."""
        n = len(self.parts)
        if (n > len(other.parts) or self.table != other.table or self.schema != other.schema
                or self.method != other.method or self.where != other.where):
            return False
        theirs = other.parts[:n]
        if theirs != self.parts and tuple(p.flipped() for p in theirs) != self.parts:
            return False
        if not self.include:
            return True
        return set(self.include) <= {p.column for p in other.parts if p.column is not None} | set(other.include)

    # -- the name --------------------------------------------------------------------------------
    def name(self) -> str:
        """`<table>_<column>_…_idx`, PostgreSQL's style, at most 63 bytes. When the words say less
        than the definition (an expression, an order, an operator class or collation, INCLUDE
        columns, a predicate, another method, uniqueness, or a word that had to be spelled
        differently) or the name must be cut, it ends in 8 hex digits of a digest of the whole
        definition: different specs get different names, the same spec always the same one."""
        words = [p.label for p in self.parts]
        if any(p.descending for p in self.parts):
            words.append("desc")
        if self.include:
            words.append("incl")
        if self.where:
            words.append(_word(self.where)[:24] or "where")
        exact = (all(p.plain for p in self.parts) and not self.include and not self.where
                 and self.method == "btree" and not self.unique)
        return index_name(self.table, words, exact=exact, key=repr(self.definition()))

    # -- statements ------------------------------------------------------------------------------
    def _fields(self, table: tuple[str, str] | None = None) -> dict:
        from psycopg import sql

        include: sql.Composable = sql.SQL("")
        if self.include:
            include = sql.Composed([sql.SQL(" INCLUDE ("),
                                    sql.SQL(", ").join(sql.Identifier(c) for c in self.include), sql.SQL(")")])
        return {"unique": sql.SQL("UNIQUE " if self.unique else ""),
                "table": sql.Identifier(*(table or (self.schema, self.table))),
                "method": sql.SQL(self.method),
                "columns": sql.SQL(", ").join(p.sql() for p in self.parts),
                "include": include,
                "where": sql.SQL(" WHERE " + self.where) if self.where else sql.SQL("")}

    def create_sql(self, concurrently: bool = True, name: str | None = None, only: bool = False, *,
                   table: tuple[str, str] | None = None, if_not_exists: bool = False) -> str:
        """`CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] name ON schema.table USING method (…)
        [INCLUDE (…)] [WHERE …]`, no semicolon. `only`: ON ONLY a partitioned table (never
        concurrently); `name=""`: no name (HypoPG's form); `table`: the same index on another
        (schema, table), a partition. `if_not_exists` only with a name (the migrations use it after
        dropping an INVALID index of that name: IF NOT EXISTS alone would keep a broken one)."""
        from psycopg import sql

        fields = self._fields(table)
        chosen = self.name() if name is None else name
        ine = sql.SQL(" IF NOT EXISTS" if if_not_exists and chosen else "")
        if only:
            return _fill("index_create_only", if_not_exists=sql.SQL("IF NOT EXISTS " if if_not_exists else ""),
                         name=sql.Identifier(chosen), **fields)
        return _fill("index_create", concurrently=sql.SQL(" CONCURRENTLY" if concurrently else ""), if_not_exists=ine,
                     name=sql.Composed([sql.SQL(" "), sql.Identifier(chosen)]) if chosen else sql.SQL(""), **fields)

    def drop_sql(self, concurrently: bool = True, name: str | None = None) -> str:
        """`DROP INDEX [CONCURRENTLY] IF EXISTS schema.name` (this spec's name unless given)."""
        return drop_sql(self.schema, self.name() if name is None else name, concurrently=concurrently)


def drop_sql(schema: str, name: str, *, concurrently: bool = True) -> str:
    from psycopg import sql

    return _fill("index_drop", concurrently=sql.SQL(" CONCURRENTLY" if concurrently else ""),
                 index=sql.Identifier(schema, name))


def attach_sql(parent_schema: str, parent_index: str, child_schema: str, child_index: str) -> str:
    """`ALTER INDEX parent ATTACH PARTITION child` (a partition's index to the partitioned one)."""
    from psycopg import sql

    return _fill("index_attach", parent=sql.Identifier(parent_schema, parent_index),
                 child=sql.Identifier(child_schema, child_index))


def index_name(table: str, words: Sequence[str], suffix: str = "idx", *, exact: bool = True,
               key: str | None = None) -> str:
    """`<table>_<word>_…_<suffix>` within 63 bytes: the one name rule. Each word is lower-cased with
    runs of other characters than [a-z0-9_] made `_`. When a word had to change, when `exact` is
    False (the words lose information) or when the name must be cut, 8 hex digits of a digest of
    `key` (default: the table, the words and the suffix) go before the suffix."""
    slugs = [_word(w) or "expr" for w in words]
    base = "_".join([table, *slugs])
    tail = "_" + suffix
    exact = exact and all(s == w for s, w in zip(slugs, words, strict=True))
    if exact and len(base.encode()) + len(tail.encode()) <= MAX_NAME_BYTES:
        return base + tail
    digest = hashlib.sha1((key if key is not None else "\x00".join([table, *words, suffix])).encode()
                          ).hexdigest()[:DIGEST_CHARS]
    limit = MAX_NAME_BYTES - len(tail.encode()) - DIGEST_CHARS - 1
    return base.encode()[:limit].decode(errors="ignore").rstrip("_") + "_" + digest + tail


def name_variant(name: str, n: int) -> str:
    """The n-th alternative of an index name (`orders_a_idx` → `orders_a2_idx`), within 63 bytes:
    what the advisor and the fixes use when the first choice is taken."""
    stem, tail = (name[:-4], "_idx") if name.endswith("_idx") else (name, "")
    mark = str(n)
    limit = MAX_NAME_BYTES - len(tail.encode()) - len(mark)
    return stem.encode()[:limit].decode(errors="ignore") + mark + tail


def from_index(index: IndexInfo) -> IndexSpec:
    """An existing index (catalog) as an IndexSpec: to compare it, or re-create it changed."""
    parts = tuple(KeyPart(column=c.name, expression=None if c.name is not None else c.definition,
                          descending=c.descending, nulls_first=c.nulls_first,
                          opclass=None if c.opclass_default else c.opclass, collation=c.explicit_collation)
                  for c in index.columns)
    return IndexSpec(index.schema, index.table, parts, tuple(index.include), index.predicate, index.method,
                     index.is_unique)


def plain(schema: str, table: str, columns: Iterable[str], **kw) -> IndexSpec:
    """A btree index on plain columns (the common case)."""
    return IndexSpec(schema, table, tuple(KeyPart(column=c) for c in columns), **kw)


@dataclass(frozen=True)
class ParsedCreate:
    """One CREATE INDEX statement read back (`parse_create`): the index, its name and the form it
    was written in."""

    spec: IndexSpec
    name: str | None
    only: bool = False
    concurrently: bool = False
    if_not_exists: bool = False


_IDENT_TEXT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_CREATE_HEAD = re.compile(
    rf"^\s*CREATE\s+(?P<unique>UNIQUE\s+)?INDEX\s+(?P<cc>CONCURRENTLY\s+)?(?P<ine>IF\s+NOT\s+EXISTS\s+)?"
    rf"(?:(?P<name>{_IDENT_TEXT})\s+)?ON\s+(?P<only>ONLY\s+)?"
    rf"(?P<table>{_IDENT_TEXT}(?:\s*\.\s*{_IDENT_TEXT})?)\s*(?:USING\s+(?P<method>[A-Za-z_][A-Za-z0-9_]*)\s*)?\(",
    re.IGNORECASE)
_PART_TAIL = re.compile(
    rf"(?:\s+COLLATE\s+(?P<collation>{_IDENT_TEXT}))?"
    rf"(?:\s+(?!(?:ASC|DESC|NULLS)\b)(?P<opclass>(?:{_IDENT_TEXT}\.)?{_IDENT_TEXT}))?"
    r"(?:\s+(?P<order>ASC|DESC))?(?:\s+NULLS\s+(?P<nulls>FIRST|LAST))?\s*$", re.IGNORECASE)
_IDENT_ALONE = re.compile(rf"^{_IDENT_TEXT}$")


def parse_create(text: str, default_schema: str = "public") -> ParsedCreate:
    """Read one `CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] [name] ON [ONLY] table [USING m]
    (keys) [INCLUDE (…)] [NULLS …] [WITH (…)] [TABLESPACE t] [WHERE …]` — what create_sql writes and
    what pg_get_indexdef returns — back into an IndexSpec. Identifiers fold like PostgreSQL's;
    expressions and the predicate stay SQL text. ValueError when the text is not such a statement."""
    text = text.strip().rstrip(";").strip()
    m = _CREATE_HEAD.match(text)
    if not m:
        raise ValueError("not a CREATE INDEX statement")
    close = _closing(text, m.end() - 1)
    keys = [k for k in _split_top(text[m.end():close]) if k.strip()]
    if not keys:
        raise ValueError("CREATE INDEX without key columns")
    rest = text[close + 1:].strip()
    include: list[str] = []
    im = re.match(r"INCLUDE\s*\(", rest, re.IGNORECASE)
    if im:
        end = _closing(rest, im.end() - 1)
        include = [_fold(c) for c in _split_top(rest[im.end():end]) if c.strip()]
        rest = rest[end + 1:].strip()
    rest = re.sub(r"^NULLS\s+(?:NOT\s+)?DISTINCT\b\s*", "", rest, flags=re.IGNORECASE)
    wm = re.match(r"WITH\s*\(", rest, re.IGNORECASE)
    if wm:
        rest = rest[_closing(rest, wm.end() - 1) + 1:].strip()
    rest = re.sub(rf"^TABLESPACE\s+{_IDENT_TEXT}\s*", "", rest, flags=re.IGNORECASE)
    where = None
    if rest:
        wm = re.match(r"WHERE\s", rest, re.IGNORECASE)
        if not wm:
            raise ValueError(f"unexpected text after the key columns: {rest[:60]!r}")
        where = rest[wm.end():].strip() or None
        if where is None or not _balanced_text(where) or any(ch == ";" for _, ch, depth in _scan(where)):
            raise ValueError("the WHERE clause is not one balanced expression")
    schema_table = [_fold(p) for p in _split_qualified(m["table"])]
    schema, table = (schema_table if len(schema_table) == 2 else [default_schema, schema_table[0]])
    spec = IndexSpec(schema, table, tuple(_key_part(k) for k in keys), tuple(include), where,
                     (m["method"] or "btree").lower(), bool(m["unique"]))
    return ParsedCreate(spec, _fold(m["name"]) if m["name"] else None, bool(m["only"]), bool(m["cc"]),
                        bool(m["ine"]))


def split_qualified(text: str, default_schema: str = "public") -> tuple[str, str]:
    """`[schema.]name` as SQL writes it (quoted or folded) → (schema, name). ValueError otherwise."""
    m = re.fullmatch(rf"\s*(?:({_IDENT_TEXT})\s*\.\s*)?({_IDENT_TEXT})\s*", text)
    if not m:
        raise ValueError(f"not a [schema.]name: {text!r}")
    return (_fold(m[1]) if m[1] else default_schema), _fold(m[2])


def _key_part(text: str) -> KeyPart:
    text = text.strip()
    head, tail = text, None
    for i in range(len(text)):          # the shortest head whose rest is COLLATE/opclass/order/NULLS
        if i and text[i].isspace() and _balanced_text(text[:i]):
            t = _PART_TAIL.match(text[i:])
            if t and t.group(0).strip():
                head, tail = text[:i].strip(), t
                break
    column = expression = None
    if _IDENT_ALONE.match(head):
        column = _fold(head)
    else:
        expression = head
        while expression.startswith("(") and _closing(expression, 0) == len(expression) - 1:
            expression = expression[1:-1].strip()
    if tail is None:
        return KeyPart(column, expression)
    nulls = (tail["nulls"] or "").upper()
    return KeyPart(column, expression, (tail["order"] or "").upper() == "DESC",
                   None if not nulls else nulls == "FIRST",
                   ".".join(_fold(p) for p in _split_qualified(tail["opclass"])) if tail["opclass"] else None,
                   _fold(tail["collation"]) if tail["collation"] else None)


def _fold(ident: str) -> str:
    ident = ident.strip()
    if len(ident) >= 2 and ident[0] == ident[-1] == '"':
        return ident[1:-1].replace('""', '"')
    return ident.lower()


def _split_qualified(text: str) -> list[str]:
    return [p for p in re.findall(_IDENT_TEXT, text)]


def _scan(text: str, start: int = 0):
    """(index, character, depth) outside quotes, from `start` (depth after an opening parenthesis)."""
    depth, i, n = 0, start, len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"":
            j = i + 1
            while j < n:
                if text[j] == ch:
                    if j + 1 < n and text[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            i = j + 1
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        yield i, ch, depth
        i += 1


def _closing(text: str, open_at: int) -> int:
    for i, ch, depth in _scan(text, open_at):
        if ch == ")" and depth == 0:
            return i
    raise ValueError("unbalanced parentheses")


def _balanced_text(text: str) -> bool:
    depth = 0
    for _, _, depth in _scan(text):
        if depth < 0:
            return False
    return depth == 0


def _split_top(text: str) -> list[str]:
    out, start = [], 0
    for i, ch, depth in _scan(text):
        if ch == "," and depth == 0:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return out


def _word(text: str) -> str:
    return _WORD.sub("_", text.lower()).strip("_")


@functools.cache
def _template(name: str) -> str:
    """A statement from a .sql file: comment lines dropped, one line, no semicolon."""
    from perftool.db.sql import load_text

    lines = [ln for ln in load_text(name).splitlines() if ln.strip() and not ln.lstrip().startswith("--")]
    return "\n".join(lines).strip().rstrip(";")


@functools.cache
def _parsed(name: str) -> tuple[tuple[str, str | None], ...]:
    """A template's literal text and {field} names, parsed once (as `sql.SQL.format` parses it)."""
    out = []
    for literal, field, spec, conversion in string.Formatter().parse(_template(name)):
        if spec or conversion or (field is not None and (not field or field.isdigit())):
            raise ValueError(f"{name}.sql: only {{name}} fields are allowed, not {field!r}")
        out.append((literal, field))
    return tuple(out)


def _fill(template: str, /, **parts: sql.Composable) -> str:
    """`template` with each {field} replaced by its part (identifiers quoted by psycopg): the
    text of `sql.SQL(template).format(**parts).as_string(None)`, without parsing the template for
    every statement (a health report writes one per unused index: tens of thousands)."""
    return fill_text(template, {k: v.as_string(None) for k, v in parts.items()})


def fill_text(template: str, parts: dict[str, str]) -> str:
    """`template` (a .sql file's name) with each {field} replaced by its already rendered text:
    for a caller that renders the parts itself (the advisor's HypoPG definitions, `indexdef.py`)."""
    return "".join(literal + (parts[field] if field is not None else "") for literal, field in _parsed(template))
