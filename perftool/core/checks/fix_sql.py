"""The SQL that findings suggest as their fix, from the templates in `core/sql/` with every
identifier quoted by `psycopg.sql.Identifier` (never by hand). Expressions and predicates are SQL
text that came from the server (pg_get_indexdef) or from the user's index set, and are kept as
written."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from perftool.core.catalog import IndexInfo
from perftool.core.sql import load_text, statement_text

MAX_NAME_BYTES = 63
_METHOD = re.compile(r"^[a-z_][a-z0-9_]*$")


def drop_index(index: IndexInfo) -> str:
    """Drop an index without blocking writes; an index behind a constraint is dropped with it."""
    if index.backs_constraint and index.constraint_name:
        return statement_text("chk_drop_constraint", schema=index.schema, table=index.table,
                              constraint=index.constraint_name)
    return statement_text("chk_drop_index", schema=index.schema, index=index.name)


def reindex(index: IndexInfo) -> str:
    return statement_text("chk_reindex_index", schema=index.schema, index=index.name)


def vacuum_full(schema: str, table: str) -> str:
    return statement_text("chk_vacuum_full", schema=schema, table=table)


def index_name(table: str, parts: Sequence[str], suffix: str = "idx") -> str:
    """`<table>_<col>_<col>_<suffix>`, cut to PostgreSQL's 63 bytes (keeping the suffix)."""
    words = [re.sub(r"[^a-z0-9_]+", "_", p.lower()).strip("_") or "expr" for p in parts]
    base = "_".join([table, *words])
    tail = "_" + suffix
    limit = MAX_NAME_BYTES - len(tail.encode())
    if len(base.encode()) > limit:
        base = base.encode()[:limit].decode(errors="ignore").rstrip("_")
    return base + tail


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
