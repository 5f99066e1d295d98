"""T102 — table without a primary key."""

from __future__ import annotations

from perftool.catalog.schema import IndexInfo, TableInfo
from perftool.db.sql import statement_text
from perftool.health.checks import CheckContext, check
from perftool.health.checks.fix_sql import FixStep
from perftool.report.model import Finding
from perftool.report.values import human_bytes


def promotable_index(t: TableInfo) -> IndexInfo | None:
    """A valid, non-partial unique index on NOT NULL plain columns: it can become the primary key."""
    for ix in sorted(t.indexes, key=lambda i: (len(i.columns), i.size_bytes, i.name)):
        if not (ix.is_unique and ix.is_valid and not ix.is_partial and ix.method == "btree" and not ix.include):
            continue
        if all(c.name and t.columns.get(c.name) and t.columns[c.name].not_null for c in ix.columns):
            return ix
    return None


@check("T102")
def tables_without_primary_key(ctx: CheckContext) -> list[Finding]:
    out = []
    for t in ctx.catalog.tables:
        if t.has_pk or t.is_partition:
            continue
        candidate = promotable_index(t) if t.kind == "r" else None
        if candidate is not None:
            fix = statement_text("chk_add_primary_key_using_index", schema=t.schema, table=t.name,
                                 constraint=f"{t.name}_pkey"[:63], index=candidate.name)
            steps = [FixStep("add_primary_key", t.schema, t.name, f"{t.name}_pkey"[:63], fix,
                             needs=tuple(c.name for c in candidate.columns if c.name))]
            how = f"the unique index {candidate.name} on NOT NULL columns can become the primary key"
        else:
            column = "id" if "id" not in t.columns else f"{t.name}_id"
            add = statement_text("chk_add_identity_primary_key", schema=t.schema, table=t.name, column=column)
            alone = statement_text("chk_add_identity_column", schema=t.schema, table=t.name, column=column)
            fix = ("-- rewrites the table under an ACCESS EXCLUSIVE lock: schedule it (or add the column, fill it in "
                   "batches, then add the key USING INDEX)\n" + add)
            steps = [FixStep("add_column", t.schema, t.name, column, add, alternative=alone),
                     FixStep("add_primary_key", t.schema, t.name, f"{t.name}_pkey"[:63], add, needs=(column,))]
            how = "no unique index on NOT NULL columns exists to promote"
        out.append(ctx.finding(
            "T102", title=f"table {t.qualified} has no primary key", object=t.qualified,
            detail=(f"{t.qualified} ({t.rows:,.0f} rows, {human_bytes(t.size_bytes)}) has no primary key; {how}. "
                    f"Replica identity: {_IDENTITY.get(t.replica_identity, t.replica_identity)}."),
            fix=fix, steps=steps,
            evidence={"table": t.qualified, "table_rows": int(t.rows), "table_bytes": t.size_bytes,
                      "replica_identity": t.replica_identity,
                      "promotable_index": candidate.qualified if candidate else None}))
    return out


_IDENTITY = {"d": "default (none without a primary key)", "n": "nothing", "f": "full", "i": "an index"}
