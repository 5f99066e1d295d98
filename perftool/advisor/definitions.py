"""The statements people run for a recommendation: CREATE INDEX CONCURRENTLY (the three-step form
on a partitioned table), with index names that are free in the database (`NameBook`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from perftool.advisor.indexdef import IndexDef
from perftool.catalog.schema import Catalog, TableInfo
from perftool.db.sql import fetch_all
from perftool.ddl import attach_sql, name_variant

if TYPE_CHECKING:
    import psycopg


class NameBook:
    """Index names already taken in the database (any relation, invalid indexes included) or by an
    earlier recommendation: `free(schema, name)` returns `name`, or `name` with a number before
    `_idx` when that is taken, and books it."""

    def __init__(self, conn: psycopg.Connection | None = None, wanted: list[tuple[str, str]] | None = None):
        self.taken: set[tuple[str, str]] = set()
        if conn is not None and wanted:
            rows = fetch_all(conn, "advisor_taken_names",
                             {"schemas": [w[0] for w in wanted], "names": [w[1] for w in wanted]})
            self.taken = {(r["schema"], r["name"]) for r in rows}

    def free(self, schema: str, name: str) -> str:
        got, k = name, 1
        while (schema, got) in self.taken:
            k += 1
            got = name_variant(name, k)
        self.taken.add((schema, got))
        return got


def partition_defs(ix: IndexDef, table: TableInfo | None) -> list[IndexDef]:
    """The same index on each partition of a partitioned table (none for another table)."""
    return [IndexDef(schema=schema, table=part, columns=ix.columns, desc=ix.desc, include=ix.include,
                     where=ix.where, opclasses=ix.opclasses, method=ix.method)
            for schema, part in (table.partitions if table is not None and table.kind == "p" else [])]


def name_book(conn: psycopg.Connection, indexes: list[IndexDef], catalog: Catalog) -> NameBook:
    """A NameBook that knows which of the names these recommendations would use are taken."""
    wanted: list[tuple[str, str]] = []
    for ix in indexes:
        wanted.append((ix.schema, ix.name()))
        wanted += [(p.schema, p.name()) for p in partition_defs(ix, catalog.get(ix.table_key))]
    return NameBook(conn, wanted)


def definition(ix: IndexDef, catalog: Catalog, names: NameBook | None = None) -> str:
    """The statement to run: CREATE INDEX CONCURRENTLY …; for a partitioned table the three-step
    form (ON ONLY the parent, CONCURRENTLY on each partition, ATTACH PARTITION). Names are made
    free with `names` (see NameBook)."""
    table = catalog.get(ix.table_key)
    names = names if names is not None else NameBook()
    parent = names.free(ix.schema, ix.name())
    if table is None or table.kind != "p" or not table.partitions:
        return ix.create_sql(name=parent) + ";"
    lines = [ix.create_sql(only=True, name=parent) + ";"]
    for p in partition_defs(ix, table):
        schema, part = p.schema, p.table
        child = names.free(schema, p.name())
        lines.append(ix.create_sql(name=child, schema=schema, table=part) + ";")
        lines.append(attach_sql(ix.schema, parent, schema, child) + ";")
    return "\n".join(lines)
