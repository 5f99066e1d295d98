"""THE schema model: tables (and the views, materialized views and foreign tables a workload
names), columns with planner statistics, indexes (every key column's definition, operator class,
collation and order; INCLUDE columns; predicate; validity; the constraint it backs; size and
scans), foreign keys, partitions, row writes, sequences and bloat estimates — as dataclasses.

`collect_catalog(conn, ...)` reads it (SQL in `db/sql/catalog_*.sql` and `chk_*_bloat.sql`) for one
of two scopes: a schema and/or table, or everything (the health checks and index sets), or the
relations a workload names plus the relations their views use (the advisor: `names=`; it stays
small however large the schema). Everything else works on the dataclasses, so unit tests build a
`Catalog` by hand. Kept general on purpose: nothing here knows about a particular check.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from sys import intern
from typing import TYPE_CHECKING, Any

from perftool.gc_pause import gc_paused

if TYPE_CHECKING:
    import psycopg

    from perftool.db.beside import Beside

TableName = tuple[str, str]  # (schema, name) exactly as stored in the catalog

CATALOG_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")
C_COLLATIONS = ("C", "POSIX", "")

_SIMPLE_IDENT = re.compile(r"^[a-z_][a-z0-9_$]*$")


def quote_ident(name: str) -> str:
    """`name` as PostgreSQL prints an identifier: bare when it is lower-case and simple, else
    double-quoted (quote_ident's rule, without the keyword list)."""
    return name if _SIMPLE_IDENT.match(name) else '"' + name.replace('"', '""') + '"'


def qualified(schema: str, name: str) -> str:
    """`schema.name` for people and finding objects (unquoted: it is a label, not SQL)."""
    return f"{schema}.{name}"


# Above this many tables and indexes in the database, sizes come from pg_class page counts (as of
# the last VACUUM / ANALYZE) instead of pg_relation_size, which opens every relation: about 1.2 s
# for 30,000 indexes and 1.5 s for 10,000 tables (bench/schema_scale.py).
EXACT_SIZES_MAX = 5000
# a database of more tables and indexes than this reads its indexes and foreign keys on a second
# session while the first reads the columns (`perftool.db.beside`); below it a second session
# saves less than it costs to open
SIDE_READS_MIN_RELATIONS = 2000
VIEW_DEPTH = 4          # collect_catalog(names=…): views inlined this deep
PART_TABLES = 2500      # catalog_parts: tables per part (the health checks over a large schema)


@dataclass(slots=True)   # tens of thousands of these on large schemas
class ColumnInfo:
    name: str
    attnum: int = 0
    type: str = "integer"
    base_type: str = "int4"
    category: str = "N"               # pg_type.typcategory of the base type: A array, B boolean, S string…
    not_null: bool = False
    collation: str = ""
    null_frac: float | None = None    # pg_stats; None before the first ANALYZE
    n_distinct: float | None = None   # > 0 a count, < 0 minus a fraction of the rows
    avg_width: int | None = None
    correlation: float | None = None  # pg_stats: -1..1, physical order vs value order (BRIN)
    stats_visible: bool = True        # pg_stats shows this column to the role (it may SELECT it)
    btree_ok: bool = True             # a btree can index it (default operator class, array, enum…)

    @property
    def is_array(self) -> bool:
        return self.category == "A"

    @property
    def is_boolean(self) -> bool:
        return self.category == "B"

    def distinct_values(self, rows: float) -> float | None:
        if self.n_distinct is None:
            return None
        return self.n_distinct if self.n_distinct > 0 else -self.n_distinct * max(rows, 1.0)


@dataclass(slots=True)   # tens of thousands of these on large schemas
class IndexColumn:
    """One column of an index. `name` is the table column (None for an expression); `definition`
    is the column name or the expression as pg_get_indexdef prints it."""

    definition: str
    name: str | None = None
    opclass: str = ""
    opclass_default: bool = True
    collation: str = ""               # the index column's collation ("" when not collatable)
    column_collation: str = ""        # the table column's own collation (plain columns)
    descending: bool = False
    nulls_first: bool = False

    @property
    def is_expression(self) -> bool:
        return self.name is None

    @property
    def explicit_collation(self) -> str | None:
        """The collation when it differs from the column's (or, for an expression, from default)."""
        if not self.collation or self.collation == "default":
            return None
        if self.name is not None and self.collation == (self.column_collation or "default"):
            return None
        return self.collation

    def identity(self) -> tuple:
        """What makes two index columns the same: column or expression, operator class,
        collation, order and NULLS placement."""
        return (self.name if self.name is not None else "(" + self.definition + ")", self.opclass,
                self.collation, self.descending, self.nulls_first)


@dataclass(slots=True)   # tens of thousands of these on large schemas
class IndexInfo:
    name: str
    schema: str
    table: str
    columns: list[IndexColumn]                        # key columns, in order
    include: list[str] = field(default_factory=list)  # INCLUDE (non-key) columns
    oid: int = 0
    table_oid: int = 0
    kind: str = "i"                                   # i index, I partitioned index
    method: str = "btree"
    is_unique: bool = False
    is_primary: bool = False
    is_exclusion: bool = False
    is_valid: bool = True
    is_ready: bool = True
    predicate: str | None = None
    definition: str = ""
    size_bytes: int = 0
    idx_scan: int = 0
    constraint_type: str | None = None                # p, u or x when the index backs a constraint
    constraint_name: str | None = None
    is_attached: bool = False                         # a partition's index attached to a partitioned one

    @property
    def qualified(self) -> str:
        return qualified(self.schema, self.name)

    @property
    def table_qualified(self) -> str:
        return qualified(self.schema, self.table)

    @property
    def backs_constraint(self) -> bool:
        return self.constraint_type is not None

    @property
    def is_partial(self) -> bool:
        return bool(self.predicate)

    @property
    def column_names(self) -> list[str | None]:
        return [c.name for c in self.columns]

    @property
    def descending(self) -> list[bool]:
        return [c.descending for c in self.columns]

    @property
    def plain(self) -> bool:
        """Every key column with its type's default operator class, its own collation and NULLS in
        the default place: the index serves whatever a plain-column index would."""
        return all(c.opclass_default and c.explicit_collation is None and c.nulls_first == c.descending
                   for c in self.columns)

    def key_identity(self) -> tuple:
        return tuple(c.identity() for c in self.columns)

    def identity(self) -> tuple:
        """Equal for indexes that store the same thing in the same order: method, key columns
        (with operator classes, collations, order), INCLUDE columns and predicate. Uniqueness is
        not part of it: a plain index equal to a unique one is a duplicate of it."""
        return (self.method, self.key_identity(), tuple(sorted(self.include)), self.predicate or "")

    def columns_text(self) -> str:
        parts = []
        for c in self.columns:
            text = quote_ident(c.name) if c.name is not None else c.definition
            if c.descending:
                text += " DESC"
            parts.append(text)
        return ", ".join(parts)


@dataclass(slots=True)   # tens of thousands of these on large schemas
class ForeignKeyInfo:
    name: str
    schema: str
    table: str
    columns: list[str]
    ref_schema: str
    ref_table: str
    ref_columns: list[str]
    table_oid: int = 0
    oid: int = 0

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.table}.{self.name}"


@dataclass(slots=True)   # tens of thousands of these on large schemas
class TableInfo:
    schema: str
    name: str
    oid: int = 0
    kind: str = "r"                   # r table, p partitioned; names= scope also v view, m matview, f foreign
    is_partition: bool = False
    reltuples: float = 0.0
    relpages: int = 0
    n_live_tup: int = 0
    n_dead_tup: int = 0
    seq_scan: int = 0
    idx_scan: int = 0                 # summed from its indexes as they are read
    size_bytes: int = 0
    has_pk: bool = False              # one of its indexes is the primary key's
    replica_identity: str = "d"
    columns: dict[str, ColumnInfo] = field(default_factory=dict)
    indexes: list[IndexInfo] = field(default_factory=list)
    foreign_keys: list[ForeignKeyInfo] = field(default_factory=list)
    can_select: bool = True           # the session may read it (EXPLAIN and pg_stats need that)
    view_sql: str | None = None       # a view's definition
    partitions: list[TableName] = field(default_factory=list)   # a partitioned table's leaf partitions
    writes: dict[str, int] = field(default_factory=dict)        # row writes (writes=True), leaves summed
    unseen_write_rows: float = 0.0    # index entries written by statements not in the workload (advisor)

    @property
    def key(self) -> TableName:
        return (self.schema, self.name)

    @property
    def qualified(self) -> str:
        return qualified(self.schema, self.name)

    @property
    def stats_hidden(self) -> bool:
        """pg_stats hides some of its columns from this role (no SELECT privilege, or row security)."""
        return any(not c.stats_visible for c in self.columns.values())

    @property
    def rows(self) -> float:
        """The planner's row count (set by VACUUM and ANALYZE); the statistics counter before the
        table was ever analysed."""
        return self.reltuples if self.reltuples > 0 else float(self.n_live_tup)


@dataclass(slots=True)   # tens of thousands of these on large schemas
class SequenceInfo:
    schema: str
    name: str
    data_type: str = "bigint"
    min_value: int = 1
    max_value: int = 2**63 - 1
    increment: int = 1
    cycle: bool = False
    last_value: int | None = None
    owner_schema: str | None = None
    owner_table: str | None = None
    owner_column: str | None = None
    owner_type: str | None = None

    @property
    def qualified(self) -> str:
        return qualified(self.schema, self.name)


@dataclass(slots=True)   # tens of thousands of these on large schemas
class BloatEstimate:
    schema: str
    table: str
    index: str | None
    real_bytes: int
    bloat_bytes: int
    bloat_ratio: float
    fillfactor: int = 100
    reliable: bool = True
    oid: int = 0

    @property
    def qualified(self) -> str:
        return qualified(self.schema, self.index or self.table)


def supports_foreign_key(index: IndexInfo, fk: ForeignKeyInfo) -> bool:
    """Whether `index` serves lookups by the foreign key's columns: a valid, non-partial index
    whose leading key columns are exactly the key's columns (in any order)."""
    n = len(fk.columns)
    if not index.is_valid or index.is_partial or len(index.columns) < n:
        return False
    if index.method != "btree" and not (index.method == "hash" and n == 1):
        return False
    lead = [c.name for c in index.columns[:n]]
    return None not in lead and sorted(lead) == sorted(fk.columns)  # type: ignore[type-var]


@dataclass
class Catalog:
    """The collected relations (`tables`, looked up by (schema, name) with `get`, or through the
    search path with `resolve`) and the database facts the analyses need."""

    database: str = ""
    block_size: int = 8192
    stats_reset: _dt.datetime | None = None
    stats_age_s: float | None = None              # seconds the scan counters have been counting
    sizes_estimated: bool = False                 # sizes from page counts (a schema of > EXACT_SIZES_MAX relations)
    tables: list[TableInfo] = field(default_factory=list)
    sequences: list[SequenceInfo] = field(default_factory=list)
    table_bloat: list[BloatEstimate] = field(default_factory=list)
    index_bloat: list[BloatEstimate] = field(default_factory=list)   # bloat estimates: only those with some bloat
    search_path: list[str] = field(default_factory=lambda: ["pg_catalog", "public"])
    collation: str = "C"                          # the database default (LIKE-prefix support)
    all_columns: bool = True                      # False: TableInfo.columns holds only the checks' columns
    _by_key: dict[TableName, TableInfo] = field(default_factory=dict, init=False, repr=False, compare=False)

    def _keyed(self) -> dict[TableName, TableInfo]:
        if len(self._by_key) != len(self.tables):   # tables appended directly (unit tests build catalogs so)
            self._by_key = {t.key: t for t in self.tables}
        return self._by_key

    def add(self, table: TableInfo) -> TableInfo:
        keyed = self._keyed()
        self.tables.append(table)
        keyed[table.key] = table
        return table

    def get(self, key: TableName) -> TableInfo | None:
        return self._keyed().get(key)

    def table(self, schema: str, name: str) -> TableInfo | None:
        return self._keyed().get((schema, name))

    def resolve(self, schema: str | None, name: str) -> TableInfo | None:
        """The relation a (possibly unqualified) name means in this session, or None."""
        if schema:
            return self.get((schema, name))
        for s in self.search_path:
            found = self.get((s, name))
            if found is not None:
                return found
        return None

    def c_collation(self, column: ColumnInfo) -> bool:
        """Whether LIKE 'prefix%' can use a plain btree on this column (C / POSIX collation)."""
        coll = column.collation if column.collation not in ("", "default") else self.collation
        return coll in C_COLLATIONS

    def sizes_note(self) -> str | None:
        if not self.sizes_estimated:
            return None
        return (f"sizes are estimates from the catalog's page counts (as of each relation's last VACUUM or "
                f"ANALYZE): this database has more than {EXACT_SIZES_MAX:,} tables and indexes, and exact sizes "
                "would open every one of them")

    def by_key(self) -> dict[TableName, TableInfo]:
        return self._keyed()

    def named(self, names: Iterable[str], view_depth: int = VIEW_DEPTH) -> Catalog:
        """The part of a `names=` catalog that `collect_catalog(names=names)` reads: the relations
        called so and those their views use, `view_depth` views deep — from a catalog read for a
        superset of the names (`advisor.pipeline.read_catalog`)."""
        from perftool.workload.statement_text import relation_names

        frontier = {n for n in names if n}
        wanted = set(frontier)
        tables: list[TableInfo] = []
        for depth in range(view_depth + 1):     # in collect_catalog's order: by round, then (schema, name)
            round_ = sorted((t for t in self.tables if t.name in frontier), key=lambda t: t.key)
            tables += round_
            found = {n for t in round_ if t.view_sql for _schema, n in relation_names(t.view_sql)} - wanted
            if not found or depth == view_depth:
                break
            wanted |= found
            frontier = found
        return replace(self, tables=tables)

    def by_oid(self) -> dict[int, TableInfo]:
        return {t.oid: t for t in self.tables}

    @property
    def indexes(self) -> list[IndexInfo]:
        return [i for t in self.tables for i in t.indexes]

    @property
    def foreign_keys(self) -> list[ForeignKeyInfo]:
        return [k for t in self.tables for k in t.foreign_keys]


_NO_COLUMN: tuple[ColumnInfo | None, str] = (None, "")
_NO_NAME = ("", True)

# catalog_indexes.sql's columns, in order (iterate_tuples checks them)
INDEX_FIELDS = ("oid", "table_oid", "name", "kind", "method", "is_unique", "is_primary", "is_exclusion",
                "is_valid", "is_ready", "key_count", "attnums", "opclass_oids", "collation_oids", "options",
                "expression_defs", "predicate", "definition", "size_bytes", "idx_scan", "constraint_type",
                "constraint_name", "is_attached")


def index_from_row(row: tuple, table: TableInfo, opclass_names: dict[int, tuple[str, bool]],
                   collation_names: dict[int, str], by_attnum: dict[int, tuple[ColumnInfo, str]]) -> IndexInfo:
    """An IndexInfo of `table` from a catalog_indexes.sql row (a tuple of INDEX_FIELDS): plain
    columns resolved by attnum through `by_attnum` (the table's columns, each with its name as
    pg_get_indexdef prints it), operator classes and collations by oid through `opclass_names`
    (→ (name, is_default)) and `collation_names` (catalog_names.sql). indkey has an entry per column,
    indclass / indcollation / indoption one per key column; expression_defs (pg_get_indexdef per
    column) only when the index has expressions. Written for speed: it runs once per index of the
    database."""
    (oid, table_oid, name, kind, method, is_unique, is_primary, is_exclusion, is_valid, is_ready, keys,
     attnums, opclasses, collations, options, expressions, predicate, definition, size_bytes, idx_scan,
     constraint_type, constraint_name, is_attached) = row
    attnums = attnums or ()
    opclasses = opclasses or ()
    collations = collations or ()
    options = options or ()
    expressions = expressions or ()
    columns = []
    for i in range(min(keys, len(attnums))):
        attnum = attnums[i]
        opclass, opclass_default = opclass_names.get(opclasses[i] if i < len(opclasses) else 0, _NO_NAME)
        collation = collation_names.get(collations[i] if i < len(collations) else 0, "")
        option = (options[i] if i < len(options) else 0) or 0
        if attnum:
            col, quoted = by_attnum.get(attnum, _NO_COLUMN)
            columns.append(IndexColumn(quoted, col.name if col else None, opclass, bool(opclass_default), collation,
                                       col.collation if col else "", bool(option & 1), bool(option & 2)))
        else:
            columns.append(IndexColumn((expressions[i] if i < len(expressions) else "") or "", None, opclass,
                                       bool(opclass_default), collation, "", bool(option & 1), bool(option & 2)))
    include = []
    for i in range(keys, len(attnums)):
        col = by_attnum.get(attnums[i], _NO_COLUMN)[0]
        include.append(col.name if col else (expressions[i] if i < len(expressions) else "") or "")
    # positional (a third of the time of keywords; tests/unit/test_catalog_model.py pins the order)
    return IndexInfo(name, table.schema, table.name, columns, include, oid, table_oid, intern(kind), intern(method),
                     is_unique, is_primary, is_exclusion, is_valid, is_ready, predicate, definition or "",
                     size_bytes or 0, idx_scan or 0, constraint_type, constraint_name, is_attached)


def resolve_index_columns(index: IndexInfo, attnums: Sequence[int],
                          by_attnum: dict[int, tuple[ColumnInfo, str]]) -> None:
    """The plain key and INCLUDE columns of an IndexInfo made by `index_from_row` before its
    table's columns were read (with an empty `by_attnum`), from its row's attnums: named now, as
    `index_from_row` would have named them (INCLUDE columns are never expressions)."""
    keys = len(index.columns)
    for i, column in enumerate(index.columns):
        attnum = attnums[i]
        if attnum:
            col, quoted = by_attnum.get(attnum, _NO_COLUMN)
            column.definition, column.name = quoted, col.name if col else None
            column.column_collation = col.collation if col else ""
    if len(attnums) > keys:   # a column not read keeps what index_from_row gave it (its printed name, or "")
        index.include = [col.name if col else was for col, was in
                         zip((by_attnum.get(n, _NO_COLUMN)[0] for n in attnums[keys:]), index.include, strict=True)]


def _bloat(row: dict) -> BloatEstimate:
    return BloatEstimate(schema=row["schema"], table=row["table"], index=row["index"],
                         real_bytes=int(row["real_bytes"] or 0), bloat_bytes=int(row["bloat_bytes"] or 0),
                         bloat_ratio=float(row["bloat_ratio"] or 0.0), fillfactor=int(row["fillfactor"] or 100),
                         reliable=not row["is_na"], oid=int(row["oid"]))


def _int(value) -> int | None:
    return None if value is None else int(value)


def split_table(schema: str | None, table: str | None) -> tuple[str | None, str | None]:
    """`--table sch.tbl` without `--schema` means that schema."""
    if table and not schema and "." in table:
        schema, table = table.split(".", 1)
    return schema or None, table or None


def check_scope(conn: psycopg.Connection, schema: str | None, table: str | None, *, database: str = "") -> None:
    """A --schema or --table that names nothing is a usage error (exit 2), not an empty, passing run."""
    from perftool.db.errors import UsageError
    from perftool.db.sql import fetch_one

    found = fetch_one(conn, "catalog_scope", {"schema": schema, "table": table}) or {}
    where = f" in database {database}" if database else ""
    if not found.get("schema_exists", True):
        raise UsageError(f"schema {schema!r} does not exist{where}", "check --schema (\\dn in psql lists them)")
    if not found.get("table_exists", True):
        qualified_name = f"{schema}.{table}" if schema else table
        raise UsageError(f"table {qualified_name!r} does not exist{where}",
                         "check --table (schema.table, or --schema; \\dt in psql lists them)")



def collect_catalog(conn: psycopg.Connection, *, schema: str | None = None, table: str | None = None,
                    names: Iterable[str] | None = None, view_depth: int = VIEW_DEPTH, bloat: bool = True,
                    bloat_min_bytes: int = 0, sequences: bool = True, definitions: bool = True,
                    writes: bool = False, all_columns: bool = True, exact_sizes: bool = True) -> Catalog:
    """Read the catalog of the connected database in one transaction (one consistent view).

    Scope: the tables of one schema and/or table, or of the whole database (the default); or with
    `names` (stored names, case-folded already) the relations of any kind called so in any schema,
    and the relations their view definitions use, `view_depth` views deep (the advisor's scope).
    What: `bloat` estimates (of the tables and indexes of at least `bloat_min_bytes`: a smaller one
    cannot hold that much bloat, and skipping them spares the estimate's work on the many small
    tables of a large schema), `sequences`, every index's full pg_get_indexdef text (`definitions`,
    costly on large schemas; invalid indexes always have it), row `writes` (a partitioned
    table's summed over its partitions), and every column — or with `all_columns=False` only the
    columns the health checks look at (catalog_columns.sql: index keys and INCLUDE columns,
    foreign-key columns, every column of a table without a primary key), a third of the rows on
    a large schema; `Catalog.all_columns` says which. Sizes are exact (pg_table_size and
    pg_relation_size, which open each relation's files) unless the scope is a database of more
    than EXACT_SIZES_MAX relations or `exact_sizes=False` (the advisor, which uses no size: on
    1,000 named tables with 3,000 indexes the exact sizes were 0.2 s of its catalog read): then
    the page counts (`Catalog.sizes_estimated`)."""
    (part,) = _read_catalog(conn, schema=schema, table=table, names=names, view_depth=view_depth, bloat=bloat,
                            bloat_min_bytes=bloat_min_bytes, sequences=sequences, definitions=definitions,
                            writes=writes, all_columns=all_columns, exact_sizes=exact_sizes, part_tables=None)
    return part


def catalog_parts(conn: psycopg.Connection, *, schema: str | None = None, table: str | None = None,
                  bloat: bool = True, bloat_min_bytes: int = 0, sequences: bool = True, definitions: bool = True,
                  all_columns: bool = True, part_tables: int | None = None) -> Iterator[Catalog]:
    """`collect_catalog`'s catalog of a schema, table or the whole database in parts of about
    `part_tables` (default PART_TABLES) tables each, a partitioned table with every partition
    under it in one part, read in one transaction: each part's columns, indexes, foreign keys and
    bloat once the caller is done with the part before (the sequences come with the first part).
    For a caller that looks at one table at a time (the health checks): what is held is one
    part's catalog, not the whole database's (on 10,000 tables with 30,000 indexes, ~30 MB of
    objects). The parts hold the same facts as `collect_catalog`'s one catalog (the database
    facts repeated in each); a scope of at most `part_tables` tables is one part."""
    yield from _read_catalog(conn, schema=schema, table=table, names=None, view_depth=0, bloat=bloat,
                             bloat_min_bytes=bloat_min_bytes, sequences=sequences, definitions=definitions,
                             writes=False, all_columns=all_columns, exact_sizes=True,
                             part_tables=part_tables or PART_TABLES)


def _read_catalog(conn: psycopg.Connection, *, schema: str | None, table: str | None, names: Iterable[str] | None,
                  view_depth: int, bloat: bool, bloat_min_bytes: int, sequences: bool, definitions: bool,
                  writes: bool, all_columns: bool, exact_sizes: bool, part_tables: int | None) -> Iterator[Catalog]:
    """collect_catalog and catalog_parts: the relations of the scope, then the rest of the catalog
    part by part (`part_tables` None: one part)."""
    from perftool.db.beside import Beside
    from perftool.db.sql import fetch_one, read_transaction

    schema, table = split_table(schema, table)
    # the collector paused: 10,000 tables are ~100,000 objects, no cycles among them
    with gc_paused(), read_transaction(conn, "catalog_session"):
        db = fetch_one(conn, "catalog_database") or {}
        age = db.get("stats_age")
        catalog = Catalog(database=db.get("database", ""), block_size=int(db.get("block_size") or 8192),
                          sizes_estimated=not exact_sizes or (names is None
                                                              and int(db.get("relations") or 0) > EXACT_SIZES_MAX),
                          stats_reset=db.get("stats_reset"),
                          stats_age_s=age.total_seconds() if isinstance(age, _dt.timedelta) else None,
                          search_path=list(db.get("search_path") or ["pg_catalog", "public"]),
                          collation=db.get("collate") or "C", all_columns=all_columns)
        # a large scope reads its columns beside its indexes: the whole database or a schema of a
        # large one (not one table, nor the few relations a workload names)
        many = int(db.get("relations") or 0) > SIDE_READS_MIN_RELATIONS and names is None and not table
        side: Beside[_ColumnsRead] | None = Beside(conn) if many else None     # opening while the tables are read
        scope = {"schema": schema, "table": table}
        try:
            _read_relations(conn, catalog, scope, names, view_depth)
            parts = _parts(catalog, part_tables)
            del catalog     # each part's tables only in its part: let go with it
            for i in range(len(parts)):
                part, parts[i] = parts[i], None
                assert part is not None
                if side is None and many:
                    side = Beside(conn)
                _read_details(conn, part, side, definitions=definitions, all_columns=all_columns, writes=writes,
                              bloat=bloat, bloat_min_bytes=bloat_min_bytes)
                if side is not None:
                    side.close()
                    side = None
                if sequences and i == 0:
                    _read_sequences(conn, part, scope)
                yield part
                del part
        finally:
            if side is not None:
                side.close()


def _read_relations(conn: psycopg.Connection, catalog: Catalog, scope: dict, names: Iterable[str] | None,
                    view_depth: int) -> None:
    """The scope's relations into `catalog` (with the names of partitioned tables' partitions)."""
    from perftool.db.sql import fetch_all, iterate_tuples, oid_array
    from perftool.workload.statement_text import relation_names

    schema, table = scope["schema"], scope["table"]
    if names is None and (schema or table):
        check_scope(conn, schema, table, database=catalog.database)
    wanted: set[str] | None = None if names is None else {n for n in names if n}
    seen: set[str] = set()
    for _ in range(view_depth + 1 if wanted is not None else 1):
        todo = None if wanted is None else sorted(wanted - seen)
        if todo is not None and not todo:
            break
        seen |= set(todo or ())
        params = {**scope, "names": todo, "estimate_sizes": catalog.sizes_estimated}
        for (oid, schema_name, name, kind, is_partition, reltuples, relpages, n_live_tup, n_dead_tup, seq_scan,
             table_bytes, replica_identity, view_sql, can_select) in iterate_tuples(
                conn, "catalog_tables", params, TABLE_FIELDS):
            # positional (tests/unit/test_catalog_model.py pins the order)
            found = catalog.add(TableInfo(
                intern(schema_name), name, oid, intern(kind), is_partition, reltuples or 0.0, relpages or 0,
                n_live_tup or 0, n_dead_tup or 0, seq_scan or 0, 0, table_bytes or 0, False,
                intern(replica_identity or "d"), {}, [], [], can_select, view_sql))
            if found.view_sql and wanted is not None:
                wanted.update(name for _schema, name in relation_names(found.view_sql))
    parents = [t for t in catalog.tables if t.kind == "p"]
    if parents:
        by_oid = {t.oid: t for t in parents}
        for row in fetch_all(conn, "catalog_partitions", {"oids": oid_array(by_oid)}):
            by_oid[int(row["parent_oid"])].partitions.append((row["schema"], row["name"]))


def _parts(catalog: Catalog, part_tables: int | None) -> list[Catalog | None]:
    """The catalog's tables in parts of about `part_tables` (None: one part, the catalog itself),
    in the catalog's order, a partitioned table and every partition under it in the same part."""
    if part_tables is None or len(catalog.tables) <= part_tables:
        return [catalog]
    by_key = catalog.by_key()
    root: dict[TableName, TableName] = {}

    def find(key: TableName) -> TableName:
        while root.get(key, key) != key:
            key = root[key] = root.get(root[key], root[key])
        return key

    for t in catalog.tables:
        for leaf in t.partitions:
            if leaf in by_key:
                a, b = find(t.key), find(leaf)
                if a != b:
                    root[b] = a
    families: dict[TableName, list[TableInfo]] = {}
    for t in catalog.tables:
        families.setdefault(find(t.key), []).append(t)
    parts: list[Catalog | None] = []
    current: list[TableInfo] = []
    for family in families.values():
        if current and len(current) + len(family) > part_tables:
            parts.append(_part_of(catalog, current))
            current = []
        current.extend(family)
    if current:
        parts.append(_part_of(catalog, current))
    return parts


def _part_of(catalog: Catalog, tables: list[TableInfo]) -> Catalog:
    part = replace(catalog, tables=[], sequences=[], table_bloat=[], index_bloat=[],
                   search_path=list(catalog.search_path))
    for t in tables:
        part.add(t)
    return part


def _read_details(conn: psycopg.Connection, catalog: Catalog, side: Beside[_ColumnsRead] | None, *,
                  definitions: bool, all_columns: bool, writes: bool, bloat: bool, bloat_min_bytes: int) -> None:
    """Columns, indexes and foreign keys of the catalog's tables, their row writes and bloat."""
    from perftool.db.sql import fetch_all, oid_array

    by_oid = catalog.by_oid()
    if not by_oid:
        return
    oids = list(by_oid)
    _collect_tables(conn, catalog, by_oid, definitions, catalog.sizes_estimated, all_columns, side)
    if writes:
        for row in fetch_all(conn, "catalog_table_writes", {"oids": oid_array(oids)}):
            by_oid[int(row["oid"])].writes = {k: int(row[k] or 0) for k in WRITE_COUNTERS}
    if bloat:
        big = [t.oid for t in catalog.tables if t.size_bytes >= bloat_min_bytes]
        if big:
            catalog.table_bloat = [_bloat(r) for r in fetch_all(conn, "chk_table_bloat", {"oids": oid_array(big)})]
        big = [t.oid for t in catalog.tables if any(i.size_bytes >= bloat_min_bytes for i in t.indexes)]
        if big:
            catalog.index_bloat = [_bloat(r) for r in fetch_all(conn, "chk_index_bloat", {"oids": oid_array(big)})]


def _read_sequences(conn: psycopg.Connection, catalog: Catalog, scope: dict) -> None:
    from perftool.db.sql import fetch_all

    for row in fetch_all(conn, "catalog_sequences", scope):
        catalog.sequences.append(SequenceInfo(
            schema=row["schema"], name=row["name"], data_type=row["data_type"],
            min_value=int(row["min_value"]), max_value=int(row["max_value"]),
            increment=int(row["increment"]), cycle=bool(row["cycle"]), last_value=_int(row["last_value"]),
            owner_schema=row["owner_schema"], owner_table=row["owner_table"],
            owner_column=row["owner_column"], owner_type=row["owner_type"]))


WRITE_COUNTERS = ("n_tup_ins", "n_tup_upd", "n_tup_hot_upd", "n_tup_del", "seq_scan", "idx_scan", "n_live_tup")


# catalog_tables.sql's columns, in order (iterate_tuples checks them)
TABLE_FIELDS = ("oid", "schema", "name", "kind", "is_partition", "reltuples", "relpages", "n_live_tup", "n_dead_tup",
                "seq_scan", "table_bytes", "replica_identity", "view_sql", "can_select")

# catalog_columns.sql's and catalog_column_stats.sql's columns, in order (iterate_tuples checks them)
COLUMN_FIELDS = ("table_oid", "attnum", "name", "type", "base_type", "category", "not_null", "collation_oid",
                 "stats_visible", "btree_ok", "quoted")
STATS_FIELDS = ("schema", "table", "name", "inherited", "null_frac", "n_distinct", "avg_width", "correlation")


Attnums = dict[int, dict[int, tuple["ColumnInfo", str]]]   # table oid → attnum → (column, name as printed)
_ColumnsRead = tuple[Attnums, list[dict]]                   # _read_columns: the columns, the foreign-key rows


def _read_columns(conn: psycopg.Connection, by_oid: dict[int, TableInfo], params: dict, all_columns: bool,
                  collation_names: dict[int, str]) -> _ColumnsRead:
    """The tables' columns (catalog_columns.sql) into their TableInfo, with the planner's statistics
    (catalog_column_stats.sql), then the foreign keys' rows (catalog_foreign_keys.sql). Returns the
    columns by table oid and attnum (index columns are matched so) and the foreign-key rows. On the
    caller's session, or on a sibling beside it (`_collect_tables`): in either case inside a
    read-only transaction with the catalog settings."""
    from perftool.db.sql import execute, fetch_all, iterate_tuples

    by_attnum: Attnums = {}
    # Column names, types and collations repeat across the tables of a schema (id, created_at,
    # integer …): interned, 70,000 columns hold a few thousand strings instead of 400,000.
    table = None
    attnums: dict[int, tuple[ColumnInfo, str]] = {}
    for (oid, attnum, name, type_, base_type, category, not_null, collation_oid, stats_visible, btree_ok,
         quoted) in iterate_tuples(conn, "catalog_columns", {**params, "all_columns": all_columns}, COLUMN_FIELDS):
        if table is None or table.oid != oid:
            table, attnums = by_oid[oid], by_attnum.setdefault(oid, {})
        name = intern(name)
        # positional (a third of the time of keywords; tests/unit/test_catalog_model.py pins the order)
        col = table.columns[name] = ColumnInfo(
            name, attnum, intern(type_), intern(base_type or ""), intern(category or ""), not_null,
            collation_names.get(collation_oid, ""), None, None, None, None, stats_visible, btree_ok)
        attnums[attnum] = (col, intern(quoted) if quoted else name)
    by_name = {t.key: t for t in by_oid.values()}
    execute(conn, "catalog_nestloop", {"on": "on"})
    for (schema, table_name, name, inherited, null_frac, n_distinct, avg_width,
         correlation) in iterate_tuples(conn, "catalog_column_stats", {
             "schemas": sorted({t.schema for t in by_name.values()}),
             "tables": sorted({t.name for t in by_name.values()})}, STATS_FIELDS):
        found = by_name.get((schema, table_name))
        column = found.columns.get(name) if found is not None and inherited == (found.kind == "p") else None
        if column is not None:
            column.null_frac, column.n_distinct, column.avg_width, column.correlation = (
                null_frac, n_distinct, avg_width, correlation)
    foreign_keys = fetch_all(conn, "catalog_foreign_keys", params)     # nested loops too (its comment)
    execute(conn, "catalog_nestloop", {"on": "off"})
    return by_attnum, foreign_keys


def _read_columns_beside(conn: psycopg.Connection, *args: Any) -> _ColumnsRead:
    from perftool.db.sql import read_transaction

    with read_transaction(conn, "catalog_session"):
        return _read_columns(conn, *args)


def _collect_tables(conn: psycopg.Connection, catalog: Catalog, by_oid: dict[int, TableInfo],
                    definitions: bool, estimate_sizes: bool, all_columns: bool,
                    side: Beside[_ColumnsRead] | None = None) -> None:
    """Columns (and their statistics), indexes and foreign keys of the catalog's tables: one query
    each, whatever the number of tables. With `side` (a large schema), the columns and foreign
    keys on its sibling session while this one reads the indexes, whose plain columns are named
    once the columns are in (`resolve_index_columns`)."""
    from perftool.db.sql import fetch_all, iterate_tuples, oid_array

    params = {"oids": oid_array(by_oid)}
    index_params = {**params, "definitions": definitions, "estimate_sizes": estimate_sizes}
    opclass_names: dict[int, tuple[str, bool]] = {}
    collation_names: dict[int, str] = {}
    for r in fetch_all(conn, "catalog_names"):
        if r["kind"] == "opclass":
            opclass_names[int(r["oid"])] = (r["name"], r["is_default"])
        else:
            collation_names[int(r["oid"])] = r["name"]
    columns_args = (by_oid, params, all_columns, collation_names)
    no_columns: dict[int, tuple[ColumnInfo, str]] = {}
    # indexes read before their tables' columns, and their attnums (what naming them needs; not
    # the whole row: 30,000 rows held would be 20 MB): two flat lists, the tuples shared
    unnamed: list[IndexInfo] = []
    unnamed_attnums: list[tuple[int, ...]] = []
    shared_attnums: dict[tuple[int, ...], tuple[int, ...]] = {}   # a few hundred distinct among 30,000
    beside = side is not None and side.available()
    if beside:
        assert side is not None
        side.submit(lambda sibling: _read_columns_beside(sibling, *columns_args))
        by_attnum: Attnums = {}
        fk_rows: list[dict] = []
    else:
        by_attnum, fk_rows = _read_columns(conn, *columns_args)
    table = None
    for index_row in iterate_tuples(conn, "catalog_indexes", index_params, INDEX_FIELDS):
        oid = index_row[1]
        if table is None or table.oid != oid:
            table = by_oid[oid]
        index = index_from_row(index_row, table, opclass_names, collation_names, by_attnum.get(oid, no_columns))
        if beside:
            nums = tuple(index_row[11] or ())
            unnamed.append(index)
            unnamed_attnums.append(shared_attnums.setdefault(nums, nums))
        table.indexes.append(index)
        # pg_stat_user_tables' idx_scan: the scans of the table's own indexes (a partitioned
        # index has no counters of its own; its IndexInfo sums its partitions')
        if index.kind == "i":
            table.idx_scan += index.idx_scan
        if index.is_primary:
            table.has_pk = True
    if beside:
        assert side is not None
        done, read = side.result()
        assert done and read is not None
        by_attnum, fk_rows = read
        for index, nums in zip(unnamed, unnamed_attnums, strict=True):
            resolve_index_columns(index, nums, by_attnum.get(index.table_oid, no_columns))
    for row in fk_rows:
        by_oid[int(row["table_oid"])].foreign_keys.append(ForeignKeyInfo(
            name=row["name"], schema=row["schema"], table=row["table"], columns=list(row["columns"] or []),
            ref_schema=row["ref_schema"], ref_table=row["ref_table"],
            ref_columns=list(row["ref_columns"] or []), table_oid=int(row["table_oid"]), oid=int(row["oid"])))


def collect_index_usage(conn: psycopg.Connection) -> dict[str, int]:
    """`schema.index` → idx_scan on this host."""
    from perftool.db.sql import fetch_all

    return {qualified(r["schema"], r["name"]): int(r["idx_scan"] or 0) for r in fetch_all(conn, "catalog_index_usage")}
