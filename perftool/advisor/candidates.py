"""Candidate indexes: for each statement's table accesses, every indexable column alone (Extend's
single-attribute indexes) plus query-shaped multi-column indexes up to `max_width` — equality and
join columns first (each order), then one range column or the ORDER BY columns (with their
directions), GROUP BY column lists, and partial indexes for constant predicates on low-cardinality
columns. Candidates an existing index already covers (as a prefix) are dropped. Also the size
estimate of an index without HypoPG."""

from __future__ import annotations

import itertools
import math

from perftool.advisor.indexdef import IndexDef
from perftool.advisor.items import Item
from perftool.advisor.predicates import Access, Constant, is_expression
from perftool.catalog.schema import Catalog, ColumnInfo, TableInfo, TableName
from perftool.gc_pause import gc_paused
from perftool.workload.statement_text import collect_young

PAGE = 8192
LOW_CARDINALITY = 20            # at most this many distinct values: a constant on it makes a partial index
MAX_EQUALITY_PERMUTED = 5       # beyond this many equality columns only their written order is tried
BRIN_MIN_ROWS = 100_000        # BRIN: only for tables at least this large …
BRIN_CORRELATION = 0.9         # … whose column follows the physical order this closely …
APPEND_ONLY_CHANGES = 0.05     # … with at most this many updates + deletes per insert
PATTERN_OPS = {"text": "text_pattern_ops", "varchar": "varchar_pattern_ops", "bpchar": "bpchar_pattern_ops"}


def _source(table: TableInfo, access: Access, key: str) -> ColumnInfo | None:
    """The column a key reads: itself, or the one column of an expression key."""
    if is_expression(key):
        e = access.expressions.get(key)
        return table.columns.get(e.columns[0]) if e is not None and len(e.columns) == 1 else None
    return table.columns.get(key)


def _key_ok(table: TableInfo, access: Access, key: str) -> bool:
    """Whether a btree can have `key`: a column with a btree operator class, or an expression
    PostgreSQL accepts in an index (immutable on that column's type: lower(text), date_trunc and
    ::date of a timestamp without time zone, json(b) ->> 'k')."""
    if not is_expression(key):
        info = table.columns.get(key)
        return info is not None and info.btree_ok
    e = access.expressions.get(key)
    info = _source(table, access, key)
    if e is None or info is None:
        return False
    return {"lower": info.category == "S", "upper": info.category == "S",
            "date_trunc": info.base_type == "timestamp", "date": info.base_type == "timestamp",
            "json_text": info.base_type in ("json", "jsonb")}.get(e.kind, False)


def _opclass(table: TableInfo, catalog: Catalog, access: Access, column: str) -> str:
    """A pattern operator class when the column serves only LIKE 'prefix%' and its collation is not C."""
    info = _source(table, access, column)
    if info is None or column not in access.like_prefix or catalog.c_collation(info):
        return ""
    if is_expression(column):   # lower(col) / upper(col) are text, whatever col's type
        return "text_pattern_ops"
    if column in access.equality or column in access.join or column in {c for c, _ in access.order}:
        return ""
    return PATTERN_OPS.get(info.base_type, "")


def make_index(table: TableInfo, catalog: Catalog, access: Access, columns: list[str], desc: list[bool] | None = None,
               where: tuple[Constant, ...] = (), memo: dict | None = None) -> IndexDef | None:
    """A btree on `columns` of `table` (None when a column is missing or has no btree operator class).
    `memo` (one per generate_candidates call) keeps the answers that depend on the table alone (no
    LIKE 'prefix%' column, no expression key): each is made once, and the same object serves every
    statement that asks for it."""
    key = None
    if memo is not None and not access.like_prefix and not access.expressions:
        key = (table.key, tuple(columns), tuple(desc) if desc else None, where)
        if key in memo:
            return memo[key]
    ix = _make_index(table, catalog, access, columns, desc, where)
    if memo is not None and key is not None:
        memo[key] = ix
    return ix


def _make_index(table: TableInfo, catalog: Catalog, access: Access, columns: list[str], desc: list[bool] | None,
                where: tuple[Constant, ...]) -> IndexDef | None:
    if not columns or len(set(columns)) != len(columns):
        return None
    if not all(_key_ok(table, access, c) for c in columns):
        return None
    # only a LIKE 'prefix%' column can need an operator class
    ops = tuple(_opclass(table, catalog, access, c) for c in columns) if access.like_prefix else ()
    return IndexDef(schema=table.schema, table=table.name, columns=tuple(columns),
                    desc=tuple(desc) if desc else (), opclasses=ops, where=where)


def _low_cardinality(table: TableInfo, const: Constant) -> bool:
    info = table.columns.get(const.column)
    if info is None:
        return False
    if const.op in ("IS NULL", "IS NOT NULL"):
        frac = info.null_frac if info.null_frac is not None else 0.0
        share = frac if const.op == "IS NULL" else 1.0 - frac
        return share < 0.5  # few rows match: a partial index on the rest stays small
    distinct = info.distinct_values(table.reltuples)
    return distinct is not None and 0 < distinct <= LOW_CARDINALITY


def append_only(table: TableInfo) -> bool:
    """Rows are inserted, hardly ever updated or deleted (pg_stat_user_tables since its reset; a
    table without counters counts as append-only: its correlation decides)."""
    w = table.writes
    if not w:
        return True
    changed = w.get("n_tup_upd", 0) + w.get("n_tup_del", 0)
    return changed <= APPEND_ONLY_CHANGES * max(w.get("n_tup_ins", 0), 1)


def brin_fits(table: TableInfo, column: str) -> bool:
    """A BRIN candidate for a range filter on `column`: a large table (BRIN_MIN_ROWS), append-only,
    whose column values follow the physical row order (|pg_stats.correlation| ≥ BRIN_CORRELATION)."""
    if is_expression(column):
        return False
    info = table.columns.get(column)
    if info is None or info.correlation is None or not info.btree_ok:
        return False
    return (table.reltuples >= BRIN_MIN_ROWS and abs(info.correlation) >= BRIN_CORRELATION
            and append_only(table))


def is_example_literal(const: Constant) -> bool:
    """`col = literal` with a literal that is not a boolean: an example value of a parameter (what
    pg_stat_statements would show as `$n`) unless the workload repeats it or `--literals constant`.
    `IS [NOT] NULL`, boolean columns and `NOT col` are predicates, not values."""
    return const.op == "=" and not isinstance(const.value, bool)


def workload_constants(items: list[Item]) -> set[tuple[TableName, Constant]]:
    """(table, `col = literal`) pairs that two or more different statements share: constants of the
    application (`status = 'active'` in every dashboard query), not example values."""
    texts: dict[tuple[TableName, Constant], set[str]] = {}
    for it in items:
        text = " ".join(it.statement.text.split())
        for acc in it.analysis.accesses:
            for const in acc.constants:
                if is_example_literal(const):
                    texts.setdefault((acc.table, const), set()).add(text)
    return {key for key, seen in texts.items() if len(seen) >= 2}


class LiteralPolicy:
    """Which constant predicates may become partial-index predicates (`--literals`)."""

    def __init__(self, items: list[Item], literals: str = "example"):
        self.trust_all = literals == "constant"
        self.repeated = set() if self.trust_all else workload_constants(items)

    def trusted(self, table: TableName, const: Constant) -> bool:
        return self.trust_all or not is_example_literal(const) or (table, const) in self.repeated

    def constants(self, access: Access) -> list[Constant]:
        return [c for c in access.constants if self.trusted(access.table, c)]


def access_candidates(access: Access, table: TableInfo, catalog: Catalog, max_width: int,
                      partial: bool = True, constants: list[Constant] | None = None,
                      memo: dict | None = None) -> list[IndexDef]:
    """Indexes that could serve one access, in a deterministic order (singles first). Partial
    indexes are made for `constants` (default: all of the access's constant predicates). `memo`:
    see make_index."""
    out: dict[IndexDef, None] = {}      # insertion-ordered set

    def add(ix: IndexDef | None) -> None:
        if ix is not None:
            out.setdefault(ix, None)

    def mk(columns: list[str], desc: list[bool] | None = None, where: tuple[Constant, ...] = ()) -> IndexDef | None:
        return make_index(table, catalog, access, columns, desc, where, memo)

    for c in access.indexable:
        add(mk([c]))
    for c in access.range:
        if brin_fits(table, c):
            add(IndexDef(schema=table.schema, table=table.name, columns=(c,), method="brin"))
    eq = list(dict.fromkeys(c for c in [*access.equality, *access.join] if c in table.columns))
    ranges = [c for c in access.range if c not in eq]
    order = access.order
    order_columns = [c for c, _ in order]
    groups = access.group
    ordered_set = set(order_columns)
    orders_eq = [c for c in eq if c not in ordered_set]
    perms: list[tuple[str, ...]] = []
    for k in range(1, min(len(eq), max_width) + 1 if max_width >= 2 else 0):
        source = itertools.permutations(eq, k) if len(eq) <= MAX_EQUALITY_PERMUTED else [tuple(eq[:k])]
        perms.extend(source)
    for p in perms:
        if len(p) >= 2:
            add(mk(list(p)))
        if len(p) < max_width:
            for r in ranges:
                add(mk([*p, r]))
    if order and max_width >= 2:
        add(mk(order_columns[:max_width], [d for _, d in order][:max_width]))
        room = max_width - 1
        for e in orders_eq:
            if room >= 1:
                add(mk([e, *order_columns[:room]], [False, *[d for _, d in order][:room]]))
    if len(groups) >= 2 and max_width >= 2:
        add(mk(groups[:max_width]))
    trusted = access.constants if constants is None else constants
    filters = access.filter_columns if partial and trusted else []
    directions = dict(order)
    for const in trusted if partial else []:
        # a literal the policy trusts (repeated in the workload, or --literals constant) is a
        # predicate of the application whatever its column's cardinality; a constant given
        # without that (the default list) must keep few rows out of few values
        if (constants is None or not is_example_literal(const)) and not _low_cardinality(table, const):
            continue
        keys: list[list[str]] = [[c] for c in filters if c != const.column]
        ordered = [c for c in order_columns if c != const.column]
        if order:
            keys.append(ordered[:max_width])
        for e in [c for c in eq if c != const.column]:
            for r in ranges:
                if r != const.column:
                    keys.append([e, r][:max_width])
            if ordered and e not in ordered:
                keys.append([e, *ordered][:max_width])          # equality, then the ORDER BY (… LIMIT)
        for key in keys:
            key = key[:max_width]
            if key:
                desc = [directions.get(c, False) for c in key] if order and any(c in directions for c in key) else None
                add(mk(key, desc, where=(const,)))
    return list(out)


def existing_defs(table: TableInfo) -> list[IndexDef]:
    """The table's valid plain-column btree indexes as IndexDefs (expression and partial indexes, and
    those with another operator class, collation or NULLS order, left out: they cover no plain
    candidate; the planner still sees them when it costs)."""
    out = []
    for ix in table.indexes:
        names = ix.column_names
        if not ix.is_valid or ix.method != "btree" or any(c is None for c in names) or not names \
                or ix.predicate or not ix.plain:
            continue
        out.append(IndexDef(schema=table.schema, table=table.name, columns=tuple(c for c in names if c),
                            desc=tuple(ix.descending[:len(ix.columns)]), include=tuple(ix.include)))
    return out


def covered_by(candidate: IndexDef, existing: list[IndexDef]) -> IndexDef | None:
    """An existing index that already serves whatever `candidate` would (candidate is its prefix).
    A partial candidate is never covered: `existing` holds no partial index, and a full index on its
    key columns does not skip the rows its predicate leaves out."""
    if not existing or candidate.where or candidate.method != "btree":
        return None
    plain = IndexDef(schema=candidate.schema, table=candidate.table, columns=candidate.columns,
                     desc=candidate.desc, include=candidate.include, opclasses=candidate.opclasses)
    for e in existing:
        if plain.prefix_of(e):
            return e
    return None


def generate_candidates(items: list[Item], catalog: Catalog, max_width: int,
                        partial: bool = True, literals: str = "example") -> tuple[list[IndexDef], dict[IndexDef, str]]:
    """Candidates of every usable statement (deduplicated, deterministic order) and the ones that
    existing indexes cover (candidate → the covering index's label). Partial indexes only for the
    constants `LiteralPolicy(items, literals)` trusts."""
    with gc_paused():      # tens of thousands of IndexDefs on a large workload, none of them garbage
        return _generate(items, catalog, max_width, partial, literals)


def _generate(items: list[Item], catalog: Catalog, max_width: int, partial: bool,
              literals: str) -> tuple[list[IndexDef], dict[IndexDef, str]]:
    policy = LiteralPolicy(items, literals)
    seen: dict[IndexDef, None] = {}
    covered: dict[IndexDef, str] = {}
    existing = {t.key: existing_defs(t) for t in catalog.tables}
    memo: dict = {}
    for it in items:
        collect_young()
        own: list[IndexDef] = []
        for acc in it.analysis.accesses:
            table = catalog.get(acc.table)
            if table is None:
                continue
            for ix in access_candidates(acc, table, catalog, max_width, partial, policy.constants(acc), memo):
                if ix in covered:
                    continue
                if ix not in seen:
                    cover = covered_by(ix, existing.get(acc.table, []))
                    if cover is not None:
                        covered[ix] = _existing_name(table, cover)
                        continue
                    seen[ix] = None
                own.append(ix)
        it.seed, it.seed_keys = frozenset(own), None
    return list(seen), covered


def _existing_name(table: TableInfo, ix: IndexDef) -> str:
    for info in table.indexes:
        if tuple(c for c in info.column_names if c) == ix.columns:
            return info.name
    return ix.label()


def selectivity(const: Constant, table: TableInfo) -> float | None:
    """The share of `table`'s rows a constant predicate keeps, from pg_stats (None: unknown)."""
    info = table.columns.get(const.column)
    if info is None:
        return None
    if const.op in ("IS NULL", "IS NOT NULL"):
        if info.null_frac is None:
            return None
        return info.null_frac if const.op == "IS NULL" else 1.0 - info.null_frac
    distinct = info.distinct_values(table.reltuples)
    if isinstance(const.value, bool):
        distinct = 2.0
    return (1.0 - (info.null_frac or 0.0)) / distinct if distinct and distinct > 0 else None


def estimated_size(ix: IndexDef, table: TableInfo) -> int:
    """A btree's size from row count and column widths (fill factor 90 %, 16 bytes overhead per entry);
    a partial index holds the rows its predicate keeps (pg_stats; a fifth when unknown)."""
    width = sum((table.columns[c].avg_width or 8) if c in table.columns else 8 for c in (*ix.columns, *ix.include))
    rows = max(table.reltuples, 1.0)
    for const in ix.where:
        share = selectivity(const, table)
        rows *= 0.2 if share is None else share
    entry = 16 + 8 * math.ceil(width / 8)
    return int(max(PAGE * 2, rows * entry / 0.9 + PAGE))
