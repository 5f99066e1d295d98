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
                   table: tuple[str, str] | None = None) -> str:
        """`CREATE [UNIQUE] INDEX [CONCURRENTLY] name ON schema.table USING method (…) [INCLUDE (…)]
        [WHERE …]`, no semicolon. `only`: ON ONLY a partitioned table (never concurrently); `name=""`:
        no name (HypoPG's form); `table`: the same index on another (schema, table), a partition."""
        from psycopg import sql

        fields = self._fields(table)
        chosen = self.name() if name is None else name
        if only:
            return _fill("index_create_only", name=sql.Identifier(chosen), **fields)
        return _fill("index_create", concurrently=sql.SQL(" CONCURRENTLY" if concurrently else ""),
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
    out: list[str] = []
    for literal, field in _parsed(template):
        out.append(literal)
        if field is not None:
            out.append(parts[field].as_string(None))
    return "".join(out)
