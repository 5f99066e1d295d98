"""I106 — btree index on a boolean or low-cardinality column."""

from __future__ import annotations

from perftool import ddl
from perftool.catalog.schema import quote_ident
from perftool.health.checks import CheckContext, check, judged_column, scans
from perftool.health.checks.fix_sql import drop_index, drop_step, index_name
from perftool.report.model import Finding
from perftool.report.values import human_bytes

MAX_DISTINCT = 10      # at most this many distinct values (pg_stats.n_distinct) is "low cardinality"
MIN_ROWS = 10_000      # smaller tables are read quickly either way


@check("I106", needs_statistics=True)
def low_cardinality_indexes(ctx: CheckContext) -> list[Finding]:
    out = []
    for t in ctx.catalog.tables:
        if t.rows < MIN_ROWS:
            continue
        for ix in t.indexes:
            name = judged_column(ix)
            if name is None or len(ix.columns) != 1:
                continue
            col = t.columns.get(name)
            if col is None:
                continue
            distinct = col.distinct_values(t.rows)
            if not col.is_boolean and (distinct is None or distinct > MAX_DISTINCT):
                continue
            what = "boolean column" if col.is_boolean else f"column with {distinct:,.0f} distinct values"
            pk_column = next((i.columns[0].name for i in t.indexes if i.is_primary and i.columns and i.columns[0].name),
                             None)
            key = pk_column or col.name
            example = ddl.plain(t.schema, t.name, [key],
                                where=f"{quote_ident(col.name)} = <value>").create_sql(
                name=index_name(t.name, [col.name], "partial_idx")) + ";"
            out.append(ctx.finding(
                "I106", title=f"btree index {ix.qualified} on a {what}", object=ix.qualified,
                detail=(f"{ix.name} indexes {t.qualified}({col.name}), a {what} in {t.rows:,.0f} rows; it takes "
                        f"{human_bytes(ix.size_bytes)} and has {scans(ix.idx_scan)}. Only rare values gain from it."),
                fix=("-- if queries look for a rare value, index only those rows, e.g.:\n-- "
                     + example.replace("\n", "\n-- ").replace("<value>", "<rare value>") + "\n" + drop_index(ix)),
                steps=[drop_step(ix)],
                evidence={"table": t.qualified, "column": col.name, "type": col.type, "distinct": distinct,
                          "table_rows": int(t.rows), "size_bytes": ix.size_bytes, "idx_scan": ix.idx_scan}))
    return out
