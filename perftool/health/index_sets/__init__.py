"""Declarative index sets: YAML files listing the indexes a team expects, load and validate them
(every error is `file:line: message`, an InputError, exit 2), compare them with the catalog
(`diff_index_set`, pure) and write the current database as one (`snapshot_yaml`).

One module per concern: `model` (DeclaredIndex, IndexSet), `yaml_lines` (YAML that knows its
lines), `syntax` (identifiers, the column syntax), `validate` (the one validator, and the JSON
Schema derived from its key tables), `load` (files and directories), `compare` (drift),
`snapshot` (from the catalog's indexes).

```yaml
version: 1
schema: public          # tables are in this schema unless written schema.table
complete: true          # the file lists every table of its schemas: indexes elsewhere are undeclared
tables:
  jobs:
    - columns: [customer_id]
    - columns: [status, created_at DESC]
      name: jobs_status_created_at_idx      # optional: indexes are compared by definition
    - columns: [job_number text_pattern_ops]
    - {columns: [lower(email)], unique: true, where: "deleted_at IS NULL", include: [id]}
ignore:
  - {code: I104, object: public.jobs_priority_idx, reason: used by the month-end report}
```

Indexes are equivalent when their access method, uniqueness, key columns (or expressions) with
order, NULLS placement, operator classes and collations, INCLUDE columns (as a set) and predicate
are the same. Expressions and predicates are compared after normalising them with sqlglot
(parentheses, casts of literals and to text types, `= ANY (ARRAY[...])` as `IN (...)`, identifier
case), so the server's `(status <> 'done'::text)` equals a declared `status != 'done'`.
"""

from perftool.health.index_sets.compare import (
    Drift,
    DriftItem,
    declared_identity,
    diff_index_set,
    differences,
    normalize_sql,
)
from perftool.health.index_sets.load import (
    DEFAULT_DIR,
    SET_SUFFIXES,
    default_set_paths,
    load_index_set_text,
    load_index_sets,
    set_files,
)
from perftool.health.index_sets.model import DeclaredColumn, DeclaredIndex, IgnoreEntry, IndexSet, Source
from perftool.health.index_sets.snapshot import declared_from_index, snapshot_document, snapshot_yaml
from perftool.health.index_sets.syntax import fold_ident, parse_column
from perftool.health.index_sets.validate import METHODS, SET_VERSION, json_schema, no_twins

__all__ = [
    "DEFAULT_DIR", "METHODS", "SET_SUFFIXES", "SET_VERSION", "DeclaredColumn", "DeclaredIndex", "Drift",
    "DriftItem", "IgnoreEntry", "IndexSet", "Source", "declared_from_index", "declared_identity",
    "default_set_paths", "diff_index_set", "differences", "fold_ident", "json_schema", "load_index_set_text",
    "load_index_sets", "no_twins", "normalize_sql", "parse_column", "set_files", "snapshot_document",
    "snapshot_yaml",
]
