"""Workload anti-patterns found in pg_stat_statements: N+1 loops and dashboards of COUNT queries.

Pure functions over `StatementStats`; the texts are parsed with sqlglot (statement_text), their
predicates read by THE predicate extractor (`perftool.advisor.predicates`): this module only
judges the statements' shapes and volumes.

N+1 (Q110). A child statement is a single-table SELECT whose filter is an equality of a column
with a parameter (`WHERE job_id = $1`), returning few rows per call, executed very often. When a
parent SELECT exists whose returned rows roughly match the child's calls (the child ran once per
parent row), the loop is shown with both statements (warning). A child with no visible parent but
with calls far above the workload's typical SELECT is still reported (info).

Dashboard COUNTs (Q111). Several single-table `SELECT count(*) … WHERE …` statements on the same
table, or one such statement with `col = $1` executed many times, are counts a page could get in
one pass with `count(*) FILTER (WHERE …)` or `GROUP BY col`.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from perftool.advisor.predicates import analyze
from perftool.catalog.schema import Catalog, ColumnInfo, TableInfo
from perftool.report.model import Finding, Severity
from perftool.workload.statement_text import outline, parse_normalized, tables
from perftool.workload.stats import StatementStats

N1_MIN_CALLS = 500
N1_MAX_ROWS_PER_CALL = 20.0
N1_MIN_LOOP = 5.0         # the child runs at least 5× as often as its parent
N1_TYPICAL_FACTOR = 10.0  # without a parent: calls ≥ 10× the median SELECT's calls
COUNT_MIN_CALLS = 50


@dataclass
class Lookup:
    """A single-table SELECT filtered by `column = $n`."""

    stmt: StatementStats
    table: str
    column: str


def _text(s: StatementStats) -> str:
    return " ".join(s.query.split())


def _short(s: StatementStats, width: int = 160) -> str:
    t = _text(s)
    return t if len(t) <= width else t[: width - 1] + "…"


def parameter_columns(text: str, tree=None) -> list[str]:  # noqa: ANN001
    """The columns a single-table statement filters on by equality with a parameter (`col = $1`),
    in written order, as THE predicate extractor (`advisor.predicates.analyze`) reads them: its
    equality columns less those compared with a constant (a literal, `IS NULL`, a boolean). The
    catalog it resolves against is a stand-in: the one table the statement names, holding the
    columns the statement references (pg_stat_statements' text is all these checks have)."""
    from sqlglot import exp

    tree = tree if tree is not None else parse_normalized(text)
    tabs = tables(text)
    if tree is None or len(tabs) != 1:
        return []
    schema, _, name = tabs[0].rpartition(".")
    names = {c.name for c in tree.find_all(exp.Column) if c.name}
    catalog = Catalog(search_path=["pg_catalog", schema or "public"])
    catalog.add(TableInfo(schema=(schema or "public").lower(), name=name.lower(),
                          columns={n: ColumnInfo(n) for c in names for n in {c, c.lower()}}))
    analysis = analyze(text, catalog)
    if analysis.skip or len(analysis.accesses) != 1 or not analysis.params:
        return []
    access = analysis.accesses[0]
    constant = {c.column for c in access.constants}
    return [c for c in access.equality if c not in constant]


def parameter_lookup(s: StatementStats) -> Lookup | None:
    """A single-table, per-row SELECT (no aggregate, GROUP BY, subquery, or list of values to match:
    `= ANY($1)` / `IN (…)` already fetch many at once) looked up by `col = $n`."""
    from sqlglot import exp

    shape = outline(s.query)      # what rules it out without the tree (the advisor may have let it go)
    if (shape is None or not issubclass(shape.root, exp.Select) or len(shape.relations) != 1
            or shape.kinds & {exp.Subquery, exp.In, exp.Any, exp.Group}):
        return None
    tree = parse_normalized(s.query)
    if not isinstance(tree, exp.Select) or tree.args.get("group"):
        return None
    if tree.expressions and all(isinstance(e.unalias(), exp.AggFunc) for e in tree.expressions):
        return None  # an aggregate (COUNT dashboards are Q111), not a per-row lookup
    tabs = tables(s.query)
    if len(tabs) != 1 or tree.find(exp.Subquery) is not None or tree.find(exp.In, exp.Any) is not None:
        return None
    cols = parameter_columns(s.query, tree)
    return Lookup(s, tabs[0], cols[0]) if cols else None


def _stmt_ref(s: StatementStats) -> str:
    return f"queryid:{s.queryid}" if s.queryid is not None else "statement"


def n_plus_one_findings(stmts: list[StatementStats], *, min_calls: int = N1_MIN_CALLS) -> list[Finding]:
    selects = [s for s in stmts if s.calls > 0 and s.query and tree_is_select(s)]
    if not selects:
        return []
    typical = statistics.median(s.calls for s in selects)
    out: list[Finding] = []
    for s in selects:
        if s.calls < min_calls or s.rows_per_call > N1_MAX_ROWS_PER_CALL:
            continue
        if s.calls < N1_TYPICAL_FACTOR * typical and not any(_may_be_parent(p, s) for p in selects):
            continue   # neither a loop under some parent nor outstanding volume: its predicates do not matter
        lookup = parameter_lookup(s)
        if lookup is None:
            continue
        parent = _find_parent(lookup, selects)
        if parent is None and s.calls < N1_TYPICAL_FACTOR * typical:
            continue
        evidence = {"queryid": s.queryid, "calls": s.calls, "rows_per_call": round(s.rows_per_call, 2),
                    "table": lookup.table, "column": lookup.column, "mean_ms": round(s.mean_ms, 3),
                    "total_ms": round(s.total_ms, 3)}
        if parent is not None:
            ratio = s.calls / parent.calls
            evidence.update(parent_queryid=parent.queryid, parent_calls=parent.calls, parent_rows=parent.rows,
                            loop_ratio=round(ratio, 1))
            detail = (f"`{_short(s)}` ran {s.calls:,} times ({s.rows_per_call:.1f} rows each, {s.total_ms:,.0f} ms "
                      f"in all): about {ratio:,.0f} times per execution of `{_short(parent, 120)}`, which returned "
                      f"{parent.rows:,} rows over {parent.calls:,} calls — one lookup per parent row.")
            severity = Severity.warning
        else:
            detail = (f"`{_short(s)}` ran {s.calls:,} times ({s.rows_per_call:.1f} rows each, {s.total_ms:,.0f} ms "
                      f"in all), {s.calls / typical:,.0f}× the median SELECT: the signature of a per-row loop in "
                      "application code.")
            severity = Severity.info
        out.append(Finding(
            code="Q110", severity=severity,
            title=f"probable N+1 loop: {lookup.table}.{lookup.column} looked up {s.calls:,} times",
            object=_stmt_ref(s), detail=detail,
            fix=(f"Fetch the rows for all parents at once: SELECT … FROM {lookup.table} WHERE {lookup.column} = "
                 "ANY($1) with the list of ids, or JOIN it into the parent query. In an ORM: eager loading "
                 "(Django prefetch_related/select_related, Rails includes, SQLAlchemy selectinload)."),
            evidence=evidence,
        ))
    return out


def tree_is_select(s: StatementStats) -> bool:
    """A plain SELECT, from the statement's outline (kept when the advisor lets the trees go)."""
    from sqlglot import exp

    shape = outline(s.query)
    return shape is not None and issubclass(shape.root, exp.Select)


def _may_be_parent(p: StatementStats, child: StatementStats) -> bool:
    """Whether `p`'s volume fits a parent of `child`: the child runs ≥ N1_MIN_LOOP times per call of
    `p`, about once per row `p` returns."""
    if p is child or p.calls == 0 or child.calls < N1_MIN_LOOP * p.calls:
        return False
    return 0.5 * child.calls <= p.rows <= 2.0 * child.calls


def _find_parent(child: Lookup, selects: list[StatementStats]) -> StatementStats | None:
    """The SELECT whose rows best explain the child's calls (child ran once per parent row)."""
    best, best_err = None, None
    singular = child.column[:-3] if child.column.endswith("_id") else None
    for p in selects:
        if not _may_be_parent(p, child.stmt):
            continue
        ptabs = {t.rsplit(".", 1)[-1] for t in tables(p.query)}
        related = bool(singular and any(t in (singular, singular + "s", singular + "es") for t in ptabs))
        err = abs(p.rows - child.stmt.calls) / child.stmt.calls - (0.5 if related else 0.0)
        if best_err is None or err < best_err:
            best, best_err = p, err
    return best


@dataclass
class CountQuery:
    stmt: StatementStats
    table: str
    parameter_columns: list[str]


def count_query(s: StatementStats) -> CountQuery | None:
    from sqlglot import exp

    shape = outline(s.query)      # what rules it out without the tree (the advisor may have let it go)
    if (shape is None or not issubclass(shape.root, exp.Select) or exp.Count not in shape.kinds
            or exp.Join in shape.kinds or len(shape.relations) != 1):
        return None
    tree = parse_normalized(s.query)
    if not isinstance(tree, exp.Select) or tree.args.get("group") or len(tree.expressions) != 1:
        return None
    agg = tree.expressions[0]
    agg = agg.this if isinstance(agg, exp.Alias) else agg
    if not isinstance(agg, exp.Count) or agg.args.get("filter") is not None:
        return None
    tabs = tables(s.query)
    where = tree.args.get("where")
    if len(tabs) != 1 or where is None or tree.find(exp.Join) is not None:
        return None
    return CountQuery(s, tabs[0], parameter_columns(s.query, tree))


def dashboard_count_findings(stmts: list[StatementStats], *, min_calls: int = COUNT_MIN_CALLS) -> list[Finding]:
    by_table: dict[str, list[CountQuery]] = {}
    for s in stmts:
        if s.calls < min_calls:
            continue
        cq = count_query(s)
        if cq:
            by_table.setdefault(cq.table, []).append(cq)
    out = []
    for table, group in sorted(by_table.items()):
        calls = sum(c.stmt.calls for c in group)
        total_ms = sum(c.stmt.total_ms for c in group)
        param_cols = sorted({col for c in group for col in c.parameter_columns})
        if len(group) < 2 and not param_cols:
            continue
        listing = "; ".join(f"`{_short(c.stmt, 100)}` ×{c.stmt.calls:,}" for c in group)
        if param_cols:
            col = param_cols[0]
            fix = (f"One pass instead of one query per value: SELECT {col}, count(*) FROM {table} WHERE … GROUP BY "
                   f"{col}; or SELECT count(*) FILTER (WHERE {col} = 'a') AS a, count(*) FILTER (WHERE {col} = 'b') "
                   f"AS b FROM {table}; cache the result for a few seconds if the page is hot.")
        else:
            fix = (f"Fold them into one statement: SELECT count(*) FILTER (WHERE <condition 1>) AS c1, "
                   f"count(*) FILTER (WHERE <condition 2>) AS c2 … FROM {table}.")
        out.append(Finding(
            code="Q111", severity=Severity.warning if calls >= 10 * min_calls else Severity.info,
            title=f"dashboard of separate COUNT queries on {table}: {len(group)} statement(s), {calls:,} executions",
            object=table,
            detail=(f"Each COUNT scans {table} on its own ({total_ms:,.0f} ms in all): {listing}."
                    + (f" The counts differ only by the value of {', '.join(param_cols)}." if param_cols else "")),
            fix=fix,
            evidence={"table": table, "queryids": [c.stmt.queryid for c in group], "calls": calls,
                      "total_ms": round(total_ms, 3), "parameter_columns": param_cols},
        ))
    return out
