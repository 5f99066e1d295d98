"""The model of an index set: the declared indexes (DeclaredIndex, DeclaredColumn) of the files
read, the tables they list, the schemas they list completely, and their `ignore:` entries."""

from __future__ import annotations

from dataclasses import dataclass, field

from perftool.catalog.schema import quote_ident
from perftool.ddl import IndexSpec, KeyPart
from perftool.report.ignores import IgnoreEntry, Source

__all__ = ["DeclaredColumn", "DeclaredIndex", "IgnoreEntry", "IndexSet", "Source"]


@dataclass
class DeclaredColumn:
    column: str | None = None         # a table column (identifier, case as stored)
    expression: str | None = None     # or an SQL expression, as written
    descending: bool = False
    nulls_first: bool | None = None   # None: the default (NULLS FIRST for DESC, LAST for ASC)
    opclass: str | None = None
    collation: str | None = None

    def text(self) -> str:
        """The compact string form (`name`, `lower(email)`, `created_at DESC`, `x text_pattern_ops`)."""
        out = quote_ident(self.column) if self.column is not None else (self.expression or "")
        if self.collation:
            out += " COLLATE " + quote_ident(self.collation)
        if self.opclass:
            out += " " + self.opclass
        if self.descending:
            out += " DESC"
        if self.nulls_first is not None and self.nulls_first != self.descending:
            out += " NULLS FIRST" if self.nulls_first else " NULLS LAST"
        return out

    def part(self) -> KeyPart:
        return KeyPart(column=self.column, expression=self.expression, descending=self.descending,
                       nulls_first=self.nulls_first, opclass=self.opclass, collation=self.collation)


@dataclass
class DeclaredIndex:
    schema: str
    table: str
    columns: list[DeclaredColumn]
    name: str | None = None
    method: str = "btree"
    unique: bool = False
    primary: bool = False
    where: str | None = None
    include: list[str] = field(default_factory=list)
    source: Source | None = None

    @property
    def table_qualified(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def label(self) -> str:
        """The finding object: `schema.name` when named, else `schema.table(columns)`."""
        if self.name:
            return f"{self.schema}.{self.name}"
        return f"{self.schema}.{self.table}({', '.join(c.text() for c in self.columns)})"

    def spec(self) -> IndexSpec:
        """The declared index as an IndexSpec (its SQL and, when the declaration names none, its name)."""
        return IndexSpec(self.schema, self.table, tuple(c.part() for c in self.columns), tuple(self.include),
                         self.where, self.method, self.unique)

    def describe(self) -> str:
        kind = "PRIMARY KEY " if self.primary else ("UNIQUE " if self.unique else "")
        out = f"{kind}{self.table_qualified} USING {self.method} ({', '.join(c.text() for c in self.columns)})"
        if self.include:
            out += f" INCLUDE ({', '.join(self.include)})"
        if self.where:
            out += f" WHERE {self.where}"
        return out


@dataclass
class IndexSet:
    files: list[str] = field(default_factory=list)
    indexes: list[DeclaredIndex] = field(default_factory=list)
    tables: dict[tuple[str, str], Source] = field(default_factory=dict)   # listed tables
    complete_schemas: dict[str, Source] = field(default_factory=dict)     # every table listed
    ignore: list[IgnoreEntry] = field(default_factory=list)

    def merge(self, other: IndexSet) -> None:
        self.files += other.files
        self.indexes += other.indexes
        for table, source in other.tables.items():
            self.tables.setdefault(table, source)
        for schema, source in other.complete_schemas.items():
            self.complete_schemas.setdefault(schema, source)
        self.ignore += other.ignore

    def covers(self, schema: str, table: str) -> bool:
        return (schema, table) in self.tables or schema in self.complete_schemas
