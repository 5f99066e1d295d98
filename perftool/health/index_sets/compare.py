"""Drift: declared indexes against the catalog's (`diff_index_set`, pure). Indexes are equivalent
when their access method, uniqueness, key columns (or expressions) with order, NULLS placement,
operator classes and collations, INCLUDE columns (as a set) and predicate are the same;
expressions and predicates are compared after `normalize_sql`."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from perftool.catalog.schema import Catalog, IndexColumn, IndexInfo, TableInfo
from perftool.health.index_sets.model import DeclaredColumn, DeclaredIndex, IndexSet

if TYPE_CHECKING:
    from sqlglot import exp


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
    except Exception:  # any parser failure falls back to text comparison
        return "text:" + flat.lower()


def _simplify(node: exp.Expression) -> exp.Expression:
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

