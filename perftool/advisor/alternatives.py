"""Alternatives on an assumption: a recommended index next to the partial index it would be if an
example literal of the statements it serves were a constant of the application.

Literals are example values by default (`--literals example`, see `candidates.LiteralPolicy`): a
`--query` with `account_id = 7` gets `(account_id, project_id)`, not `(project_id) WHERE
account_id = 7`, which would be useless to an application that runs it for every account. When
that partial index would be much smaller (at most half the size), the report shows it beside the
recommendation with its assumption: "if account_id = 7 is constant in your application: 256 kB
instead of 4 MB". Sizes come from HypoPG when it is there, else `candidates.estimated_size`.
"""

from __future__ import annotations

from collections.abc import Callable

from perftool.advisor.candidates import LiteralPolicy, estimated_size, is_example_literal
from perftool.advisor.indexdef import IndexDef
from perftool.advisor.items import Item
from perftool.advisor.predicates import Constant
from perftool.advisor.report import Alternative, Recommendation
from perftool.catalog.schema import Catalog

MUCH_SMALLER = 0.5      # an alternative is shown when it needs at most this share of the index's size


def partial_variant(ix: IndexDef, const: Constant) -> IndexDef | None:
    """`ix` without `const`'s column as a key, restricted to the rows `const` keeps (None when no
    key column would be left)."""
    keep = [i for i, c in enumerate(ix.columns) if c != const.column]
    if not keep or const in ix.where:
        return None
    return IndexDef(schema=ix.schema, table=ix.table, columns=tuple(ix.columns[i] for i in keep),
                    desc=tuple(ix.is_desc(i) for i in keep) if ix.desc else (),
                    include=tuple(c for c in ix.include if c != const.column),
                    where=(*ix.where, const), opclasses=tuple(ix.opclass(i) for i in keep) if ix.opclasses else (),
                    method=ix.method)


def example_literals(ix: IndexDef, statements: list[Item], policy: LiteralPolicy) -> list[Constant]:
    """The example literals (not trusted as constants) every one of `statements` has on `ix`'s table."""
    common: set[Constant] | None = None
    for it in statements:
        mine = {c for acc in it.analysis.accesses if acc.table == ix.table_key for c in acc.constants
                if is_example_literal(c) and not policy.trusted(acc.table, c)}
        common = mine if common is None else common & mine
    return sorted(common or (), key=Constant.label)


def literal_alternatives(recommendations: list[Recommendation], items: list[Item], catalog: Catalog, literals: str,
                         sizes: Callable[[list[IndexDef]], dict[IndexDef, int | None]] | None = None,
                         render: Callable[[IndexDef], str] | None = None) -> None:
    """Set `alternatives` on each recommendation that has a much smaller
    partial variant on one of its statements' example literals. `sizes`: HypoPG's estimates of a
    batch of indexes (None entries: estimated here)."""
    if literals == "constant":
        return
    policy = LiteralPolicy(items, literals)
    tables = catalog.by_key()
    wanted: list[tuple[Recommendation, IndexDef, Constant]] = []
    for rec in recommendations:
        if not rec.statements or rec.index.method != "btree":
            continue
        for const in example_literals(rec.index, rec.statements, policy):
            alt = partial_variant(rec.index, const)
            if alt is not None:
                wanted.append((rec, alt, const))
    if not wanted:
        return
    measured = sizes([alt for _r, alt, _c in wanted]) if sizes is not None else {}
    for rec, alt, const in wanted:
        size = measured.get(alt)
        table = tables.get(alt.table_key)
        if size is None and table is not None:
            size = estimated_size(alt, table)
        if size is None or rec.size_bytes <= 0 or size > MUCH_SMALLER * rec.size_bytes:
            continue
        rec.alternatives.append(Alternative(
            index=alt, assumption=const, size_bytes=int(size), instead_of_bytes=int(rec.size_bytes),
            definition=render(alt) if render is not None else alt.create_sql() + ";"))
