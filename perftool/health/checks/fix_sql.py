"""The SQL that findings suggest as their fix, from the templates in `db/sql/` with every
identifier quoted by `psycopg.sql.Identifier` (never by hand). Indexes are created and dropped by
`perftool.ddl` (IndexSpec); this module turns them into the FixSteps that `compose_fixes` reads."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from perftool import ddl
from perftool.catalog.schema import IndexInfo
from perftool.db.sql import statement_text
from perftool.ddl import IndexSpec, KeyPart, name_variant

__all__ = ["FixPlan", "FixStep", "KeyPart", "create_step", "drop_index", "drop_step", "index_name", "key_parts",
           "name_variant", "recreate_concurrently", "reindex", "spec_step", "vacuum_full"]


@dataclass(frozen=True)
class FixStep:
    """One statement of a finding's fix, as `compose_fixes` (fix_compose.py) sees it: what it
    creates, drops or adds, so the fixes of one report can be applied together."""

    kind: str                      # create_index | drop_index | add_column | add_primary_key
    schema: str
    table: str
    name: str = ""                 # index (create/drop), column (add_column), constraint (add_primary_key)
    sql: str = ""                  # the statement exactly as it appears in the fix text
    definition: tuple = ()         # create_index: what the index stores, without its name
    needs: tuple[str, ...] = ()    # columns of schema.table the statement needs
    generated_name: bool = True    # create_index: perftool chose the name (it may be renamed)
    keep: str = ""                 # drop_index of a duplicate (I102): the copy that stays (qualified)
    alternative: str = ""          # I102: the statement that drops `keep` instead; T102: the column alone

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class FixPlan:
    """A finding's fix as perftool wrote it (`fix`) and its statements (`steps`)."""

    fix: str
    steps: list[FixStep] = field(default_factory=list)


def drop_index(index: IndexInfo) -> str:
    """Drop an index without blocking writes; an index behind a constraint is dropped with it."""
    if index.backs_constraint and index.constraint_name:
        return statement_text("chk_drop_constraint", schema=index.schema, table=index.table,
                              constraint=index.constraint_name)
    return ddl.drop_sql(index.schema, index.name) + ";"


def drop_step(index: IndexInfo, *, keep: IndexInfo | None = None, alternative: str = "") -> FixStep:
    """The FixStep of `drop_index(index)`; for a duplicate, the copy that must stay."""
    return FixStep("drop_index", index.schema, index.table, index.name, drop_index(index),
                   keep=f"{keep.schema}.{keep.name}" if keep else "", alternative=alternative)


def reindex(index: IndexInfo) -> str:
    return statement_text("chk_reindex_index", schema=index.schema, index=index.name)


def vacuum_full(schema: str, table: str) -> str:
    return statement_text("chk_vacuum_full", schema=schema, table=table)


def index_name(table: str, parts: Sequence[str], suffix: str = "idx") -> str:
    """`<table>_<word>_…_<suffix>` within 63 bytes (perftool.ddl.index_name, the one name rule): for
    the names of helper indexes (`_new_idx`, `_notnull_idx`); an index to create is named by its
    IndexSpec."""
    return ddl.index_name(table, parts, suffix)


def spec_step(spec: IndexSpec, *, name: str | None = None, sql: str | None = None,
              declared: bool = False) -> FixStep:
    """The FixStep that creates `spec` (named `name` or by the spec; `sql`: the same index written
    another way). `declared`: the name is the user's (an index set's) and is never changed;
    otherwise perftool chose it and `compose_fixes` may pick another when it is taken."""
    chosen = name or spec.name()
    text = sql if sql is not None else spec.create_sql(name=chosen) + ";"
    return FixStep("create_index", spec.schema, spec.table, chosen, text, definition=spec.definition(),
                   needs=spec.columns, generated_name=not declared)


def create_step(schema: str, table: str, parts: Sequence[KeyPart], *, name: str | None = None,
                method: str = "btree", unique: bool = False, include: Sequence[str] = (),
                where: str | None = None, sql: str | None = None, declared: bool = False) -> FixStep:
    """spec_step of IndexSpec(schema, table, parts, …)."""
    return spec_step(IndexSpec(schema, table, tuple(parts), tuple(include), where, method, unique),
                     name=name, sql=sql, declared=declared)


def key_parts(index: IndexInfo) -> list[KeyPart]:
    """An existing index's key columns as KeyParts (to re-create it changed)."""
    return list(ddl.from_index(index).parts)


def recreate_concurrently(index: IndexInfo) -> str:
    """The index's own definition (pg_get_indexdef) as a CREATE INDEX CONCURRENTLY. The one place
    outside ddl.py that writes CREATE INDEX, on purpose: rebuilding an existing index must keep what
    the model does not carry (storage parameters, tablespace), and only the server's own text has it."""
    return re.sub(r"^CREATE (UNIQUE )?INDEX ", lambda m: "CREATE " + (m.group(1) or "") + "INDEX CONCURRENTLY ",
                  index.definition, count=1) + ";"
