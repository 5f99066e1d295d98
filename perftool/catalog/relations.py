"""What the index advisor needs to know about the schema: relations named by the workload (views
with their definitions, partitioned tables with their partitions), their columns (type, btree
support, collation, planner statistics), their existing indexes and their row writes.

`collect_catalog` reads it from a connection (SQL in `sql/advisor_*.sql`); the dataclasses are the
model that the pure analysis in `predicates.py` and `advisor.py` works on, so unit tests build a
`Catalog` by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

TableName = tuple[str, str]  # (schema, name) exactly as stored in the catalog

CATALOG_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")
C_COLLATIONS = ("C", "POSIX", "")


@dataclass
class ColumnInfo:
    name: str
    type: str = "integer"
    btree_ok: bool = True
    collation: str = ""
    not_null: bool = False
    n_distinct: float | None = None     # pg_stats: > 0 a count, < 0 minus a fraction of the rows
    null_frac: float | None = None
    most_common: dict[str, float] = field(default_factory=dict)  # value text → frequency
    avg_width: int | None = None
    base_type: str = ""

    def distinct_values(self, reltuples: float) -> float | None:
        if self.n_distinct is None:
            return None
        return self.n_distinct if self.n_distinct > 0 else -self.n_distinct * max(reltuples, 1.0)


@dataclass
class IndexInfo:
    name: str
    columns: list[str | None]            # key columns, None for an expression
    include: list[str] = field(default_factory=list)
    descending: list[bool] = field(default_factory=list)
    method: str = "btree"
    is_unique: bool = False
    is_primary: bool = False
    is_valid: bool = True
    predicate: str | None = None
    definition: str = ""
    size_bytes: int = 0
    plain: bool = True                   # default operator classes, collations and NULLS order


@dataclass
class TableInfo:
    schema: str
    name: str
    kind: str = "r"                      # r table, p partitioned, v view, m materialized view, f foreign
    columns: dict[str, ColumnInfo] = field(default_factory=dict)
    indexes: list[IndexInfo] = field(default_factory=list)
    reltuples: float = 0.0
    relpages: int = 0
    view_sql: str | None = None
    is_partition: bool = False
    partitions: list[TableName] = field(default_factory=list)
    writes: dict[str, int] = field(default_factory=dict)  # pg_stat_*_tables counters
    unseen_write_rows: float = 0.0       # index entries written by statements not in the workload
    oid: int = 0
    can_select: bool = True              # the session may read it (EXPLAIN, pg_stats need that)

    @property
    def key(self) -> TableName:
        return (self.schema, self.name)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class Catalog:
    """Relations by (schema, name), plus the search path used to resolve unqualified names."""

    tables: dict[TableName, TableInfo] = field(default_factory=dict)
    search_path: list[str] = field(default_factory=lambda: ["pg_catalog", "public"])
    collation: str = "C"                 # the database default (LIKE-prefix support)

    def add(self, table: TableInfo) -> TableInfo:
        self.tables[table.key] = table
        return table

    def resolve(self, schema: str | None, name: str) -> TableInfo | None:
        """The relation a (possibly unqualified) name means in this session, or None."""
        if schema:
            return self.tables.get((schema, name))
        for s in self.search_path:
            found = self.tables.get((s, name))
            if found is not None:
                return found
        return None

    def get(self, key: TableName) -> TableInfo | None:
        return self.tables.get(key)

    def c_collation(self, column: ColumnInfo) -> bool:
        """Whether LIKE 'prefix%' can use a plain btree on this column (C / POSIX collation)."""
        coll = column.collation if column.collation not in ("", "default") else self.collation
        return coll in C_COLLATIONS


def _most_common(values: str | None, freqs: list[float] | None) -> dict[str, float]:
    """pg_stats.most_common_vals is an anyarray shown as text: `{a,b,"c d"}`."""
    if not values or not freqs:
        return {}
    items, cur, quoted, i = [], [], False, 1
    text = values
    while i < len(text) - 1:
        ch = text[i]
        if quoted:
            if ch == "\\" and i + 1 < len(text) - 1:
                cur.append(text[i + 1])
                i += 2
                continue
            if ch == '"':
                quoted = False
            else:
                cur.append(ch)
        elif ch == '"':
            quoted = True
        elif ch == ",":
            items.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    items.append("".join(cur))
    return {v: float(f) for v, f in zip(items, freqs, strict=False)}


def collect_catalog(conn: psycopg.Connection, names: set[str], *, depth: int = 4) -> Catalog:
    """Relations called `names` (any schema), and the relations their view definitions use, with
    columns, indexes and write counters. `names` are stored names (case-folded already)."""
    from perftool.db.sql import fetch_all, fetch_one
    from perftool.workload.statement_text import relation_names

    settings = fetch_one(conn, "advisor_settings") or {}
    catalog = Catalog(search_path=list(settings.get("search_path") or ["pg_catalog", "public"]),
                      collation=settings.get("collate") or "C")
    wanted = {n for n in names if n}
    seen: set[str] = set()
    for _ in range(depth + 1):
        todo = sorted(wanted - seen)
        if not todo:
            break
        seen |= set(todo)
        more: set[str] = set()
        for row in fetch_all(conn, "advisor_relations", {"names": todo}):
            table = catalog.add(TableInfo(
                schema=row["schema"], name=row["name"], kind=row["kind"], reltuples=float(row["reltuples"] or 0),
                relpages=int(row["relpages"] or 0), view_sql=row["view_sql"], is_partition=bool(row["is_partition"]),
                oid=int(row["oid"]), can_select=bool(row["can_select"])))
            if table.view_sql:
                more.update(name for _schema, name in relation_names(table.view_sql))
        wanted |= more
    oids = [t.oid for t in catalog.tables.values()]
    if not oids:
        return catalog
    by_oid = {t.oid: t for t in catalog.tables.values()}
    for row in fetch_all(conn, "advisor_columns", {"oids": oids}):
        t = by_oid.get(int(row["oid"]))
        if t is None:
            continue
        t.columns[row["name"]] = ColumnInfo(
            name=row["name"], type=row["type"], btree_ok=bool(row["btree_ok"]), collation=row["collation"] or "",
            not_null=bool(row["not_null"]), n_distinct=row["n_distinct"], null_frac=row["null_frac"],
            most_common=_most_common(row["most_common_vals"], row["most_common_freqs"]),
            avg_width=row["avg_width"], base_type=row["base_type"] or "")
    for row in fetch_all(conn, "advisor_indexes", {"oids": oids}):
        t = by_oid.get(int(row["table_oid"]))
        if t is None:
            continue
        cols = list(row["columns"] or [])
        keys = int(row["key_count"] or len(cols))
        t.indexes.append(IndexInfo(
            name=row["name"], columns=cols[:keys], include=[c for c in cols[keys:] if c],
            descending=list(row["descending"] or [])[:keys], method=row["method"], is_unique=bool(row["is_unique"]),
            is_primary=bool(row["is_primary"]), is_valid=bool(row["is_valid"]), plain=bool(row["plain"]),
            predicate=row["predicate"], definition=row["definition"] or "", size_bytes=int(row["size_bytes"] or 0)))
    for row in fetch_all(conn, "advisor_table_writes", {"oids": oids}):
        t = by_oid.get(int(row["oid"]))
        if t is not None:
            t.writes = {k: int(row[k] or 0) for k in ("n_tup_ins", "n_tup_upd", "n_tup_hot_upd", "n_tup_del",
                                                       "seq_scan", "idx_scan", "n_live_tup")}
    parents = [t.oid for t in catalog.tables.values() if t.kind == "p"]
    if parents:
        for row in fetch_all(conn, "advisor_partitions", {"oids": parents}):
            t = by_oid.get(int(row["parent_oid"]))
            if t is not None:
                t.partitions.append((row["schema"], row["name"]))
    return catalog
