"""Conversions from the catalog: an existing index as the declaration that matches it
(`declared_from_index`), and the database's indexes as an index set file (`snapshot_document`,
`snapshot_yaml`) that loads back and diffs clean."""

from __future__ import annotations

from typing import Any

from perftool.catalog.schema import Catalog, IndexInfo, quote_ident
from perftool.ddl import from_index
from perftool.health.index_sets.model import DeclaredColumn, DeclaredIndex
from perftool.health.index_sets.syntax import parse_column
from perftool.health.index_sets.validate import SET_VERSION


def declared_from_index(ix: IndexInfo) -> DeclaredIndex:
    """The declaration that matches an existing index exactly."""
    cols = [DeclaredColumn(column=p.column, expression=p.expression, descending=p.descending,
                           nulls_first=p.nulls_first, opclass=p.opclass, collation=p.collation)
            for p in from_index(ix).parts]
    return DeclaredIndex(schema=ix.schema, table=ix.table, columns=cols, name=ix.name, method=ix.method,
                         unique=ix.is_unique, primary=ix.is_primary, where=ix.predicate, include=list(ix.include))


def _column_yaml(c: DeclaredColumn) -> Any:
    text = c.text()
    try:
        back = parse_column(text)
    except ValueError:
        back = None
    if back == c:
        return text
    out: dict[str, Any] = {"column": quote_ident(c.column)} if c.column is not None else {"expression": c.expression}
    if c.descending:
        out["order"] = "desc"
    if c.nulls_first is not None:
        out["nulls"] = "first" if c.nulls_first else "last"
    if c.opclass:
        out["opclass"] = c.opclass
    if c.collation:
        out["collation"] = c.collation
    return out


def snapshot_document(catalog: Catalog, schema: str | None = None) -> dict[str, Any]:
    """The catalog's valid indexes as an index set document (complete: every table listed)."""
    schemas = sorted({t.schema for t in catalog.tables})
    main = schema or ("public" if "public" in schemas or not schemas else schemas[0])
    tables: dict[str, list] = {}
    for t in sorted(catalog.tables, key=lambda t: (t.schema != main, t.schema, t.name)):
        entries = []
        for ix in sorted(t.indexes, key=lambda i: (not i.is_primary, i.name)):
            if not ix.is_valid or ix.is_attached:
                continue
            d = declared_from_index(ix)
            entry: dict[str, Any] = {"columns": [_column_yaml(c) for c in d.columns], "name": quote_ident(ix.name)}
            if d.method != "btree":
                entry["method"] = d.method
            if d.primary:
                entry["primary"] = True
            elif d.unique:
                entry["unique"] = True
            if d.include:
                entry["include"] = [quote_ident(c) for c in d.include]
            if d.where:
                entry["where"] = d.where
            entries.append(entry)
        if entries:
            key = quote_ident(t.name) if t.schema == main else f"{quote_ident(t.schema)}.{quote_ident(t.name)}"
            tables[key] = entries
    return {"version": SET_VERSION, "schema": main, "complete": True, "tables": tables}


def snapshot_yaml(catalog: Catalog, schema: str | None = None, *, header: str = "") -> str:
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _seq(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
        flow = all(isinstance(x, str) for x in data)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)

    _Dumper.add_representer(list, _seq)
    body = yaml.dump(snapshot_document(catalog, schema), Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=120)
    return header + body
