"""`IndexDef`: a candidate (hypothetical or recommended) index — table, key columns with direction
and operator class, INCLUDE columns, partial predicate, method — hashable and cheap to compare for
the search. Its SQL, name and prefix rule are its `perftool.ddl.IndexSpec`'s (`spec()`): for HypoPG
and, CONCURRENTLY, for people.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from psycopg import sql

from perftool.advisor.predicates import Constant, is_expression
from perftool.catalog.schema import TableName
from perftool.ddl import IndexSpec, KeyPart, fill_text

_OPS = {"=": " = ", "IS NULL": " IS NULL", "IS NOT NULL": " IS NOT NULL"}


@dataclass(frozen=True, eq=False)
class IndexDef:
    """A (hypothetical or recommended) index. Hashable: the unit of the cost cache and the budget."""

    schema: str
    table: str
    columns: tuple[str, ...]
    desc: tuple[bool, ...] = ()          # per key column; () = all ascending
    include: tuple[str, ...] = ()
    where: tuple[Constant, ...] = ()     # ANDed constant predicates (partial index)
    opclasses: tuple[str, ...] = ()      # per key column, "" = default; () = all default
    method: str = "btree"

    def __post_init__(self) -> None:
        if self.desc and len(self.desc) != len(self.columns):
            object.__setattr__(self, "desc", tuple(self.desc[:len(self.columns)]) +
                               (False,) * max(0, len(self.columns) - len(self.desc)))
        if self.desc and not any(self.desc):
            object.__setattr__(self, "desc", ())
        if self.desc and all(self.desc):  # all-descending = all-ascending scanned backwards
            object.__setattr__(self, "desc", ())
        if self.opclasses and not any(self.opclasses):
            object.__setattr__(self, "opclasses", ())
        object.__setattr__(self, "_hash", hash((self.schema, self.table, self.columns, self.desc, self.include,
                                                self.where, self.opclasses, self.method)))

    def __hash__(self) -> int:
        return self._hash  # type: ignore[attr-defined]

    def __eq__(self, other: object) -> bool:
        # the selection compares indexes millions of times: identity and hash first, fields last
        if self is other:
            return True
        if not isinstance(other, IndexDef) or self._hash != other._hash:  # type: ignore[attr-defined]
            return False
        return (self.schema, self.table, self.columns, self.desc, self.include, self.where, self.opclasses,
                self.method) == (other.schema, other.table, other.columns, other.desc, other.include, other.where,
                                 other.opclasses, other.method)

    @property
    def table_key(self) -> TableName:
        return (self.schema, self.table)

    @property
    def width(self) -> int:
        return len(self.columns) + len(self.include)

    def is_desc(self, i: int) -> bool:
        return bool(self.desc) and i < len(self.desc) and self.desc[i]

    def opclass(self, i: int) -> str:
        return self.opclasses[i] if self.opclasses and i < len(self.opclasses) else ""

    def sort_key(self) -> tuple:
        return (self.schema, self.table, self.columns, self.desc, self.include,
                tuple(c.label() for c in self.where), self.opclasses, self.method)

    def label(self) -> str:
        """`public.orders (o_custkey, o_orderdate DESC) INCLUDE (…) WHERE …` for people."""
        cols = []
        for i, c in enumerate(self.columns):
            part = c + (f" {self.opclass(i)}" if self.opclass(i) else "") + (" DESC" if self.is_desc(i) else "")
            cols.append(part)
        out = f"{self.schema}.{self.table} ({', '.join(cols)})"
        if self.method != "btree":
            out = f"{self.schema}.{self.table} USING {self.method} ({', '.join(cols)})"
        if self.include:
            out += f" INCLUDE ({', '.join(self.include)})"
        if self.where:
            out += " WHERE " + " AND ".join(c.label() for c in self.where)
        return out

    def narrowed(self) -> IndexDef | None:
        """This index less its last INCLUDE column, or else less its last key column (None for a
        single key column): the next narrower index of the same kind."""
        if self.include:
            return replace(self, include=self.include[:-1])
        if len(self.columns) > 1:
            n = len(self.columns) - 1
            return replace(self, columns=self.columns[:n], desc=self.desc[:n], opclasses=self.opclasses[:n])
        return None

    def prefix_of(self, other: IndexDef) -> bool:
        """Whether `other` serves whatever this index serves (IndexSpec.prefix_of, the one rule)."""
        return self.spec().prefix_of(other.spec())

    # -- SQL: rendered by perftool.ddl.IndexSpec ------------------------------------------------------
    def spec(self) -> IndexSpec:
        """This index as an IndexSpec (made once per IndexDef: the search asks for it often)."""
        got = self.__dict__.get("_spec")
        if got is None:
            parts = tuple(KeyPart(column=None if is_expression(c) else c,
                                  expression=c[1:-1] if is_expression(c) else None,
                                  descending=self.is_desc(i), opclass=self.opclass(i) or None)
                          for i, c in enumerate(self.columns))
            got = IndexSpec(self.schema, self.table, parts, self.include, _where_sql(self.where),
                            _method(self.method))
            object.__setattr__(self, "_spec", got)
        return got

    def hypothetical_sql(self) -> str:
        """`CREATE INDEX ON … ` for hypopg_create_index (no name: HypoPG names it): the text of
        `spec().create_sql(concurrently=False, name="")`, rendered once per IndexDef from cached
        identifier and predicate pieces (the floors of a large workload create tens of thousands
        of hypothetical indexes; psycopg's composition took 60 µs each)."""
        got = self.__dict__.get("_hypothetical")
        if got is None:
            got = _hypothetical_text(self)
            object.__setattr__(self, "_hypothetical", got)
        return got

    def name(self) -> str:
        """The index's name (IndexSpec.name: `<table>_<col>_…_idx`, ≤ 63 bytes, digest when lossy)."""
        return self.spec().name()

    def create_sql(self, *, concurrently: bool = True, only: bool = False, name: str | None = None,
                   schema: str | None = None, table: str | None = None) -> str:
        """The statement people run: CREATE INDEX CONCURRENTLY name ON schema.table … (or ON ONLY;
        `schema`/`table`: the same index on a partition)."""
        where = (schema or self.schema, table) if table is not None else None
        return self.spec().create_sql(concurrently=concurrently, name=name, only=only, table=where)


_IDENTIFIERS: dict[str, str] = {}
_WHERES: dict[tuple, str | None] = {}
_CACHE_MAX = 200_000     # entries per cache (names and predicates come from the catalog and the workload)


def _ident(name: str) -> str:
    """`name` as a quoted identifier (psycopg's quoting, cached)."""
    got = _IDENTIFIERS.get(name)
    if got is None:
        if len(_IDENTIFIERS) > _CACHE_MAX:
            _IDENTIFIERS.clear()
        got = _IDENTIFIERS[name] = sql.Identifier(name).as_string(None)
    return got


def _hypothetical_text(ix: IndexDef) -> str:
    """What `ix.spec().create_sql(concurrently=False, name="")` renders — the `index_create`
    template (parsed once by perftool.ddl) with no name, UNIQUE or CONCURRENTLY;
    tests/unit/test_advisor_select_sql.py checks that the two agree — without composing psycopg
    objects."""
    cols = []
    for i, c in enumerate(ix.columns):
        part = ("(" + c[1:-1] + ")") if is_expression(c) else _ident(c)
        op = ix.opclass(i)
        if op:
            part += " " + ".".join(_ident(p) for p in op.split("."))
        if ix.is_desc(i):
            part += " DESC"
        cols.append(part)
    include = f" INCLUDE ({', '.join(_ident(c) for c in ix.include)})" if ix.include else ""
    where = ""
    if ix.where:
        key = (ix.where, tuple(type(c.value) for c in ix.where))    # 1 == True: keep them apart
        text = _WHERES.get(key)
        if text is None:
            if len(_WHERES) > _CACHE_MAX:
                _WHERES.clear()
            text = _WHERES[key] = _where_sql(ix.where)
        where = " WHERE " + text if text else ""
    parts = {"unique": "", "concurrently": "", "if_not_exists": "", "name": "",
             "table": _ident(ix.schema) + "." + _ident(ix.table), "method": _method(ix.method),
             "columns": ", ".join(cols), "include": include, "where": where}
    return fill_text("index_create", parts)


def _where_sql(where: tuple[Constant, ...]) -> str | None:
    """ANDed constant predicates as SQL text, values as psycopg literals."""
    if not where:
        return None
    preds = []
    for c in where:
        if c.op == "=" and isinstance(c.value, bool):   # `col`, not `col = true`: what the planner matches
            preds.append(sql.Composed([sql.SQL("" if c.value else "NOT "), sql.Identifier(c.column)]))
            continue
        piece = [sql.Identifier(c.column), sql.SQL(_OPS[c.op])]
        if c.op == "=":
            piece.append(sql.Literal(c.value))
        preds.append(sql.Composed(piece))
    return sql.SQL(" AND ").join(preds).as_string(None)


def _method(method: str) -> str:
    if method not in ("btree", "hash", "gin", "gist", "brin", "spgist"):
        raise ValueError(f"unknown index method {method!r}")
    return method
