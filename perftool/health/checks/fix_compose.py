"""Fixes that compose: the fix SQL of every finding in one report can be applied together.

Each check writes its fix alone; `compose_fixes` looks at all of them at once (through their
`FixStep`s, see fix_sql.py) and rewrites the fix texts where they would clash:

- **one name, one index.** Two fixes that create the same index (same table and definition)
  create it once: the later one becomes a comment naming the earlier finding. Two different
  indexes never get the same name, nor the name of an existing relation: a name perftool chose
  gets the next free variant (`orders_a2_idx`); a declared name (index set) is kept and claimed
  first.
- **never drop both copies of a duplicate.** I102 drops one copy and keeps another; when other
  fixes (I104, I106, I202 …) would drop the kept copy too, I102 drops *that* copy instead and
  keeps its own when the two are alike (neither backs a constraint nor enforces uniqueness the
  other does not); otherwise the other fixes' drop of the kept copy becomes a comment.
- **one primary key.** When an index set declares the primary key of a table without one
  (I201), T102's fix does not add a key of its own: it adds just the column the declared key
  needs, or becomes a comment pointing at I201's fix.
- **order.** A fix that needs a column another fix adds (an I201 index on T102's new `id`)
  starts with `-- run after the fix of T102 …`.

Pure and repeatable: it always starts from the fixes as the checks wrote them (`Finding.plan`),
so it can run again on a filtered list (after ignores and baselines) and then gives the same
result as if the dropped findings had never been there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from perftool.health.checks.fix_sql import FixStep, name_variant
from perftool.report.model import Finding

if TYPE_CHECKING:
    from perftool.catalog.schema import Catalog


def relation_names(catalog: Catalog) -> set[tuple[str, str]]:
    """(schema, name) of the tables, indexes and sequences the catalog holds: names a new index
    cannot take."""
    names = {(t.schema, t.name) for t in catalog.tables}
    names |= {(i.schema, i.name) for i in catalog.indexes}
    names |= {(s.schema, s.name) for s in catalog.sequences}
    return names


def _ident(name: str) -> str:
    from psycopg import sql

    return sql.Identifier(name).as_string(None)


def _ref(f: Finding) -> str:
    return f"{f.code} {f.object}"


class _Texts:
    """The fix text of each finding as it is being rewritten."""

    def __init__(self, findings: list[Finding]):
        self.text = {id(f): f.plan.fix for f in findings}
        self.before: dict[int, list[str]] = {}

    def replace(self, f: Finding, old: str, new: str) -> None:
        if old and old in self.text[id(f)]:
            self.text[id(f)] = self.text[id(f)].replace(old, new, 1)

    def rename(self, f: Finding, old: str, new: str) -> None:
        """Every mention of index `old` in the finding's fix (its CREATE, a later RENAME) → `new`."""
        self.text[id(f)] = self.text[id(f)].replace(_ident(old), _ident(new))

    def note(self, f: Finding, line: str) -> None:
        lines = self.before.setdefault(id(f), [])
        if line not in lines:
            lines.append(line)

    def result(self, f: Finding) -> str:
        return "\n".join([*self.before.get(id(f), []), self.text[id(f)]])


Names = Iterable[tuple[str, str]]


def compose_fixes(findings: list[Finding], taken: Names | Callable[[], Names] = ()) -> list[Finding]:
    """Rewrite the fixes of `findings` (in report order) so they can all be applied together;
    `taken` are the (schema, name) of relations that exist — or a function that returns them,
    called only when a fix makes an index with a generated name (on a large schema, the names
    of every table and index). Returns the same list."""
    planned = [f for f in findings if f.plan is not None]
    if not planned:
        return findings
    texts = _Texts(planned)
    steps = [(f, st) for f in planned for st in f.plan.steps]
    _keep_one_copy(steps, texts)
    _one_primary_key(steps, texts)
    _one_name_one_index(steps, texts, taken)
    _order_column_dependencies(steps, texts)
    for f in planned:
        f.fix = texts.result(f)
    return findings


def _keep_one_copy(steps: list[tuple[Finding, FixStep]], texts: _Texts) -> None:
    """A duplicate group (I102's dropped copies and their kept one) keeps at least one copy."""
    dropped_by: dict[str, list[tuple[Finding, FixStep]]] = {}
    for f, st in steps:
        if st.kind == "drop_index":
            dropped_by.setdefault(st.qualified, []).append((f, st))
    groups: dict[str, list[tuple[Finding, FixStep]]] = {}
    for f, st in steps:
        if st.kind == "drop_index" and st.keep:
            groups.setdefault(st.keep, []).append((f, st))
    for keep, dups in groups.items():
        others_on_keep = [(g, s) for g, s in dropped_by.get(keep, []) if not s.keep]
        if not others_on_keep:
            continue  # nothing else drops the kept copy
        # a copy that only its own I102 fix drops can be the one that stays
        spare = next(((f, st) for f, st in dups if st.alternative
                      and all(g is f for g, _ in dropped_by.get(st.qualified, []))), None)
        flagged = ", ".join(sorted({g.code for g, _ in others_on_keep}))
        if spare is not None:
            f, st = spare
            texts.replace(f, st.sql, st.alternative)
            texts.note(f, f"-- drops {keep} rather than {st.qualified}: {flagged} flag(s) {keep} too, and one "
                          "copy must stay")
            continue
        first = dups[0][0]
        for g, s in others_on_keep:
            texts.replace(g, s.sql, f"-- not dropped: {keep} is the copy kept when the fix of {_ref(first)} drops its "
                                    "duplicate; drop it only after that one is gone and it is still unused")


def _one_primary_key(steps: list[tuple[Finding, FixStep]], texts: _Texts) -> None:
    """T102 adds a key of its own only when no declared primary key (I201) exists for the table."""
    declared = {(st.schema, st.table): (f, st) for f, st in steps
                if st.kind == "add_primary_key" and not st.generated_name}
    for f, st in steps:
        if st.kind != "add_primary_key" or not st.generated_name:
            continue
        other = declared.get((st.schema, st.table))
        if other is None:
            continue
        g, pk = other
        column = next((s for s in f.plan.steps if s.kind == "add_column" and s.sql == st.sql), None)
        if column is not None and column.name in pk.needs and column.alternative:
            texts.replace(f, st.sql, column.alternative)
            texts.note(f, f"-- the key itself is the declared one: the fix of {_ref(g)} makes {_ident(column.name)} "
                          "the primary key (run it after this)")
        else:
            texts.replace(f, st.sql, f"-- the declared primary key is built by the fix of {_ref(g)}")


def _one_name_one_index(steps: list[tuple[Finding, FixStep]], texts: _Texts,
                        taken: Names | Callable[[], Names]) -> None:
    creates = [(f, st) for f, st in steps if st.kind == "create_index"]
    if not creates:
        return
    if callable(taken):
        taken = taken() if any(st.generated_name for _f, st in creates) else ()
    existing = taken if isinstance(taken, (set, frozenset)) else set(taken)
    names: dict[tuple[str, str], tuple] = {}   # the names the fixes give, → what each indexes
    made: dict[tuple, tuple[Finding, str]] = {}
    creates.sort(key=lambda p: p[1].generated_name)  # declared names first (stable: report order kept)
    for f, st in creates:
        key = (st.schema, st.table, st.definition)
        if key in made:
            g, name = made[key]
            if g is not f:
                texts.replace(f, st.sql, f"-- {_ident(name)}: the same index as the fix of {_ref(g)}")
            continue
        name = st.name
        if st.generated_name:
            n = 2
            while (st.schema, name) in names or (st.schema, name) in existing:
                name = name_variant(st.name, n)
                n += 1
            if name != st.name:
                texts.rename(f, st.name, name)
        names[(st.schema, name)] = key
        made[key] = (f, name)


def _order_column_dependencies(steps: list[tuple[Finding, FixStep]], texts: _Texts) -> None:
    adds = {(st.schema, st.table, st.name): f for f, st in steps if st.kind == "add_column"}
    for f, st in steps:
        for column in st.needs:
            g = adds.get((st.schema, st.table, column))
            if g is not None and g is not f:
                texts.note(f, f"-- run after the fix of {_ref(g)}: it adds the column {_ident(column)} this needs")
