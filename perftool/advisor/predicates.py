"""Which columns a statement could use an index for, per base table (sqlglot, no server needed).

For each statement the analysis finds every *access* — one use of a base table in one query block
— and records how that block uses the table's columns:

- **equality**: `col = const`, `col IN (…)`, `col = ANY($1)` and `= ANY(ARRAY[…])` (read like IN),
  `col IS NULL`, a bare boolean column, and conditions that every branch of an OR shares
  (`(a = 1 AND b = 2) OR (a = 3 AND b = 4)`);
- **range**: `<`, `<=`, `>`, `>=`, `BETWEEN`, and `LIKE 'prefix%'` (which needs a pattern operator
  class unless the column's collation is C);
- **join**: `col = other.col` with another table, `USING (…)`, `col IN (SELECT …)` and
  `col = ANY(SELECT …)`, and correlated references from subqueries (`EXISTS (SELECT … WHERE l.k = o.k)`);
- **order** (with direction) and **group** columns, and whether the block has a LIMIT;
- **constants**: `col = literal`, `col IS [NOT] NULL`, `bool_col` — partial-index predicates.

Names are resolved the way PostgreSQL does: unquoted identifiers fold to lower case, quoted ones
keep theirs; aliases, CTEs, derived tables (with column lists), correlated subqueries, and views
(inlined from their definitions, recursively) lead back to base-table columns; unqualified tables
follow the session's search path. UPDATE and DELETE are analysed as the SELECT that finds their
rows; INSERT … SELECT through its SELECT.

`analyze(text, catalog)` never raises: a statement it cannot use comes back with `skip` set to a
reason a person can act on (parse error, DDL, unknown table, catalog-only, foreign table …).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from psycopg import sql
from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope

from perftool.catalog.schema import CATALOG_SCHEMAS, Catalog, TableInfo, TableName
from perftool.workload.statement_text import (
    outline,
    parameter_count,
    parse_normalized,
    strip_leading_comments,
    unlink_tree,
)

MAX_VIEW_DEPTH = 6
UTILITY_WORDS = frozenset(
    "ABORT ALTER ANALYZE BEGIN CALL CHECKPOINT CLOSE CLUSTER COMMENT COMMIT COPY CREATE DEALLOCATE DECLARE DISCARD "
    "DO DROP END EXECUTE EXPLAIN FETCH GRANT IMPORT LISTEN LOAD LOCK MOVE NOTIFY PREPARE REASSIGN REFRESH REINDEX "
    "RELEASE RESET REVOKE ROLLBACK SAVEPOINT SECURITY SET SHOW START TRUNCATE UNLISTEN VACUUM".split())

EQUALITY, RANGE, JOIN = "equality", "range", "join"


class StatementKind(str, Enum):
    """What a statement does, as far as indexes care."""

    SELECT = "SELECT"
    INSERT = "INSERT"
    UPDATE = "UPDATE"
    DELETE = "DELETE"

    @property
    def writes(self) -> bool:
        """Whether the statement writes rows (every index on its target pays for them)."""
        return self is not StatementKind.SELECT
_STRENGTH = {EQUALITY: 0, JOIN: 1, RANGE: 2}


@dataclass(frozen=True)
class Constant:
    """A constant predicate on one column (`status = 'active'`, `deleted_at IS NULL`)."""

    column: str
    op: str                     # "=", "IS NULL", "IS NOT NULL"
    value: Any = None           # str, int, float or bool for "="

    def label(self) -> str:
        if self.op == "=" and isinstance(self.value, bool):
            return self.column if self.value else f"NOT {self.column}"     # as the planner folds `col = true`
        if self.op == "=":
            return f"{self.column} = {self.value!r}" if isinstance(self.value, str) else f"{self.column} = {self.value}"
        return f"{self.column} {self.op}"


@dataclass(frozen=True)
class ExprKey:
    """An indexable expression on one table's columns (`lower(email)`, `date_trunc('day', t)`,
    `t::date`, `data ->> 'k'`): `key` is its text as an index key, in parentheses, which is also
    how the access's column lists and IndexDef.columns name it (see `is_expression`)."""

    key: str
    kind: str                   # lower, upper, date_trunc, date, json_text
    columns: tuple[str, ...]    # the table columns it reads


@dataclass(frozen=True)
class Search:
    """A predicate only a GIN or GiST index can serve: `tsv @@ q`, `to_tsvector('english', body) @@ q`,
    `data @> …`, `data ? 'k'`, `tags && …`, `title ILIKE '%x%'`, `ST_DWithin(geom, …)`, `during && …`.
    `key` is the column or the expression key (`(to_tsvector('english', "body"))`); which index
    serves it depends on the column's type (candidates decide)."""

    key: str
    operator: str               # @@ @> <@ && ? ?| ?& LIKE ILIKE, <-> (ORDER BY … LIMIT) or the function (st_dwithin …)
    columns: tuple[str, ...]
    pattern: str | None = None  # LIKE/ILIKE: the pattern


SEARCH_OPERATORS = {"ArrayContainsAll": "@>", "ArrayContainedBy": "<@", "ArrayOverlaps": "&&",
                    "JSONBContainsTopKey": "?", "JSONBContainsAnyTopKeys": "?|", "JSONBContainsAllTopKeys": "?&"}
# the PostGIS functions whose index support function lets a GiST index on either geometry argument
# serve them (PostGIS 3, checked on the server: tests/integration/test_advisor_postgis.py)
SPATIAL_FUNCTIONS = frozenset({"st_dwithin", "st_intersects", "st_contains", "st_within", "st_covers",
                               "st_coveredby", "st_overlaps", "st_touches", "st_crosses", "st_dfullywithin",
                               "st_equals", "st_containsproperly", "st_3dintersects", "st_3ddwithin",
                               "st_3ddfullywithin"})
# `x && col` is `col && x`; `x @> col` is `col <@ x` and `x <@ col` is `col @> x` (the index matches the commutator)
COMMUTED = {"ArrayOverlaps": "&&", "ArrayContainsAll": "<@", "ArrayContainedBy": "@>"}
_UNIT = re.compile(r"^[A-Za-z]+$")


def trigram_pattern(pattern: str) -> bool:
    """A LIKE pattern a btree cannot serve (a wildcard first) with three characters in a row that
    a trigram index can look up."""
    if not pattern or pattern[0] not in "%_":
        return False
    return any(len(run) >= 3 for run in re.split(r"[%_]", pattern.replace("\\%", "x").replace("\\_", "x")))


def is_expression(key: str) -> bool:
    """Whether an index key (an entry of Access.equality…, IndexDef.columns) is an expression
    (`(lower("email"))`), not a column name."""
    return key.startswith("(") and key.endswith(")")


_KEY_WORD = re.compile(r'"((?:[^"]|"")+)"|\b([A-Za-z_][A-Za-z0-9_$]*)\b')


def key_columns(key: str, columns: Iterable[str] | None = None) -> set[str]:
    """The table columns an index key reads: the column itself, or the columns an expression key
    (`(lower("email"))`) names — its quoted identifiers and, when `columns` (the table's) is
    given, the bare words that are columns of the table."""
    if not is_expression(key):
        return {key}
    known = set(columns) if columns is not None else None
    out = set()
    for quoted, bare in _KEY_WORD.findall(key):
        if quoted:
            out.add(quoted.replace('""', '"'))
        elif known is not None and bare in known:
            out.add(bare)
    return out


@dataclass
class Access:
    """One use of a base table in one query block, and how that block uses its columns."""

    table: TableName
    alias: str
    equality: list[str] = field(default_factory=list)
    range: list[str] = field(default_factory=list)
    join: list[str] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)   # (column, descending)
    group: list[str] = field(default_factory=list)
    like_prefix: set[str] = field(default_factory=set)
    constants: list[Constant] = field(default_factory=list)
    limit: bool = False
    either: list[str] = field(default_factory=list)    # filtered in one OR branch only (BitmapOr)
    extreme: list[str] = field(default_factory=list)   # min(col) / max(col): one end of an index on col
    expressions: dict[str, ExprKey] = field(default_factory=dict)   # expression keys in the lists above
    searches: list[Search] = field(default_factory=list)  # GIN/GiST shapes (tsvector @@, jsonb @>, LIKE '%x%' …)

    def add(self, kind: str, column: str) -> None:
        target = {EQUALITY: self.equality, RANGE: self.range, JOIN: self.join}[kind]
        if column not in target:
            target.append(column)

    @property
    def filter_columns(self) -> list[str]:
        """Equality, join, then range columns, each once, in that order."""
        out: list[str] = []
        for c in [*self.equality, *self.join, *self.range]:
            if c not in out:
                out.append(c)
        return out

    @property
    def indexable(self) -> list[str]:
        """Every column an index on this access could serve (filters, order, group)."""
        out = self.filter_columns
        for c in [*(c for c, _ in self.order), *self.group, *self.either, *self.extreme]:
            if c not in out:
                out.append(c)
        return out


@dataclass
class Analysis:
    text: str
    kind: StatementKind = StatementKind.SELECT
    accesses: list[Access] = field(default_factory=list)
    referenced: dict[TableName, set[str]] = field(default_factory=dict)
    target: TableName | None = None      # the table an INSERT/UPDATE/DELETE writes
    set_columns: set[str] = field(default_factory=set)
    insert_rows: int | None = None
    params: int = 0                      # highest $n placeholder
    skip: str | None = None

    @property
    def tables(self) -> list[TableName]:
        out: list[TableName] = []
        for t in [*(a.table for a in self.accesses), *self.referenced, *([self.target] if self.target else [])]:
            if t not in out:
                out.append(t)
        return out

    def columns(self, table: TableName) -> set[str]:
        return self.referenced.get(table, set())


# --- parsing helpers ---------------------------------------------------------------------------------

def _parse(text: str):
    """(tree, None) or (None, reason)."""
    body = strip_leading_comments(text or "").strip()
    if not body:
        return None, "empty statement"
    if "<insufficient privilege>" in body:
        return None, "statement text hidden (<insufficient privilege>): grant pg_read_all_stats"
    tree = parse_normalized(text)
    if tree is None:
        return None, "could not be parsed as a single PostgreSQL statement"
    return tree, None   # cached and shared: the analysis copies what it rewrites (views)


# --- the analysis ------------------------------------------------------------------------------------

def analyze(text: str, catalog: Catalog) -> Analysis:
    """The statement's accesses and referenced columns, or an Analysis whose `skip` says why not."""
    result = Analysis(text=text, params=parameter_count(text))
    if "\x00" in text:
        result.skip = "the text holds a NUL byte (binary data, not SQL)"
        return result
    try:
        _analyze(result, catalog)
    except RecursionError:
        result.skip = "statement nested too deeply to analyse"
    except Exception as exc:  # noqa: BLE001 - never crash on input; say what went wrong instead
        result.skip = f"could not be analysed ({type(exc).__name__})"
    if result.skip:
        result.accesses, result.referenced = [], {}
    return result


def _analyze(result: Analysis, catalog: Catalog) -> None:
    tree, reason = _parse(result.text)
    if tree is None:
        result.skip = reason
        return
    kind = type(tree).__name__
    if isinstance(tree, (exp.Select, exp.SetOperation)):
        result.kind = StatementKind.SELECT
    elif isinstance(tree, exp.Insert):
        result.kind = StatementKind.INSERT
    elif isinstance(tree, exp.Update):
        result.kind = StatementKind.UPDATE
    elif isinstance(tree, exp.Delete):
        result.kind = StatementKind.DELETE
    elif isinstance(tree, exp.Merge):
        result.skip = "MERGE statements are not analysed"
        return
    else:
        words = strip_leading_comments(result.text or "").split(None, 1)
        word = words[0].upper().rstrip(";") if words else kind.upper()
        if word in UTILITY_WORDS:
            result.skip = f"utility or DDL statement ({word}): nothing to index"
        elif isinstance(tree, exp.Values) or word in ("VALUES", "TABLE"):
            result.skip = "reads no table" if word == "VALUES" else "reads a whole table: nothing to index"
        else:   # sqlglot read something that is no statement (`SELEC x` is a column with an alias)
            result.skip = "could not be parsed as a single PostgreSQL statement"
        return

    shape = outline(result.text)
    names = list(shape.relations) if shape is not None else []
    problem = _check_relations(names, catalog)
    if problem:
        result.skip = problem
        return
    for cte in tree.find_all(exp.CTE) if shape is None or exp.CTE in shape.kinds else ():
        if isinstance(cte.this, (exp.Insert, exp.Update, exp.Delete)):
            verb = type(cte.this).__name__.upper()
            result.skip = f"data-modifying WITH ({verb} in a CTE) is not analysed: pass the {verb} on its own"
            return
    query = _as_query(tree, result, catalog)
    if query is None:
        if result.kind == StatementKind.INSERT and result.target is not None:
            return  # INSERT … VALUES: nothing to read, only the write cost counts
        result.skip = result.skip or "nothing to analyse"
        return
    kinds = shape.kinds if shape is not None else None
    if any(_is_view(catalog.resolve(schema, name)) for schema, name in names):
        query = _inline_views(query.copy() if query is tree else query, catalog)   # the tree is shared: a copy
        kinds = None                                     # the views' bodies hold more
    _Walker(result, catalog, kinds).run(query)
    if query is not tree:       # a rewritten copy (DML as a SELECT, views inlined): freed at once
        unlink_tree(query)
    if not result.accesses and not result.referenced and result.target is None:
        result.skip = "reads no table"


def _table_key(t, catalog: Catalog) -> TableInfo | None:
    return catalog.resolve(t.db or None, t.name)


def _is_view(info: TableInfo | None) -> bool:
    return info is not None and info.kind == "v" and bool(info.view_sql)


def _check_relations(names: list[tuple[str | None, str]], catalog: Catalog) -> str | None:
    if not names:
        return None
    found: list[TableInfo | None] = []
    for schema, name in names:
        if schema in CATALOG_SCHEMAS:
            found.append(None)
            continue
        info = catalog.resolve(schema, name)
        if info is None:
            if schema is None and name.startswith("pg_"):
                found.append(None)
                continue
            shown = f"{schema}.{name}" if schema else name
            return f'relation "{shown}" does not exist'
        if info.kind == "f":
            return f"foreign table {info.qualified} cannot be indexed"
        found.append(info)
    if all(f is None or f.schema in CATALOG_SCHEMAS for f in found):
        return "reads only system catalogs"
    return None


def _as_query(tree, result: Analysis, catalog: Catalog):
    """The SELECT whose plan finds the rows: the statement itself, or its DML rewritten as one."""
    if result.kind == StatementKind.SELECT:
        return tree
    with_ = tree.args.get("with_") or tree.args.get("with")
    if result.kind == StatementKind.INSERT:
        target = tree.this
        if isinstance(target, exp.Schema):
            target = target.this
        info = _table_key(target, catalog) if isinstance(target, exp.Table) else None
        result.target = info.key if info else None
        source = tree.args.get("expression")
        if isinstance(source, exp.Values):
            result.insert_rows = len(source.expressions)
            return None
        if isinstance(source, (exp.Select, exp.SetOperation)):
            if with_ is not None and source.args.get("with_") is None and source.args.get("with") is None:
                source = source.copy()
                source.set("with_" if "with_" in exp.Select.arg_types else "with", with_.copy())
            return source
        return None
    target = tree.this
    if not isinstance(target, exp.Table):
        result.skip = f"{result.kind.value} target is not a table"
        return None
    info = _table_key(target, catalog)
    result.target = info.key if info else None
    if result.kind == StatementKind.UPDATE:
        for assignment in tree.expressions:
            col = assignment.this if isinstance(assignment, exp.EQ) else None
            if isinstance(col, exp.Column):
                result.set_columns.add(col.name)
    sources = [target.copy()]
    frm = tree.args.get("from_") or tree.args.get("from")
    if frm is not None:
        sources += [e.copy() for e in [frm.this, *frm.expressions] if e is not None]
    for u in tree.args.get("using") or []:
        sources.append(u.copy())
    # built in place (copy=False): the parts are copies already, and each builder's copy of the
    # whole SELECT would be cyclic garbage left to the collector
    select = exp.select("*", copy=False).from_(sources[0], copy=False)
    for s in sources[1:]:
        select = select.join(s, copy=False)
    for j in tree.args.get("joins") or []:
        select = select.join(j.copy(), copy=False)
    where = tree.args.get("where")
    if where is not None:
        select = select.where(where.this.copy(), copy=False)
    if result.kind == StatementKind.UPDATE:
        # SET expressions read columns too (SET a = b + 1): keep them visible as projections
        select.set("expressions", [exp.Star(), *[a.expression.copy() for a in tree.expressions
                                                  if isinstance(a, exp.EQ) and a.expression is not None]])
    if with_ is not None:
        select.set("with_" if "with_" in exp.Select.arg_types else "with", with_.copy())
    return select


def _inline_views(tree, catalog: Catalog):
    """Replace references to views with their definitions as derived tables (recursively)."""
    for _ in range(MAX_VIEW_DEPTH):
        ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
        changed = False
        for t in list(tree.find_all(exp.Table)):
            if not isinstance(t.this, exp.Identifier) or (not t.db and t.name in ctes):
                continue
            info = catalog.resolve(t.db or None, t.name)
            if info is None or not _is_view(info):
                continue
            body, _ = _parse(info.view_sql or "")
            if body is None:
                continue
            body = body.copy()      # the parsed view is cached and shared
            alias = t.alias or t.name
            sub = exp.Subquery(this=body, alias=exp.TableAlias(this=exp.to_identifier(alias)))
            t.replace(sub)
            unlink_tree(t)          # the view's reference, out of the tree now
            changed = True
        if not changed:
            break
    return tree


def _literal_value(node) -> tuple[bool, Any]:
    """(True, python value) for a plain literal (string, number, boolean), else (False, None)."""
    if isinstance(node, exp.Paren):
        return _literal_value(node.this)
    if isinstance(node, exp.Cast):
        return _literal_value(node.this)
    if isinstance(node, exp.Boolean):
        return True, bool(node.this)
    if isinstance(node, exp.Literal):
        if node.is_string:
            return True, node.this
        try:
            return True, int(node.this)
        except ValueError:
            try:
                return True, float(node.this)
            except ValueError:
                return False, None
    if isinstance(node, exp.Neg):
        ok, v = _literal_value(node.this)
        return (ok and isinstance(v, (int, float))), (-v if ok and isinstance(v, (int, float)) else None)
    return False, None


class _Walker:
    """Walk the query's scopes, make an Access per base-table source, classify predicates."""

    def __init__(self, result: Analysis, catalog: Catalog, kinds: frozenset[type] | None = None):
        self.result = result
        self.catalog = catalog
        self.min_max = kinds is None or exp.Max in kinds or exp.Min in kinds   # kinds: node types it holds
        self.accesses: dict[tuple[int, str], Access] = {}
        self.tables: dict[tuple[int, str], TableInfo] = {}
        self.made: list[exp.Expression] = []    # columns made to resolve a star through a derived table

    # -- set-up -------------------------------------------------------------------------------------
    def run(self, query) -> None:
        scopes = list(traverse_scope(query))
        for scope in scopes:
            for alias, (_node, source) in scope.selected_sources.items():
                if isinstance(source, exp.Table) and isinstance(source.this, exp.Identifier):
                    info = _table_key(source, self.catalog)
                    if info is None or info.schema in CATALOG_SCHEMAS or info.kind not in ("r", "p", "m"):
                        continue
                    self.tables[(id(scope), alias)] = info
                    self.accesses[(id(scope), alias)] = Access(table=info.key, alias=alias)
        for scope in scopes:
            if isinstance(scope.expression, exp.Select):
                self._scope(scope)
        for scope in scopes:    # a scope and its parent are a cycle: cut, so the tree goes with its last
            scope.parent = None     # reference (statement_text.release_trees), not at a collector's pass
        for column in self.made:
            unlink_tree(column)
        seen: list[Access] = []
        for acc in self.accesses.values():
            seen.append(acc)
        self.result.accesses = seen

    # -- resolution ---------------------------------------------------------------------------------
    def _has_column(self, scope: Scope, alias: str, source, name: str, depth: int = 0) -> bool:
        if isinstance(source, exp.Table):
            info = self.tables.get((id(scope), alias))
            return info is not None and name in info.columns
        return self._projection(source, name, depth) is not None

    def _projection(self, inner: Scope, name: str, depth: int = 0):
        """The projection of derived/CTE scope `inner` called `name` → (scope, expression) or None."""
        if depth > 20:
            return None
        select = inner.expression
        if not isinstance(select, exp.Select):
            return None
        alias_cols: list[str] = []
        parent = select.parent
        alias = parent.args.get("alias") if parent is not None and isinstance(parent, (exp.Subquery, exp.CTE)) else None
        if alias is not None and alias.columns:
            alias_cols = [c.name for c in alias.columns]
        projections = select.expressions
        if alias_cols:
            if name not in alias_cols:
                return None
            pos = alias_cols.index(name)
            if pos < len(projections) and not isinstance(projections[pos], exp.Star):
                p = projections[pos]
                return inner, (p.this if isinstance(p, exp.Alias) else p)
            return None
        for p in projections:
            if isinstance(p, exp.Star) or (isinstance(p, exp.Column) and isinstance(p.this, exp.Star)):
                qualifier = p.table if isinstance(p, exp.Column) else ""
                for a, (_n, src) in inner.selected_sources.items():
                    if qualifier and a != qualifier:
                        continue
                    if self._has_column(inner, a, src, name, depth + 1):
                        column = exp.column(name, table=a)
                        self.made.append(column)    # cut at the end (run): its links are a cycle
                        return inner, column
                continue
            if p.alias_or_name == name:
                return inner, (p.this if isinstance(p, exp.Alias) else p)
        return None

    def resolve(self, scope: Scope, column, depth: int = 0) -> tuple[Access, str] | None:
        """The base-table access and column a Column node means in `scope`, or None."""
        if depth > 20 or not isinstance(column, exp.Column) or isinstance(column.this, exp.Star):
            return None
        name, qualifier = column.name, column.table
        s: Scope | None = scope
        while s is not None:
            sources = s.selected_sources
            if qualifier:
                if qualifier in sources:
                    return self._follow(s, qualifier, sources[qualifier][1], name, depth)
            else:
                owners = [a for a, (_n, src) in sources.items() if self._has_column(s, a, src, name, depth)]
                if len(owners) == 1:
                    return self._follow(s, owners[0], sources[owners[0]][1], name, depth)
                if len(owners) > 1:
                    return None
            s = s.parent
        return None

    def _follow(self, scope: Scope, alias: str, source, name: str, depth: int):
        if isinstance(source, exp.Table):
            acc = self.accesses.get((id(scope), alias))
            info = self.tables.get((id(scope), alias))
            if acc is None or info is None or name not in info.columns:
                return None
            return acc, name
        found = self._projection(source, name, depth)
        if found is None:
            return None
        inner, expr = found
        if isinstance(expr, exp.Column):
            return self.resolve(inner, expr, depth + 1)
        return None

    def _output_alias(self, select, node):
        """ORDER BY / GROUP BY may name an output column (`ORDER BY revenue`, `ORDER BY 2`)."""
        if isinstance(node, exp.Literal) and not node.is_string:
            try:
                pos = int(node.this) - 1
            except ValueError:
                return None
            if 0 <= pos < len(select.expressions):
                p = select.expressions[pos]
                return p.this if isinstance(p, exp.Alias) else p
            return None
        if isinstance(node, exp.Column) and not node.table:
            for p in select.expressions:
                if isinstance(p, exp.Alias) and p.alias == node.name:
                    return p.this
        return None

    # -- classification -----------------------------------------------------------------------------
    def _columns_outside_subqueries(self, node) -> list:
        out = []
        stack = [node]
        while stack:
            n = stack.pop()
            if isinstance(n, (exp.Subquery, exp.Select, exp.SetOperation)) and n is not node:
                continue
            if isinstance(n, exp.Column):
                out.append(n)
                continue
            stack.extend(v for v in n.iter_expressions())
        return out

    def _side(self, scope: Scope, node, own: Access) -> str:
        """How the other side of a comparison relates to `own`: const, other (other tables), same."""
        cols = self._columns_outside_subqueries(node)
        if not cols:
            return "const"
        for c in cols:
            r = self.resolve(scope, c)
            if r is None or r[0] is own:
                return "same"
        return "other"

    def _as_column(self, scope: Scope, node):
        while isinstance(node, exp.Paren):
            node = node.this
        if isinstance(node, exp.Column):
            return self.resolve(scope, node)
        return None

    def _as_key(self, scope: Scope, node):
        """(access, key) for a column or an indexable expression on one (see ExprKey), or None."""
        r = self._as_column(scope, node)
        return r if r is not None else self._expression(scope, node)

    def _expression(self, scope: Scope, node):
        """`lower(col)`, `upper(col)`, `date_trunc('unit', col)`, `col::date`, `col ->> 'k'` as an
        expression key of col's access (registered in Access.expressions), or None."""
        while isinstance(node, exp.Paren):
            node = node.this
        column, kind, arg = None, "", ""
        if isinstance(node, (exp.Lower, exp.Upper)):
            column, kind = node.this, "lower" if isinstance(node, exp.Lower) else "upper"
        elif isinstance(node, (exp.TimestampTrunc, exp.DateTrunc)):
            unit = node.args.get("unit")
            name = unit.name if unit is not None else ""
            if _UNIT.match(name or ""):
                column, kind, arg = node.this, "date_trunc", name.lower()
        elif isinstance(node, exp.Cast) and node.to is not None and node.to.is_type(exp.DataType.Type.DATE):
            column, kind = node.this, "date"
        elif isinstance(node, exp.JSONExtractScalar) and isinstance(node.expression, exp.JSONPath):
            path = node.expression.expressions
            if len(path) == 2 and isinstance(path[0], exp.JSONPathRoot) and isinstance(path[1], exp.JSONPathKey) \
                    and isinstance(path[1].this, str):
                column, kind, arg = node.this, "json_text", path[1].this
        elif isinstance(node, exp.Anonymous) and str(node.this).lower() == "to_tsvector" and len(node.expressions) == 2:
            ok, config = _literal_value(node.expressions[0])
            if ok and isinstance(config, str):
                column, kind, arg = node.expressions[1], "to_tsvector", config
        if column is None or not isinstance(column, exp.Column):
            return None
        r = self._as_column(scope, column)
        if r is None:
            return None
        acc, col = r
        q = sql.Identifier(col).as_string(None)
        text = {"lower": f"lower({q})", "upper": f"upper({q})",
                "date_trunc": f"date_trunc({sql.Literal(arg).as_string(None)}, {q})", "date": f"({q})::date",
                "json_text": f"{q} ->> {sql.Literal(arg).as_string(None)}",
                "to_tsvector": f"to_tsvector({sql.Literal(arg).as_string(None)}::regconfig, {q})"}[kind]
        key = f"({text})"
        acc.expressions.setdefault(key, ExprKey(key, kind, (col,)))
        return acc, key

    def _search(self, scope: Scope, cond, sink: list) -> bool:
        """GIN/GiST shapes (see Search) → ("search", access, Search) facts. True when `cond` was one."""
        name = type(cond).__name__
        if isinstance(cond, exp.MatchAgainst):
            for side in [cond.this, *cond.expressions]:
                r = self._as_key(scope, side)
                if r is not None and (not is_expression(r[1]) or r[0].expressions[r[1]].kind == "to_tsvector"):
                    cols = r[0].expressions[r[1]].columns if is_expression(r[1]) else (r[1],)
                    sink.append(("search", r[0], Search(r[1], "@@", cols)))
            return True
        if name in SEARCH_OPERATORS:
            r = self._as_column(scope, cond.this)
            if r is not None and self._side(scope, cond.expression, r[0]) != "same":
                sink.append(("search", r[0], Search(r[1], SEARCH_OPERATORS[name], (r[1],))))
            r = self._as_column(scope, cond.expression) if name in COMMUTED else None
            if r is not None and self._side(scope, cond.this, r[0]) != "same":
                sink.append(("search", r[0], Search(r[1], COMMUTED[name], (r[1],))))
            return True
        if isinstance(cond, exp.Anonymous) and str(cond.this).lower() in SPATIAL_FUNCTIONS:
            args = cond.expressions     # a geometry argument is indexable when no other reads its own table
            for k, arg in enumerate(args[:2]):
                r = self._as_column(scope, arg)
                if r is not None and all(self._side(scope, o, r[0]) != "same" for j, o in enumerate(args) if j != k):
                    sink.append(("search", r[0], Search(r[1], str(cond.this).lower(), (r[1],))))
            return True
        return False

    def _nearest(self, scope: Scope, select, o) -> None:
        """`ORDER BY col <-> const … LIMIT n` (a nearest-neighbour search, ascending, first key):
        a Search with operator `<->` on col (a GiST index can return rows in that order)."""
        if isinstance(o, exp.Ordered) and o.args.get("desc"):
            return
        node = o.this if isinstance(o, exp.Ordered) else o
        node = self._output_alias(select, node) or node
        while isinstance(node, exp.Paren):
            node = node.this
        if not isinstance(node, exp.Distance):
            return
        for col, other in ((node.this, node.expression), (node.expression, node.this)):
            r = self._as_column(scope, col)
            if r is not None and self._side(scope, other, r[0]) == "const":
                found = Search(r[1], "<->", (r[1],))
                if found not in r[0].searches:
                    r[0].searches.append(found)

    def _conjuncts(self, node) -> list:
        while isinstance(node, exp.Paren):
            node = node.this
        if isinstance(node, exp.And):
            return [c for part in node.flatten() for c in self._conjuncts(part)]
        return [node]

    def _classify(self, scope: Scope, cond, sink: list) -> None:
        """Append (access, kind, column) facts and ("const", access, Constant) facts to `sink`."""
        while isinstance(cond, exp.Paren):
            cond = cond.this
        if type(cond) is exp.EQ and not isinstance(cond.expression, exp.Any):   # the common case first
            self._compare(scope, cond.this, cond.expression, EQUALITY, sink)
            self._compare(scope, cond.expression, cond.this, EQUALITY, sink)
            return
        negated = bool(cond.args.get("negate"))
        if isinstance(cond, exp.Or):
            self._classify_or(scope, cond, sink)
            return
        if isinstance(cond, exp.Not):
            inner = cond.this
            while isinstance(inner, exp.Paren):
                inner = inner.this
            r = self._as_column(scope, inner)
            if r is not None:  # NOT bool_col
                sink.append((r[0], EQUALITY, r[1]))
                sink.append(("const", r[0], Constant(r[1], "=", False)))
            elif isinstance(inner, exp.Is) and isinstance(inner.expression, exp.Null):
                r = self._as_column(scope, inner.this)
                if r is not None:
                    sink.append(("const", r[0], Constant(r[1], "IS NOT NULL")))
            return
        if self._search(scope, cond, sink):
            return
        if isinstance(cond, exp.Column):
            r = self._as_column(scope, cond)
            if r is not None:
                sink.append((r[0], EQUALITY, r[1]))
                sink.append(("const", r[0], Constant(r[1], "=", True)))
            return
        if isinstance(cond, exp.Is):
            if not isinstance(cond.expression, exp.Null):
                return
            r = self._as_column(scope, cond.this)
            if r is None:
                return
            if negated:
                sink.append(("const", r[0], Constant(r[1], "IS NOT NULL")))
            else:
                sink.append((r[0], EQUALITY, r[1]))
                sink.append(("const", r[0], Constant(r[1], "IS NULL")))
            return
        if isinstance(cond, exp.EQ) and isinstance(cond.expression, exp.Any):
            self._any(scope, cond.this, cond.expression, sink)
            return
        if isinstance(cond, exp.EQ):
            self._compare(scope, cond.this, cond.expression, EQUALITY, sink)
            self._compare(scope, cond.expression, cond.this, EQUALITY, sink)
            return
        if isinstance(cond, (exp.GT, exp.GTE, exp.LT, exp.LTE)):
            self._compare(scope, cond.this, cond.expression, RANGE, sink)
            self._compare(scope, cond.expression, cond.this, RANGE, sink)
            return
        if isinstance(cond, exp.Between) and not negated:
            r = self._as_key(scope, cond.this)
            if r is not None:
                lo, hi = cond.args.get("low"), cond.args.get("high")
                if all(x is not None and self._side(scope, x, r[0]) != "same" for x in (lo, hi)):
                    sink.append((r[0], RANGE, r[1]))
            return
        if isinstance(cond, exp.In) and not negated:
            r = self._as_key(scope, cond.this)
            if r is None:
                return
            query = cond.args.get("query")
            if query is not None:
                sink.append((r[0], JOIN, r[1]))
                self._subquery_output_join(scope, query, sink)
                return
            values = cond.expressions
            if values and all(self._side(scope, v, r[0]) == "const" for v in values):
                sink.append((r[0], EQUALITY, r[1]))
                if len(values) == 1 and not is_expression(r[1]):
                    ok, value = _literal_value(values[0])
                    if ok:
                        sink.append(("const", r[0], Constant(r[1], "=", value)))
            elif values and all(self._side(scope, v, r[0]) != "same" for v in values):
                sink.append((r[0], JOIN, r[1]))
            return
        if isinstance(cond, (exp.Like, exp.ILike)) and not negated:
            r = self._as_key(scope, cond.this)
            ok, pattern = _literal_value(cond.expression)
            if r is None or not ok or not isinstance(pattern, str) or not pattern:
                return
            if isinstance(cond, exp.Like) and pattern[0] not in "%_":
                sink.append((r[0], RANGE, r[1]))
                sink.append(("like", r[0], r[1]))
            elif not is_expression(r[1]) and (trigram_pattern(pattern) or (
                    isinstance(cond, exp.ILike) and trigram_pattern("%" + pattern))):
                op = "ILIKE" if isinstance(cond, exp.ILike) else "LIKE"
                sink.append(("search", r[0], Search(r[1], op, (r[1],), pattern)))
            return

    def _compare(self, scope: Scope, left, right, kind: str, sink: list) -> None:
        if isinstance(left, exp.Literal):      # `… = 5` read from its right: a literal is no key
            return
        r = self._as_key(scope, left)
        if r is None:
            return
        side = self._side(scope, right, r[0])
        if side == "const":
            sink.append((r[0], kind, r[1]))
            if kind == EQUALITY and not is_expression(r[1]):
                ok, value = _literal_value(right)
                if ok:
                    sink.append(("const", r[0], Constant(r[1], "=", value)))
        elif side == "other":
            sink.append((r[0], JOIN if kind == EQUALITY else RANGE, r[1]))

    def _any(self, scope: Scope, left, any_, sink: list) -> None:
        """`col = ANY(…)` read like `col IN (…)`: a subquery makes a join (its output column one
        too); a parameter (`ANY($1)`) or an array of constants (`ANY(ARRAY[1, 2])`, `ANY('{1,2}')`)
        an equality, and an array of one literal a constant predicate; another table's column
        (`ANY(c.ids)`) a join."""
        r = self._as_key(scope, left)
        if r is None:
            return
        inner = any_.this
        while isinstance(inner, exp.Paren):
            inner = inner.this
        if isinstance(inner, (exp.Subquery, exp.Select, exp.SetOperation)):
            sink.append((r[0], JOIN, r[1]))
            self._subquery_output_join(scope, inner, sink)
            return
        self._compare(scope, left, any_, EQUALITY, sink)
        if isinstance(inner, exp.Array) and len(inner.expressions) == 1 and not is_expression(r[1]) \
                and self._side(scope, any_, r[0]) == "const":
            ok, value = _literal_value(inner.expressions[0])
            if ok:
                sink.append(("const", r[0], Constant(r[1], "=", value)))

    def _subquery_output_join(self, scope: Scope, query, sink: list) -> None:
        """`x IN (SELECT l_orderkey FROM lineitem …)`: the subquery's output column is a join key too."""
        select = query.this if isinstance(query, exp.Subquery) else query
        if not isinstance(select, exp.Select) or not select.expressions:
            return
        inner = next((s for s in self._all_scopes(scope) if s.expression is select), None)
        if inner is None:
            return
        p = select.expressions[0]
        p = p.this if isinstance(p, exp.Alias) else p
        r = self._as_column(inner, p)
        if r is not None:
            sink.append((r[0], JOIN, r[1]))

    def _all_scopes(self, scope: Scope):
        root = scope
        while root.parent is not None:
            root = root.parent
        return list(root.traverse())

    def _classify_or(self, scope: Scope, cond, sink: list) -> None:
        """Conditions all OR branches share are ANDed at top level (the planner factors them out);
        columns every branch filters on count with the weakest kind (equality < join < range)."""
        branches = [self._conjuncts(b) for b in cond.flatten()]
        if len(branches) < 2:
            return
        texts = [{c.sql(): c for c in b} for b in branches]
        common = set(texts[0])
        for t in texts[1:]:
            common &= set(t)
        for key in sorted(common):
            self._classify(scope, texts[0][key], sink)
        per_branch: list[dict[tuple[int, str], tuple[Access, str]]] = []
        for b in branches:
            facts: list = []
            for c in b:
                if c.sql() in common:
                    continue
                self._classify(scope, c, facts)
            kinds: dict[tuple[int, str], tuple[Access, str]] = {}
            for f in facts:
                if f[0] == "like":
                    f[1].like_prefix.add(f[2])   # pattern opclass for the branch's own index
                if f[0] in ("const", "like", "search"):
                    continue
                acc, kind, col = f
                key = (id(acc), col)
                if key not in kinds or _STRENGTH[kind] > _STRENGTH[kinds[key][1]]:
                    kinds[key] = (acc, kind)
            per_branch.append(kinds)
        shared = set(per_branch[0])
        for kinds in per_branch[1:]:
            shared &= set(kinds)
        for kinds in per_branch:   # the rest: one index per branch can still serve it as a BitmapOr
            for key, (acc, _kind) in sorted(kinds.items(), key=lambda kv: kv[0][1]):
                if key not in shared and key[1] not in acc.either:
                    acc.either.append(key[1])
        for key in sorted(shared, key=lambda k: k[1]):
            acc = per_branch[0][key][0]
            kind = max((kinds[key][1] for kinds in per_branch), key=lambda k: _STRENGTH[k])
            sink.append((acc, kind, key[1]))

    # -- one query block ----------------------------------------------------------------------------
    def _scope(self, scope: Scope) -> None:
        select = scope.expression
        referenced = self.result.referenced
        for col in scope.columns:
            r = self.resolve(scope, col)
            if r is not None:
                referenced.setdefault(r[0].table, set()).add(r[1])
        for p in select.expressions:
            star = isinstance(p, exp.Star) or (isinstance(p, exp.Column) and isinstance(p.this, exp.Star))
            if star:
                qualifier = p.table if isinstance(p, exp.Column) else ""
                for alias in scope.selected_sources:
                    info = self.tables.get((id(scope), alias))
                    if info is not None and (not qualifier or qualifier == alias):
                        referenced.setdefault(info.key, set()).update(info.columns)
        for alias in scope.selected_sources:
            info = self.tables.get((id(scope), alias))
            if info is not None:
                referenced.setdefault(info.key, set())

        facts: list = []
        where = select.args.get("where")
        conds = self._conjuncts(where.this) if where is not None else []
        for join in select.args.get("joins") or []:
            on = join.args.get("on")
            if on is not None:
                conds += self._conjuncts(on)
            for ident in join.args.get("using") or []:
                name = ident.name if hasattr(ident, "name") else str(ident)
                owners = [a for a, (_n, src) in scope.selected_sources.items()
                          if self._has_column(scope, a, src, name)]
                for a in owners:
                    r = self._follow(scope, a, scope.selected_sources[a][1], name, 0)
                    if r is not None:
                        facts.append((r[0], JOIN, r[1]))
        for cond in conds:
            self._classify(scope, cond, facts)
        for f in facts:
            if f[0] == "const":
                if f[2] not in f[1].constants:
                    f[1].constants.append(f[2])
            elif f[0] == "like":
                f[1].like_prefix.add(f[2])
            elif f[0] == "search":
                if f[2] not in f[1].searches:
                    f[1].searches.append(f[2])
            else:
                f[0].add(f[1], f[2])

        aggregates = select.find_all(exp.Max, exp.Min) if self.min_max else ()
        for agg in aggregates:   # the planner's MinMaxAgg reads one end of an index
            if agg.find_ancestor(exp.Select) is not select:
                continue
            r = self._as_column(scope, agg.this)
            if r is not None and r[1] not in r[0].extreme:
                r[0].extreme.append(r[1])
        group = select.args.get("group")
        if group is not None:
            for g in group.expressions:
                target = self._output_alias(select, g) or g
                r = self._as_column(scope, target)
                if r is not None and r[1] not in r[0].group:
                    r[0].group.append(r[1])
        order = select.args.get("order")
        if order is not None and order.expressions and (select.args.get("limit") is not None
                                                         or select.args.get("fetch") is not None):
            self._nearest(scope, select, order.expressions[0])
        if order is not None:
            items: list[tuple[Access, str, bool]] = []
            for o in order.expressions:
                node = o.this if isinstance(o, exp.Ordered) else o
                target = self._output_alias(select, node) or node
                r = self._as_column(scope, target)
                if r is None:
                    break
                items.append((r[0], r[1], bool(o.args.get("desc")) if isinstance(o, exp.Ordered) else False))
            if items:
                first = items[0][0]
                prefix: list[tuple[str, bool]] = []
                for acc, column, desc in items:
                    if acc is not first:
                        break
                    prefix.append((column, desc))
                if not first.order:
                    first.order = prefix
        if select.args.get("limit") is not None or select.args.get("fetch") is not None:
            for alias in scope.selected_sources:
                limited = self.accesses.get((id(scope), alias))
                if limited is not None:
                    limited.limit = True
