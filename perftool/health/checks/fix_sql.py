"""The SQL that findings suggest as their fix, from the templates in `db/sql/` with every
identifier quoted by `psycopg.sql.Identifier` (never by hand). Expressions and predicates are SQL
text that came from the server (pg_get_indexdef) or from the user's index set, and are kept as
written."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from perftool.catalog.schema import IndexInfo
from perftool.db.sql import load_text, statement_text

MAX_NAME_BYTES = 63
_METHOD = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class FixStep:
    """One statement of a finding's fix, as `compose_fixes` (fix_compose.py) sees it: what it
    creates, drops or adds, so the fixes of one report can be applied together."""

    kind: str                      # create_index | drop_index | add_column | add_primary_key
    schema: str
    table: str
    name: str = ""                 # index (create/drop), column (add_column), constraint (add_primary_key)
    sql: str = ""                  # the statement exactly as it appears in the fix text
    definition: tuple = ()         # create_index: what the index stores, without its name
    needs: tuple[str, ...] = ()    # columns of schema.table the statement needs
    generated_name: bool = True    # create_index: perftool chose the name (it may be renamed)
    keep: str = ""                 # drop_index of a duplicate (I102): the copy that stays (qualified)
    alternative: str = ""          # I102: the statement that drops `keep` instead; T102: the column alone

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class FixPlan:
    """A finding's fix as perftool wrote it (`fix`) and its statements (`steps`)."""

    fix: str
    steps: list[FixStep] = field(default_factory=list)


def drop_index(index: IndexInfo) -> str:
    """Drop an index without blocking writes; an index behind a constraint is dropped with it."""
    if index.backs_constraint and index.constraint_name:
        return statement_text("chk_drop_constraint", schema=index.schema, table=index.table,
                              constraint=index.constraint_name)
    return statement_text("chk_drop_index", schema=index.schema, index=index.name)


def drop_step(index: IndexInfo, *, keep: IndexInfo | None = None, alternative: str = "") -> FixStep:
    """The FixStep of `drop_index(index)`; for a duplicate, the copy that must stay."""
    return FixStep("drop_index", index.schema, index.table, index.name, drop_index(index),
                   keep=f"{keep.schema}.{keep.name}" if keep else "", alternative=alternative)


def reindex(index: IndexInfo) -> str:
    return statement_text("chk_reindex_index", schema=index.schema, index=index.name)


def vacuum_full(schema: str, table: str) -> str:
    return statement_text("chk_vacuum_full", schema=schema, table=table)


def index_name(table: str, parts: Sequence[str], suffix: str = "idx") -> str:
    """`<table>_<col>_<col>_<suffix>`, at most PostgreSQL's 63 bytes. A name that must be cut keeps
    its suffix and gets 8 hex digits of a digest of the whole name, so two long names that share
    their first 50 bytes still differ — and the same input always gives the same name."""
    words = [re.sub(r"[^a-z0-9_]+", "_", p.lower()).strip("_") or "expr" for p in parts]
    base = "_".join([table, *words])
    tail = "_" + suffix
    if len(base.encode()) + len(tail.encode()) <= MAX_NAME_BYTES:
        return base + tail
    digest = hashlib.sha1("\x00".join([table, *parts, suffix]).encode()).hexdigest()[:8]
    limit = MAX_NAME_BYTES - len(tail.encode()) - len(digest) - 1
    return base.encode()[:limit].decode(errors="ignore").rstrip("_") + "_" + digest + tail


def name_variant(name: str, n: int) -> str:
    """The n-th alternative of an index name (`orders_a_idx` → `orders_a2_idx`), within 63 bytes:
    what a fix uses when its first choice is taken."""
    stem, tail = (name[:-4], "_idx") if name.endswith("_idx") else (name, "")
    mark = str(n)
    limit = MAX_NAME_BYTES - len(tail.encode()) - len(mark)
    return stem.encode()[:limit].decode(errors="ignore") + mark + tail


@dataclass
class KeyPart:
    """One key column of an index to create: a column name or an SQL expression."""

    column: str | None = None
    expression: str | None = None
    descending: bool = False
    nulls_first: bool | None = None   # None: the default for the order
    opclass: str | None = None
    collation: str | None = None

    @property
    def label(self) -> str:
        return self.column if self.column is not None else (self.expression or "expr")


def _key_sql(part: KeyPart):
    from psycopg import sql

    pieces = [sql.Identifier(part.column) if part.column is not None else sql.SQL("(" + (part.expression or "") + ")")]
    if part.collation:
        pieces += [sql.SQL(" COLLATE "), sql.Identifier(part.collation)]
    if part.opclass:
        pieces += [sql.SQL(" "), sql.SQL(".").join(sql.Identifier(p) for p in part.opclass.split("."))]
    if part.descending:
        pieces.append(sql.SQL(" DESC"))
    if part.nulls_first is not None and part.nulls_first != part.descending:
        pieces.append(sql.SQL(" NULLS FIRST" if part.nulls_first else " NULLS LAST"))
    return sql.Composed(pieces)


def index_definition(parts: Sequence[KeyPart], *, method: str = "btree", unique: bool = False,
                     include: Sequence[str] = (), where: str | None = None) -> tuple:
    """What an index to create stores, without its name: equal tuples are the same index."""
    return (method if _METHOD.match(method) else "btree", unique,
            tuple((p.column, p.expression, p.descending, p.nulls_first, p.opclass, p.collation) for p in parts),
            tuple(include), where or None)


def create_step(schema: str, table: str, parts: Sequence[KeyPart], *, name: str | None = None,
                method: str = "btree", unique: bool = False, include: Sequence[str] = (),
                where: str | None = None, sql: str | None = None, declared: bool = False) -> FixStep:
    """The FixStep of `create_index(...)` (or of `sql`, the same index written another way).
    `declared`: the name is the user's (an index set's) and is never changed; otherwise perftool
    chose it and `compose_fixes` may pick another when it is taken."""
    chosen = name or index_name(table, [p.label for p in parts])
    text = sql if sql is not None else create_index(schema, table, parts, name=chosen, method=method, unique=unique,
                                                    include=include, where=where)
    needs = tuple(dict.fromkeys([p.column for p in parts if p.column is not None] + list(include)))
    return FixStep("create_index", schema, table, chosen, text,
                   definition=index_definition(parts, method=method, unique=unique, include=include, where=where),
                   needs=needs, generated_name=not declared)


def create_index(schema: str, table: str, parts: Sequence[KeyPart], *, name: str | None = None,
                 method: str = "btree", unique: bool = False, include: Sequence[str] = (),
                 where: str | None = None) -> str:
    """CREATE [UNIQUE] INDEX CONCURRENTLY name ON schema.table USING method (...) [INCLUDE (...)] [WHERE ...];"""
    from psycopg import sql

    if not _METHOD.match(method):
        method = "btree"
    name = name or index_name(table, [p.label for p in parts])
    template = "\n".join(ln for ln in load_text("idx_create_index").splitlines() if not ln.lstrip().startswith("--"))
    statement = sql.SQL(template.strip().rstrip(";")).format(
        unique=sql.SQL("UNIQUE " if unique else ""),
        index=sql.Identifier(name), schema=sql.Identifier(schema), table=sql.Identifier(table),
        method=sql.SQL(method),
        columns=sql.SQL(", ").join(_key_sql(p) for p in parts),
        include=(sql.SQL(" INCLUDE ({})").format(sql.SQL(", ").join(sql.Identifier(c) for c in include))
                 if include else sql.SQL("")),
        where=sql.SQL(" WHERE " + where) if where else sql.SQL(""),
    )
    return statement.as_string(None) + ";"


def key_parts(index: IndexInfo) -> list[KeyPart]:
    """An existing index's key columns as KeyParts (to re-create it changed)."""
    return [KeyPart(column=c.name, expression=None if c.name is not None else c.definition,
                    descending=c.descending, nulls_first=c.nulls_first if c.nulls_first != c.descending else None,
                    opclass=None if c.opclass_default else c.opclass, collation=c.explicit_collation)
            for c in index.columns]


def recreate_concurrently(index: IndexInfo) -> str:
    """The index's own definition (pg_get_indexdef) as a CREATE INDEX CONCURRENTLY."""
    return re.sub(r"^CREATE (UNIQUE )?INDEX ", lambda m: "CREATE " + (m.group(1) or "") + "INDEX CONCURRENTLY ",
                  index.definition, count=1) + ";"
