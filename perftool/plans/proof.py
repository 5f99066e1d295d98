"""Proving an index tip: the statement's estimated plan before and after hypothetical indexes.

The indexes come from the advisor (`indexes recommend`'s public entry point, run on this one
statement: multi-column, partial and INCLUDE candidates as it supports them) or from the user
(`--with-index "CREATE INDEX …"`). They are made with HypoPG through the what-if layer's SQL
(`whatif_create`: the definition is a bound parameter, parsed by HypoPG, which accepts only
CREATE INDEX), the statement is planned again with plain EXPLAIN (HypoPG indexes are invisible to
EXPLAIN ANALYZE), and the session's hypothetical indexes are dropped (`whatif_reset`).

A `Proof` holds the estimated total cost before → after and the scans that changed
(`Seq Scan on public.orders` → `Index Scan using <16403>btree_orders_status on public.orders`).
Without HypoPG, or for a plan read from a file, tips stay "unverified".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from perftool.db.errors import PerftoolError
from perftool.plans.model import Plan, PlanNode

if TYPE_CHECKING:
    import psycopg


@dataclass
class Proof:
    indexes: list[str]                   # CREATE INDEX statements costed together
    source: str                          # advisor or --with-index
    before_cost: float | None = None
    after_cost: float | None = None
    changes: list[tuple[str, str]] = field(default_factory=list)    # node before → node after
    tables: list[str] = field(default_factory=list)                 # tables whose scans changed
    error: str | None = None
    rewrite: str | None = None           # the statement as rewritten (P113: the CTE inlined), if it was
    # the two EXPLAIN (FORMAT JSON) documents (for --compare-index), not rendered
    documents: tuple[Any, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def improves(self) -> bool:
        return self.before_cost is not None and self.after_cost is not None and self.after_cost < self.before_cost

    @property
    def saved_share(self) -> float | None:
        if not self.improves or not self.before_cost:
            return None
        return 1 - (self.after_cost or 0) / self.before_cost

    def summary(self) -> str:
        if self.error:
            return f"unverified: {self.error}"
        if self.before_cost is None or self.after_cost is None:
            return "unverified"
        line = f"estimated cost {self.before_cost:,.2f} → {self.after_cost:,.2f}"
        if self.saved_share is not None:
            line += f" ({self.saved_share:.0%} less)"
        if self.changes:
            line += "; " + "; ".join(f"{a} → {b}" for a, b in self.changes)
        else:
            line += "; the plan does not change"
        return line

    def as_dict(self) -> dict:
        return {"indexes": self.indexes, "source": self.source, "before_cost": self.before_cost,
                "after_cost": self.after_cost, "saved_share": None if self.saved_share is None
                else round(self.saved_share, 4), "changes": [{"before": a, "after": b} for a, b in self.changes],
                "tables": self.tables, "error": self.error, "rewrite": self.rewrite}


def has_hypopg(conn: psycopg.Connection) -> bool:
    from perftool.db.connect import server_info

    return server_info(conn).has_extension("hypopg")


def prove(conn: psycopg.Connection, text: str, indexes: list[str], source: str, *,
          values: list[str] | None = None) -> Proof:
    """Estimated plan of `text` without and with the hypothetical `indexes` (then forgotten)."""
    from perftool.db.sql import execute, fetch_all
    from perftool.plans.json_plan import parse_json
    from perftool.plans.run import estimate_document

    proof = Proof(indexes=list(indexes), source=source)
    try:
        before_doc = estimate_document(conn, text, values or [])
        execute(conn, "whatif_reset")
        try:
            fetch_all(conn, "whatif_create", {"definitions": list(indexes)})
        except PerftoolError as exc:
            proof.error = f"HypoPG refused the index: {exc.message}"
            return proof
        except Exception as exc:  # noqa: BLE001 - psycopg's error for a bad definition: say it, go on
            proof.error = "HypoPG refused the index: " + (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            return proof
        after_doc = estimate_document(conn, text, values or [])
    except PerftoolError as exc:
        proof.error = exc.message
        return proof
    finally:
        try:
            execute(conn, "whatif_reset")
        except Exception:  # noqa: BLE001 - best effort: the session ends soon anyway
            pass
    before, after = parse_json(before_doc), parse_json(after_doc)
    proof.documents = (before_doc, after_doc)
    proof.before_cost, proof.after_cost = before.root.total_cost, after.root.total_cost
    proof.changes, proof.tables = changed_scans(before, after)
    return proof


def prove_rewrite(conn: psycopg.Connection, text: str, rewritten: str, source: str, dsn: str | None = None, *,
                  values: list[str] | None = None) -> Proof:
    """Estimated plan of `text` against `rewritten` (the same statement, e.g. a CTE inlined); when
    the rewrite alone does not lower the cost and `dsn` is given, the rewrite with the advisor's
    indexes for it (made hypothetically)."""
    from perftool.plans.json_plan import parse_json
    from perftool.plans.run import estimate_document

    proof = Proof(indexes=[], source=source, rewrite=rewritten)
    try:
        before_doc = estimate_document(conn, text, values or [])
        after_doc = estimate_document(conn, rewritten, values or [])
    except PerftoolError as exc:
        proof.error = exc.message
        return proof
    before, after = parse_json(before_doc), parse_json(after_doc)
    if dsn is not None and any(n.node_type == "Seq Scan" and n.filter for n in after.nodes()):
        definitions, _ = advisor_indexes(dsn, rewritten)
        if definitions:
            indexed = prove(conn, rewritten, definitions, source, values=values)
            if indexed.documents is not None and indexed.improves:
                proof.indexes, after_doc = definitions, indexed.documents[1]
                after = parse_json(after_doc)
    proof.documents = (before_doc, after_doc)
    proof.before_cost, proof.after_cost = before.root.total_cost, after.root.total_cost
    proof.changes, proof.tables = changed_scans(before, after)
    kept = {n.cte_name for n in after.nodes() if n.node_type == "CTE Scan"}
    proof.changes += [(n.label(), "(inlined)") for n in before.nodes()
                      if n.node_type == "CTE Scan" and n.cte_name not in kept]
    return proof


def inline_cte(text: str, name: str) -> str | None:
    """The statement with CTE `name` declared NOT MATERIALIZED (PostgreSQL 12+), or None when its
    definition is not found."""
    import re

    quoted = '"' + name.replace('"', '""') + '"'
    pattern = re.compile(rf'((?<![\w"$]){re.escape(quoted)}|(?<![\w"$]){re.escape(name)}(?![\w$]))'
                         r"(\s*\([^()]*\))?(\s+AS\s+)(?:NOT\s+)?(?:MATERIALIZED\s+)?\(",
                         re.I if name == name.lower() else 0)
    out, count = pattern.subn(lambda m: f"{m.group(1)}{m.group(2) or ''}{m.group(3)}NOT MATERIALIZED (", text, 1)
    return out if count else None


def changed_scans(before: Plan, after: Plan) -> tuple[list[tuple[str, str]], list[str]]:
    """Scans of the same table (by alias) whose node changed between the two plans."""
    def scans(plan: Plan) -> dict[tuple[str, str], PlanNode]:
        out: dict[tuple[str, str], PlanNode] = {}
        for n in plan.nodes():
            if n.relation and n.node_type != "ModifyTable":
                out.setdefault((n.relation, n.alias or n.relation), n)
        return out

    a, b = scans(before), scans(after)
    changes, tables = [], []
    for key, node in a.items():
        other = b.get(key)
        if other is not None and other.label() != node.label():
            changes.append((node.label(), other.label()))
            tables.append(f"{node.schema}.{node.relation}" if node.schema else node.relation or "")
    return changes, tables


def advisor_indexes(dsn: str, text: str) -> tuple[list[str], str | None]:
    """The indexes the advisor recommends for this one statement (its CREATE INDEX statements),
    or the reason it has none."""
    from perftool.advisor.pipeline import AdvisorOptions, recommend_report

    try:
        report = recommend_report(dsn, {"queries": [text]}, AdvisorOptions(refine_seconds=0.0, time_budget_s=10.0))
    except PerftoolError as exc:
        return [], exc.message
    recs = report.data.get("recommendations") or []
    if not recs:
        return [], "the advisor finds no index that lowers this statement's estimated cost by 10 % or more"
    return [r["definition"] for r in recs if r.get("definition")], None
