"""P1xx tips: pure functions of a `Plan` (no server), one per code, each a list of Findings.

Every tip names its node (`evidence["node_id"]`, the node's position in the tree, parents first)
so the proof step (`plans.proof`) and the renderers can point at it. Thresholds are the
constants below; docs/checks/P1xx.md documents each.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from perftool.gc_pause import gc_paused
from perftool.plans.model import Plan, PlanNode
from perftool.report.model import Finding, Severity

SHARE_BANDS = ((0.90, Severity.error), (0.40, Severity.warning), (0.10, Severity.info))
MIN_NODE_MS = 1.0
ESTIMATE_BANDS = ((1000.0, Severity.error), (100.0, Severity.warning), (10.0, Severity.info))
FILTER_BANDS = ((0.90, Severity.warning), (0.50, Severity.info))
MIN_FILTER_ROWS = 1000
HEAP_FETCH_SHARE = 0.10
MANY_LOOPS = 1000
JIT_SHARE = 0.25
JIT_MIN_MS = 10.0
PLANNING_FACTOR = 3.0
PLANNING_MIN_MS = 1.0
OFFSET_MIN_ROWS = 1000
EXACT_BITMAP_BYTES = 64           # bytes an exact TID-bitmap page entry takes, about
INDEX_TIPS = ("P103", "P107")     # tips an index can fix: the proof step costs one (the advisor's)
OWN_PROOF_TIPS = ("P113", "P114")  # tips whose own fix the proof step costs (a rewrite, an expression index)
MAX_PER_CODE = 20                 # a 10 000-node plan can have thousands: the worst ones are the news

_KEYWORDS = frozenset("""and or not is null true false any all array like ilike similar between in
    exists case when then else end distinct from on as text numeric integer bigint date timestamp
    interval boolean varchar character varying double precision without with time zone""".split())
_QUOTED = re.compile(r"'(?:[^']|'')*'")
_CAST = re.compile(r"::\s*(?:\"[^\"]+\"|[a-z_][a-z0-9_ ]*?)(?:\[\])?(?=[\s),]|$)", re.I)
_NAME = r'(?:"[^"]+"|[a-z_][a-z0-9_$]*)'
_IDENT = re.compile(rf'(?<![\w."$])({_NAME}(?:\.{_NAME})*)(?![\w$"])(?!\s*\()', re.I)


def plan_tips(plan: Plan) -> list[Finding]:
    """Every tip for the plan, in node order then code order; at most MAX_PER_CODE of each code
    (the most severe; the last one kept says how many more nodes have it)."""
    with gc_paused():
        return _plan_tips(plan)


def _plan_tips(plan: Plan) -> list[Finding]:
    out: list[Finding] = []
    nodes = plan.nodes()
    by_type: dict[str, list[PlanNode]] = {}
    for node in nodes:
        by_type.setdefault(node.node_type, []).append(node)
    for tip in NODE_TIPS:
        types = TIP_NODE_TYPES.get(tip.__name__)
        candidates = nodes if types is None else [n for t in types for n in by_type.get(t, ())]
        out.extend(_cap([f for node in candidates for f in tip(plan, node)]))
    for plan_tip in PLAN_TIPS:
        out.extend(plan_tip(plan))
    for f in out:
        write_fix = _FIX_SQL.get(f.code)
        if write_fix is not None and "node_id" in f.evidence:
            f.fix = write_fix(nodes[f.evidence["node_id"]], f)
    out.sort(key=lambda f: (f.evidence.get("node_id", -1), f.code))
    return out


class _Later:
    """A tip that fires, written out only if it is kept (P102 fires on most nodes of a big plan)."""

    __slots__ = ("severity", "node_id", "build")

    def __init__(self, severity: Severity, node_id: int, build: Callable[[], Finding]) -> None:
        self.severity, self.node_id, self.build = severity, node_id, build

    @property
    def evidence(self) -> dict:
        return {"node_id": self.node_id}


_RANK = {s: s.rank for s in Severity}


def _node_id(f) -> int:
    return f.node_id if isinstance(f, _Later) else f.evidence.get("node_id", -1)


def _cap(found: list) -> list[Finding]:
    kept = found
    if len(found) > MAX_PER_CODE:
        kept = sorted(found, key=lambda f: -_RANK[f.severity])[:MAX_PER_CODE]
        kept.sort(key=_node_id)
    out = [f.build() if isinstance(f, _Later) else f for f in kept]
    if len(found) > MAX_PER_CODE:
        out[-1].detail += f" ({len(found) - MAX_PER_CODE:,} more nodes with this tip are not listed.)"
    return out


def columns_of(expression: str | None) -> list[str]:
    """Column names an EXPLAIN condition mentions (`(orders.status = 'paid'::text)` → ['status'])."""
    if not expression:
        return []
    text = _CAST.sub(" ", _QUOTED.sub(" ", expression))
    out: list[str] = []
    for m in _IDENT.finditer(text):
        name = m.group(1).split(".")[-1].strip('"')
        if name.lower() in _KEYWORDS or name[:1].isdigit() or name.startswith("$"):
            continue
        if name not in out:
            out.append(name)
    return out


def _band(value: float, bands) -> Severity | None:
    for bar, sev in bands:
        if value >= bar:
            return sev
    return None


def _node_evidence(node: PlanNode, **more) -> dict:
    return {"node_id": node.id, "node": node.label(), **more}


def _plain_children(node: PlanNode) -> list[PlanNode]:
    """The node's inputs, without the InitPlans / SubPlans / CTEs hanging off it."""
    return [c for c in node.children if c.parent_relationship not in ("InitPlan", "SubPlan")]


def _table(node: PlanNode) -> str:
    if not node.relation:
        return node.alias or ""
    return f"{node.schema}.{node.relation}" if node.schema else node.relation


# -- per node -----------------------------------------------------------------------------------------

def exclusive_share(plan: Plan, node: PlanNode) -> list[Finding]:
    total = plan.total_ms
    if node.exclusive_ms is None or not total or node.exclusive_ms < MIN_NODE_MS:
        return []
    share = node.exclusive_ms / total
    sev = _band(share, SHARE_BANDS)
    if sev is None:
        return []
    caveat = " (parallel workers: the figure is uncertain)" if node.time_uncertain else ""
    return [Finding(code="P101", severity=sev, title=f"{node.label()} takes {share:.0%} of the time{caveat}",
                    object=f"node {node.id}",
                    detail=f"{node.exclusive_ms:.1f} ms of its own of {total:.1f} ms{caveat}.",
                    fix="See the other tips on this node.",
                    evidence=_node_evidence(node, exclusive_ms=round(node.exclusive_ms, 3), share=round(share, 4),
                                            uncertain=node.time_uncertain))]


def estimate_off(plan: Plan, node: PlanNode) -> list:
    # node.estimate_factor, inlined: this runs on every node of the plan
    actual, planned = node.actual_rows, node.plan_rows
    if actual is None or planned is None or not node.loops:
        return []
    actual, planned = (actual if actual > 1.0 else 1.0), (planned if planned > 1.0 else 1.0)
    factor = actual / planned if actual > planned else planned / actual
    if factor < 10.0:
        return []
    sev = _band(factor, ESTIMATE_BANDS)
    if sev is None:
        return []
    return [_Later(sev, node.id, lambda: _estimate_finding(node, factor, sev))]


def _estimate_finding(node: PlanNode, factor: float, sev: Severity) -> Finding:
    direction = "under" if node.underestimated else "over"
    return Finding(code="P102", severity=sev,
                    title=f"{node.label()}: {factor:,.0f}× {direction}estimated rows",
                    object=f"node {node.id}",
                    detail=(f"planned {node.plan_rows:,.0f} rows per loop, got {node.actual_rows:,.0f}"
                            f"{f' over {node.loops:,.0f} loops' if (node.loops or 0) > 1 else ''}."),
                    evidence=_node_evidence(node, planned_rows=node.plan_rows, actual_rows=node.actual_rows,
                                            factor=round(factor, 2), direction=direction))


def filter_removes(plan: Plan, node: PlanNode) -> list:
    if node.node_type != "Seq Scan" or not node.filter or node.rows_total is None:
        return []
    removed, kept = node.removed_by_filter_total, node.rows_total
    read = removed + kept
    if read < MIN_FILTER_ROWS or read <= 0:
        return []
    share = removed / read
    sev = _band(share, FILTER_BANDS)
    if sev is None or share <= FILTER_BANDS[-1][0]:
        return []
    return [_Later(sev, node.id, lambda: _filter_finding(node, read, kept, removed, share, sev))]


def _filter_finding(node: PlanNode, read: float, kept: float, removed: float, share: float,
                    sev: Severity) -> Finding:
    cols = columns_of(node.filter)
    table = _table(node)
    return Finding(code="P103", severity=sev,
                   title=f"Seq Scan on {table} discards {share:.0%} of the rows it reads"
                         + (f" (filter on {', '.join(cols)})" if cols else ""),
                   object=table or f"node {node.id}",
                   detail=f"read {read:,.0f} rows, kept {kept:,.0f}; filter {node.filter}.",
                   fix=(f"An index on {table} ({', '.join(cols)})" if cols else "An index for the filter")
                       + " — unverified until costed (see proof).",
                   evidence=_node_evidence(node, table=table, removed=removed, returned=kept,
                                           removed_share=round(share, 4), columns=cols))


def spills(plan: Plan, node: PlanNode) -> list[Finding]:
    work_mem = plan.settings.get("work_mem", "4MB (default)")
    if node.node_type in ("Sort", "Incremental Sort") and (node.sort_space_type or "") == "Disk":
        fit = _round_mb((node.sort_space_kb or 0) * 2)
        return [_spill(node, "sort", f"sorted on disk ({node.sort_space_kb or 0:,.0f} kB, {node.sort_method})",
                       fit, work_mem, disk_kb=node.sort_space_kb, batches=None)]
    if node.node_type == "Hash" and (node.hash_batches or 1) > 1:
        fit = _round_mb((node.peak_memory_kb or 0) * (node.hash_batches or 1))
        return [_spill(node, "hash", f"hashed in {node.hash_batches} batches (peak {node.peak_memory_kb or 0:,.0f} kB "
                                     "each)", fit, work_mem, disk_kb=None, batches=node.hash_batches)]
    if node.node_type == "Aggregate" and ((node.hashagg_batches or 1) > 1 or (node.disk_usage_kb or 0) > 0):
        fit = _round_mb((node.peak_memory_kb or 0) + (node.disk_usage_kb or 0))
        return [_spill(node, "hash aggregate", f"aggregated in {node.hashagg_batches or 1} batches "
                                               f"({node.disk_usage_kb or 0:,.0f} kB on disk)",
                       fit, work_mem, disk_kb=node.disk_usage_kb, batches=node.hashagg_batches)]
    return []


def _spill(node: PlanNode, kind: str, what: str, fit_kb: int, work_mem: str, **evidence) -> Finding:
    return Finding(code="P104", title=f"{node.label()} {what}", object=f"node {node.id}",
                   detail=f"work_mem is {work_mem}; about {fit_kb // 1024} MB would keep this {kind} in memory "
                          "(from the plan's own figures).",
                   fix=f"SET LOCAL work_mem = '{fit_kb // 1024}MB';  -- for this statement's transaction or role",
                   evidence=_node_evidence(node, kind=kind, work_mem_now=work_mem, work_mem_fit_kb=fit_kb,
                                           **evidence))


def _round_mb(kb: float) -> int:
    return max(1, math.ceil(kb / 1024)) * 1024


def lossy_bitmap(plan: Plan, node: PlanNode) -> list[Finding]:
    if node.node_type != "Bitmap Heap Scan" or node.lossy_heap_blocks <= 0:
        return []
    blocks = node.exact_heap_blocks + node.lossy_heap_blocks
    fit = _round_mb(blocks * EXACT_BITMAP_BYTES / 1024)
    return [Finding(code="P105", title=f"{node.label()}: {node.lossy_heap_blocks:,.0f} lossy heap blocks",
                    object=_table(node) or f"node {node.id}",
                    detail=(f"{node.exact_heap_blocks:,.0f} exact and {node.lossy_heap_blocks:,.0f} lossy blocks; "
                            f"{node.removed_by_recheck_total:,.0f} rows removed by the recheck. work_mem is "
                            f"{plan.settings.get('work_mem', '4MB (default)')}."),
                    fix=f"SET LOCAL work_mem = '{fit // 1024}MB';  -- or a more selective condition",
                    evidence=_node_evidence(node, exact_blocks=node.exact_heap_blocks,
                                            lossy_blocks=node.lossy_heap_blocks,
                                            removed_by_recheck=node.removed_by_recheck_total, work_mem_fit_kb=fit))]


def heap_fetches(plan: Plan, node: PlanNode) -> list[Finding]:
    if node.node_type != "Index Only Scan" or node.heap_fetches <= 0 or node.loops is None:
        return []
    fetches = node.heap_fetches * (node.loops or 1)
    rows = node.rows_total or 0
    share = fetches / rows if rows else 1.0
    sev = Severity.warning if share > HEAP_FETCH_SHARE else Severity.info
    table = _table(node)
    return [Finding(code="P106", severity=sev,
                    title=f"{node.label()}: {fetches:,.0f} heap fetches for {rows:,.0f} rows",
                    object=table or f"node {node.id}",
                    detail="The visibility map does not mark those pages all-visible, so the scan reads the table.",
                    evidence=_node_evidence(node, table=table, heap_fetches=fetches, rows=rows,
                                            share=round(share, 4)))]


def _qualified(node: PlanNode) -> list[tuple[str, str]] | list[str]:
    """The node's table for statement_text: (schema, table) when the plan names the schema."""
    if node.schema and node.relation:
        return [(node.schema, node.relation)]
    return [node.relation or ""]


def _vacuum(node: PlanNode, finding: Finding) -> str:
    from perftool.db.sql import statement_text

    if not node.relation:
        return "VACUUM the table."
    return statement_text("plan_fix_vacuum", table=_qualified(node))


def _statistics(node: PlanNode, finding: Finding) -> str:
    """P102's fix: ANALYZE, a finer statistics target, extended statistics on the columns."""
    from perftool.db.sql import statement_text

    if not node.relation:
        finding.evidence["columns"] = []
        return "ANALYZE the tables below this node; with correlated columns, CREATE STATISTICS on them."
    cols = columns_of(" ".join(filter(None, [node.filter, node.index_cond, node.recheck_cond, node.hash_cond,
                                              node.merge_cond, node.join_filter])))
    finding.evidence["columns"] = cols
    table = _qualified(node)
    analyze = statement_text("plan_fix_analyze", table=table)
    fixes = [analyze]
    if cols:
        fixes.append(statement_text("plan_fix_statistics", table=table, column=cols[0]) + " " + analyze)
    if len(cols) >= 2:
        fixes.append(statement_text("plan_fix_create_statistics", table=table, columns=cols[:4]) + " " + analyze)
    return "\n".join(fixes)


def many_loops(plan: Plan, node: PlanNode) -> list:
    inputs = _plain_children(node)
    if node.node_type != "Nested Loop" or len(inputs) < 2:
        return []
    inner = inputs[1]
    loops = inner.loops or 0
    if loops < MANY_LOOPS:
        return []
    scan = next((n for n in inner.walk() if n.is_scan), inner)
    sev = Severity.error if scan.node_type == "Seq Scan" else Severity.warning
    return [_Later(sev, node.id, lambda: _loops_finding(node, inner, scan, loops, sev))]


def _loops_finding(node: PlanNode, inner: PlanNode, scan: PlanNode, loops: float, sev: Severity) -> Finding:
    table = _table(scan)
    inner_ms = inner.inclusive_ms
    return Finding(code="P107", severity=sev,
                   title=f"Nested Loop runs {inner.label()} {loops:,.0f} times",
                   object=table or f"node {node.id}",
                   detail=(f"the inner side ran once per outer row ({loops:,.0f} loops"
                           + (f", {inner_ms:.1f} ms in all" if inner_ms is not None else "") + ")."),
                   fix=(f"An index on {table} for the join condition makes each loop a lookup"
                        if scan.node_type == "Seq Scan" else
                        "Check the outer side's row estimate (P102): with it right the planner may hash-join"),
                   evidence=_node_evidence(node, inner=inner.label(), inner_id=inner.id, loops=loops,
                                           inner_ms=None if inner_ms is None else round(inner_ms, 3), table=table,
                                           scan_id=scan.id))


def workers_short(plan: Plan, node: PlanNode) -> list[Finding]:
    if node.workers_planned is None or node.workers_launched is None:
        return []
    if node.workers_launched >= node.workers_planned:
        return []
    return [Finding(code="P108",
                    title=f"{node.label()}: {node.workers_launched} of {node.workers_planned} workers launched",
                    object=f"node {node.id}",
                    detail="The other workers were not available (max_worker_processes / max_parallel_workers).",
                    fix="Raise max_parallel_workers (and max_worker_processes), or lower "
                        "max_parallel_workers_per_gather.",
                    evidence=_node_evidence(node, planned=node.workers_planned, launched=node.workers_launched))]


def offset_rows(plan: Plan, node: PlanNode) -> list[Finding]:
    inputs = _plain_children(node)
    if node.node_type != "Limit" or not inputs or node.rows_total is None:
        return []
    child = inputs[0]
    if child.rows_total is None:
        return []
    skipped = child.rows_total - node.rows_total
    if skipped < OFFSET_MIN_ROWS:
        return []
    return [Finding(code="P111", title=f"Limit skips {skipped:,.0f} rows to return {node.rows_total:,.0f}",
                    object=f"node {node.id}",
                    detail="The rows before the OFFSET are produced, sorted and thrown away on every page.",
                    fix="Keyset pagination: WHERE (sort_key, id) > ($last_key, $last_id) ORDER BY sort_key, id LIMIT n",
                    evidence=_node_evidence(node, skipped=skipped, returned=node.rows_total))]


def _removal(node: PlanNode) -> tuple[float, float, Severity] | None:
    """(rows read, share removed by the Filter, severity) when a node's filter throws most rows away
    (P103's bands and minimum)."""
    if not node.filter or node.rows_total is None:
        return None
    removed, kept = node.removed_by_filter_total, node.rows_total
    read = removed + kept
    if read < MIN_FILTER_ROWS or read <= 0:
        return None
    share = removed / read
    sev = _band(share, FILTER_BANDS)
    if sev is None or share <= FILTER_BANDS[-1][0]:
        return None
    return read, share, sev


def cte_filtered(plan: Plan, node: PlanNode) -> list[Finding]:
    """P113: a CTE Scan filters a materialised CTE: the whole CTE was computed, then most of it thrown away."""
    if node.node_type != "CTE Scan" or not node.cte_name:
        return []
    found = _removal(node)
    if found is None:
        return []
    read, share, sev = found
    body = next((n for n in plan.nodes() if n.subplan_name == f"CTE {node.cte_name}"), None)
    if body is None:
        return []
    inside = list(body.walk())
    if any(n.node_type in ("Recursive Union", "WorkTable Scan", "ModifyTable") for n in inside):
        return []                               # a recursive or data-modifying CTE cannot be inlined
    tables = list(dict.fromkeys(_table(n) for n in inside if n.relation))
    if not tables:
        return []
    cols = columns_of(node.filter)
    return [Finding(code="P113", severity=sev,
                    title=f"CTE Scan on {node.cte_name} discards {share:.0%} of the CTE's rows"
                          + (f" (filter on {', '.join(cols)})" if cols else ""),
                    object=f"CTE {node.cte_name}",
                    detail=(f"the CTE was computed in full ({read:,.0f} rows from {', '.join(tables)}) and then "
                            f"filtered: {node.filter}. Inlined, the filter would reach the scan of the table, "
                            "where an index can serve it."),
                    fix=_inline_fix(node.cte_name, cols, tables[0]),
                    evidence=_node_evidence(node, cte=node.cte_name, tables=tables, columns=cols, read=read,
                                            removed_share=round(share, 4), table=tables[0]))]


def _inline_fix(cte: str, cols: list[str], table: str) -> str:
    from perftool.db.sql import statement_text

    return (statement_text("plan_fix_inline_cte", cte=cte) + "  -- inline the CTE (PostgreSQL 12+)"
            + (f", so the filter on {', '.join(cols)} reaches the scan of {table}" if cols else ""))


# a cast EXPLAIN writes around a varchar/char column compared with text: binary-coercible, no index lost
_HARMLESS_CASTS = ("text", "character varying", "bpchar", "name", "varchar")
_MAYBE_WRAPPED = re.compile(r"[A-Za-z_][\w$]*\(|\)::(?!(?:text|character varying|bpchar|name|varchar)\b)")
_COMPARE = re.compile(r"\s(=|<>|<|>|<=|>=|~~|~~\*|!~~|!~~\*)\s")


def function_filter(plan: Plan, node: PlanNode) -> list[Finding]:
    """P114: a filter compares a function or cast of a column with a constant (`lower(email) = …`,
    `created_at::date = …`): an index on the column cannot serve it, an index on the expression can."""
    if node.node_type != "Seq Scan" or not node.relation:
        return []
    found = _removal(node)
    if found is None:
        return []
    read, share, sev = found
    if not _MAYBE_WRAPPED.search(node.filter or ""):
        return []                               # no call and no cast of a parenthesised value: the fast path
    qualifiers = {q for q in (node.alias, node.relation) if q}
    expressions = []
    for conjunct in _conjuncts(node.filter or ""):
        expr = _wrapped_side(conjunct, qualifiers)
        if expr is not None and expr not in expressions:
            expressions.append(expr)
    if not expressions:
        return []
    table = _table(node)
    expr = expressions[0]
    return [Finding(code="P114", severity=sev,
                    title=f"Seq Scan on {table}: the filter applies {expr} to the column, so no index on it helps",
                    object=table,
                    detail=(f"read {read:,.0f} rows, kept {node.rows_total:,.0f}; filter {node.filter}. "
                            "An index stores the column's values, not the expression's."),
                    fix=_expression_index(node, expr),
                    evidence=_node_evidence(node, table=table, expression=expr, expressions=expressions,
                                            columns=columns_of(expr), removed_share=round(share, 4)))]


def _expression_index(node: PlanNode, expr: str) -> str:
    from perftool.ddl import IndexSpec, KeyPart

    if not node.schema or not node.relation:
        return f"An index on the expression: CREATE INDEX ON {node.relation} (({expr}))"
    return IndexSpec(node.schema, node.relation, (KeyPart(expression=expr),)).create_sql() + ";"


def _strip_parens(text: str) -> str:
    text = text.strip()
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    return text


def _balanced(text: str) -> bool:
    depth, quoted = 0, False
    for ch in text:
        if ch == "'":
            quoted = not quoted
        elif not quoted:
            depth += (ch == "(") - (ch == ")")
            if depth < 0:
                return False
    return depth == 0 and not quoted


def _top_level_split(text: str, sep: str) -> list[str]:
    """`text` split on `sep` outside parentheses and quotes."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted:
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            elif depth == 0 and text.startswith(sep, i):
                parts.append(text[start:i])
                i += len(sep)
                start = i
                continue
        i += 1
    parts.append(text[start:])
    return parts


def _conjuncts(condition: str) -> list[str]:
    return [_strip_parens(p) for p in _top_level_split(_strip_parens(condition), " AND ")]


def _wrapped_side(conjunct: str, qualifiers: set[str]) -> str | None:
    """The column side of `expr op constant` when the column is inside a function or a cast
    (the expression, without table qualifiers), else None."""
    if " OR " in conjunct:
        return None
    for m in _COMPARE.finditer(conjunct):
        left, right = conjunct[:m.start()], conjunct[m.end():]
        if not (_balanced(left) and _balanced(right)):
            continue
        sides = [_strip_parens(left), _strip_parens(right)]
        with_cols = [bool(columns_of(_no_casts(side))) for side in sides]
        if with_cols.count(True) != 1:
            return None
        side = sides[with_cols.index(True)]
        if _bare_column(side):
            return None
        if "(" not in side and "::" not in side:
            return None
        return _unqualify(side, qualifiers)
    return None


def _no_casts(text: str) -> str:
    return _CAST.sub(" ", _QUOTED.sub(" ", text))


def _bare_column(side: str) -> bool:
    """`email`, `u.email`, `(u.status)::text` (a harmless cast of a varchar column)."""
    body = side
    m = re.fullmatch(r"\((.*)\)::(.+)", side.strip())
    if m and m.group(2).strip().lower() in _HARMLESS_CASTS:
        body = m.group(1)
    return re.fullmatch(rf"\s*{_NAME}(?:\.{_NAME})?\s*", body, re.I) is not None


def _unqualify(expr: str, qualifiers: set[str]) -> str:
    for q in qualifiers:
        expr = re.sub(rf'(?<![\w."]){re.escape(q)}\.', "", expr)
    return expr


# -- per plan ----------------------------------------------------------------------------------------

def jit_dominates(plan: Plan) -> list[Finding]:
    if plan.jit is None or not plan.execution_ms:
        return []
    jit_ms = plan.jit.total_ms
    share = jit_ms / plan.execution_ms
    if jit_ms < JIT_MIN_MS or share < JIT_SHARE:
        return []
    return [Finding(code="P109", title=f"JIT took {jit_ms:.0f} ms of {plan.execution_ms:.0f} ms ({share:.0%})",
                    object="statement",
                    detail=(f"{plan.jit.functions} functions: generation {plan.jit.generation_ms:.1f} ms, inlining "
                            f"{plan.jit.inlining_ms:.1f} ms, optimization {plan.jit.optimization_ms:.1f} ms, "
                            f"emission {plan.jit.emission_ms:.1f} ms"
                            + (" (summed over the parallel processes)." if any(n.in_parallel for n in plan.nodes())
                               else ".")),
                    fix="SET jit = off;  -- or raise jit_above_cost / jit_inline_above_cost / jit_optimize_above_cost",
                    evidence={"jit_ms": jit_ms, "execution_ms": plan.execution_ms, "share": round(share, 4),
                              "functions": plan.jit.functions})]


def planning_heavy(plan: Plan) -> list[Finding]:
    if plan.planning_ms is None or not plan.execution_ms:
        return []
    factor = plan.planning_ms / plan.execution_ms
    if plan.planning_ms < PLANNING_MIN_MS or factor < PLANNING_FACTOR:
        return []
    return [Finding(code="P110", title=f"planning took {plan.planning_ms:.1f} ms, {factor:.0f}× the execution",
                    object="statement",
                    detail=f"Planning {plan.planning_ms:.2f} ms, execution {plan.execution_ms:.2f} ms.",
                    fix="Prepare the statement (driver-side prepared statements), prune partitions with constants, "
                        "or lower join_collapse_limit for many-table joins.",
                    evidence={"planning_ms": plan.planning_ms, "execution_ms": plan.execution_ms,
                              "factor": round(factor, 2)})]


NODE_TIPS: tuple[Callable[[Plan, PlanNode], list[Finding]], ...] = (
    exclusive_share, estimate_off, filter_removes, spills, lossy_bitmap, heap_fetches, many_loops, workers_short,
    offset_rows, cte_filtered, function_filter)
PLAN_TIPS: tuple[Callable[[Plan], list[Finding]], ...] = (jit_dominates, planning_heavy)
# the node types a tip can fire on (the others are not asked: a big plan has many nodes)
TIP_NODE_TYPES: dict[str, tuple[str, ...]] = {
    "filter_removes": ("Seq Scan",), "spills": ("Sort", "Incremental Sort", "Hash", "Aggregate"),
    "lossy_bitmap": ("Bitmap Heap Scan",), "heap_fetches": ("Index Only Scan",), "many_loops": ("Nested Loop",),
    "workers_short": ("Gather", "Gather Merge"), "offset_rows": ("Limit",), "cte_filtered": ("CTE Scan",),
    "function_filter": ("Seq Scan",),
}
# fix SQL written only for the tips kept (composing it is the slow part on a plan of many nodes)
_FIX_SQL: dict[str, Callable[[PlanNode, Finding], str]] = {"P102": _statistics, "P106": _vacuum}
