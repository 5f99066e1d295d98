"""The report of `indexes recommend`: the recommendations (A101 findings and their rows), the
statements with their costs before and after, the skipped ones (A102), the heuristic warning
(A103), and with --explain-choice why the other candidates lost and each selection step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from perftool.advisor.costs import write_cost_reason
from perftool.advisor.greedy import GreedySearch
from perftool.advisor.indexdef import IndexDef
from perftool.advisor.items import Item
from perftool.advisor.moves import MoveStatus
from perftool.advisor.options import AdvisorOptions
from perftool.advisor.predicates import Constant
from perftool.report.model import Column, Finding, Report, Section
from perftool.report.values import human_bytes


@dataclass(frozen=True)
class Alternative:
    """A partial index that serves the same statements if `assumption` holds for all of them."""

    index: IndexDef
    assumption: Constant
    size_bytes: int
    instead_of_bytes: int
    definition: str = ""

    @property
    def text(self) -> str:
        return (f"if {self.assumption.label()} is constant in your application: {human_bytes(self.size_bytes)} "
                f"instead of {human_bytes(self.instead_of_bytes)}")


@dataclass
class Recommendation:
    """One recommended index: its size, benefit, CREATE statement and the statements it helps."""

    index: IndexDef
    size_bytes: int
    benefit: float
    definition: str
    statements: list[Item]
    verified: bool = True
    alternatives: list[Alternative] = field(default_factory=list)
    shape: str = ""                 # GIN/GiST: the predicate that needs it ("jsonb @>", "LIKE '%…%'" …)
    extension: str = ""             # "needs pg_trgm (installed)" …
    unverified_reason: str = ""     # why the planner did not cost it (GIN/GiST: HypoPG cannot)
    # --verify-on: statement position → (cost before, cost after) with the index built for real there
    measured: dict[int, tuple[float | None, float | None]] = field(default_factory=dict)
    verified_on: str = ""           # the server it was measured on (host:port/database, no secrets)
    used_by_planner: bool | None = None   # --verify-on: whether a plan used the real index

    @property
    def verification(self) -> str:
        """How the benefit is known: hypopg (planner, hypothetical), verify-on (built for real on a
        staging copy), pattern (GIN/GiST from the predicate, unverified) or heuristic (--no-whatif)."""
        if self.verified_on:
            return "verify-on"
        if self.unverified_reason:
            return "pattern"
        return "hypopg" if self.verified else "heuristic"

    @property
    def display(self) -> str:
        """The index's label as the report lists it, with its verification when not HypoPG's."""
        label = self.index.label()
        if self.verification == "pattern":
            return label + " — unverified"
        if self.verification == "verify-on":
            return label + f" — verified on {self.verified_on}"
        return label


@dataclass
class AdvisorResult:
    """What `advise` found (the report is built from it)."""

    items: list[Item]
    recommendations: list[Recommendation]
    cost_before: float | None
    cost_after: float | None
    options: AdvisorOptions
    seconds: float
    explains: int = 0
    cache_hits: int = 0
    covered: dict[IndexDef, str] = field(default_factory=dict)
    selector: GreedySearch | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def analysed(self) -> list[Item]:
        return [it for it in self.items if it.skip is None]

    @property
    def skipped(self) -> list[Item]:
        return [it for it in self.items if it.skip is not None]


REC_COLUMNS = [
    Column("rank", "#", "int"),
    Column("index", "index", "text"),
    Column("size_bytes", "size", "bytes"),
    Column("saved_pct", "saves", "pct"),
    Column("statement_count", "statements", "int"),
    Column("definition", "CREATE INDEX", "text"),
]
STATEMENT_COLUMNS = [
    Column("query", "statement", "query"),
    Column("weight", "weight", "float"),
    Column("cost_before", "cost before", "float"),
    Column("cost_after", "cost after", "float"),
    Column("saved_pct", "saved", "pct"),
    Column("indexes", "uses", "text"),
]
SKIP_COLUMNS = [Column("query", "statement", "query"), Column("origin", "from", "text"),
                Column("reason", "why skipped", "text")]
ALTERNATIVE_COLUMNS = [Column("index", "recommended", "text"), Column("alternative", "alternative", "text"),
                       Column("assumption", "assuming", "text"), Column("size_bytes", "size", "bytes"),
                       Column("instead_of_bytes", "instead of", "bytes"), Column("definition", "CREATE INDEX", "text")]
RUNNER_COLUMNS = [Column("index", "candidate", "text"), Column("benefit", "benefit", "float"),
                  Column("size_bytes", "size", "bytes"), Column("reason", "why not chosen", "text")]


def _r(x: float | None, nd: int = 2) -> float | None:
    """`x` rounded for the report (None stays None)."""
    return None if x is None else round(float(x), nd)


def _statement_record(it: Item, measured: dict[int, tuple[float | None, float | None]] | None = None,
                      pattern: bool = False) -> dict[str, Any]:
    """A statement with its cost before and after (HypoPG; `measured`: the costs --verify-on
    measured with the real index; `pattern`: an unverified index, no after)."""
    s = it.statement
    base, final = it.base, it.final
    if measured is not None and it.position in measured:
        base, final = measured[it.position]
    elif pattern:
        final = None
    rec: dict[str, Any] = {"query": s.text, "origin": s.origin, "weight": _r(it.weight, 4),
                           "cost_before": _r(base), "cost_after": _r(final)}
    if s.queryid is not None:
        rec["queryid"] = s.queryid
    if base and final is not None:
        rec["saved_pct"] = round(1 - final / base, 4) if base else 0.0
    return rec


def _runner_ups(result: AdvisorResult, limit: int = 25) -> list[dict[str, Any]]:
    sel = result.selector
    if sel is None:
        return []
    chosen = set(sel.config)
    rows: list[dict[str, Any]] = []
    for (old, new), move in sel.moves.by_key.items():
        if new in chosen:
            continue
        reason = sel.pruned.get(new)
        longer = sel.model.leads_chosen(new) if reason is None else None
        if longer is not None:
            reason = f"its key columns lead {longer.label()}, which serves the same scans"
        if reason is None and new in sel.widened:
            reason = f"widened into {sel.widened[new].label()}"
        if reason is None and move.status == MoveStatus.NO_BENEFIT:   # (advupd) a write cost is not "no saving"
            reason = write_cost_reason(sel.model, move)
        if reason is None and move.status == MoveStatus.TAKEN:
            reason = "chosen, then replaced by the local search"
        if reason is None:
            reason = {
                MoveStatus.NO_BENEFIT: "no statement gets cheaper with it (given the chosen indexes)",
                MoveStatus.BELOW_BAR: f"improves no statement by {result.options.min_improvement:.0%}",
                MoveStatus.OVER_BUDGET: "does not fit the remaining --budget",
                MoveStatus.MAX_INDEXES: "--max-indexes reached",
            }.get(move.status, "a better benefit per byte was always available")
        label = new.label() if old is None else f"{old.label()} → {new.label()}"
        rows.append({"index": label, "benefit": _r(move.benefit), "size_bytes": move.delta_size,
                     "ratio": move.ratio, "reason": reason})
    for ix, cover in result.covered.items():
        rows.append({"index": ix.label(), "benefit": None, "size_bytes": None, "ratio": -1.0,
                     "reason": f"already covered by existing index {cover}"})
    rows.sort(key=lambda r: (-(r["ratio"] or 0), r["index"]))
    for r in rows:
        r.pop("ratio")
    return rows[:limit]


def build_report(result: AdvisorResult, server: dict[str, Any] | None = None,
                 sources: list[str] | None = None) -> Report:
    opts = result.options
    before, after = result.cost_before, result.cost_after
    saved = (1 - after / before) if before and after is not None else None
    recs_json: list[dict[str, Any]] = []
    rec_rows: list[dict[str, Any]] = []
    findings: list[Finding] = []
    alt_rows: list[dict[str, Any]] = []
    for rank, rec in enumerate(result.recommendations, 1):
        ix = rec.index
        share = (rec.benefit / before) if before and rec.verification != "pattern" else None
        alternatives = [{"index": a.index.label(), "where": " AND ".join(c.label() for c in a.index.where),
                         "assumption": f"{a.assumption.label()} is constant in your application",
                         "size_bytes": a.size_bytes, "instead_of_bytes": a.instead_of_bytes,
                         "definition": a.definition, "text": a.text} for a in rec.alternatives]
        alt_rows += [{"index": ix.label(), "alternative": a["index"], "assumption": a["assumption"],
                      "size_bytes": a["size_bytes"], "instead_of_bytes": a["instead_of_bytes"],
                      "definition": a["definition"]} for a in alternatives]
        recs_json.append({
            "table": f"{ix.schema}.{ix.table}",
            "columns": list(ix.columns),
            "descending": [ix.is_desc(i) for i in range(len(ix.columns))],
            "include": list(ix.include),
            "where": " AND ".join(c.label() for c in ix.where) or None,
            "method": ix.method,
            "definition": rec.definition,
            "size_bytes": int(rec.size_bytes),
            "benefit": _r(rec.benefit),
            "saved_pct": _r(share, 4),
            "verified": rec.verified,
            "verification": rec.verification,
            "statements": [_statement_record(it, rec.measured or None, rec.verification == "pattern")
                           for it in rec.statements],
            "alternatives": alternatives,
        })
        if rec.shape or rec.unverified_reason or rec.verified_on:
            recs_json[-1].update({"shape": rec.shape, "extension": rec.extension or None,
                                  "unverified_reason": rec.unverified_reason or None,
                                  "verified_on": rec.verified_on or None, "used_by_planner": rec.used_by_planner})
        rec_rows.append({"rank": rank, "index": rec.display, "size_bytes": int(rec.size_bytes), "saved_pct": share,
                         "statement_count": len(rec.statements), "definition": rec.definition})
        helped = ", ".join(sorted({it.statement.origin for it in rec.statements})[:5])
        tail = {"heuristic": " (unverified heuristic)", "pattern": f" (unverified: HypoPG cannot cost {ix.method})",
                "verify-on": f" (verified on {rec.verified_on})"}.get(rec.verification, "")
        how = ""
        if rec.verification == "pattern":
            how = f" {rec.unverified_reason}." + (f" It {rec.extension}." if rec.extension else "")
        elif rec.verification == "verify-on":
            how = (f" Built for real on {rec.verified_on} inside a rolled-back transaction: "
                   + ("the planner used it." if rec.used_by_planner else "the planner did not use it.")
                   + (f" It {rec.extension}." if rec.extension else ""))
        findings.append(Finding(
            code="A101",
            title=f"missing index: {ix.label()}" + tail,
            object=f"{ix.schema}.{ix.table}",
            detail=(f"{'Size' if rec.verification == 'verify-on' else 'Estimated size'} "
                    f"{human_bytes(rec.size_bytes)}; "
                    + (f"saves {share:.1%} of the workload's estimated cost; " if share is not None else "")
                    + f"used by {len(rec.statements)} statement(s)" + (f" ({helped})" if helped else "") + "."
                    + how + "".join(f" Alternative: {a['index']} — {a['text']}." for a in alternatives)),
            fix=rec.definition,
            evidence={"table": f"{ix.schema}.{ix.table}", "columns": list(ix.columns),
                      "size_bytes": int(rec.size_bytes), "benefit": _r(rec.benefit)},
        ))
    skipped: list[dict[str, Any]] = [{"query": it.statement.text, "origin": it.statement.origin, "reason": it.skip}
                                     for it in result.skipped]
    if skipped:
        findings.append(Finding(
            code="A102",
            title=f"{len(skipped)} statement(s) could not be analysed",
            object="workload",
            detail="; ".join(sorted({s["reason"] for s in skipped}))[:600],
            fix="See the skipped list for each statement and its reason.",
            evidence={"count": len(skipped)},
        ))
    verified = opts.whatif
    if not verified:
        findings.append(Finding(
            code="A103",
            title="heuristic recommendations, not verified with HypoPG (--no-whatif)",
            object="workload",
            detail="Ranked from predicates, row counts and column statistics only; the planner was not asked.",
            fix="Install HypoPG (CREATE EXTENSION hypopg) and run without --no-whatif to verify.",
        ))
    statements = sorted(result.analysed, key=lambda it: -(it.weight * (it.base or 0)))
    st_rows = []
    for it in statements:
        row = _statement_record(it)
        row["indexes"] = [ix.label() for ix in sorted(it.used, key=IndexDef.sort_key)]
        st_rows.append(row)
    workload = {
        "statements": len(result.items),
        "analysed": len(result.analysed),
        "skipped": len(skipped),
        "cost_before": _r(before),
        "cost_after": _r(after),
        "saved_pct": _r(saved, 4),
        "verified": verified,
        "weight": opts.weight if verified else "calls",
        "budget_bytes": opts.budget_bytes,
        "recommended_bytes": sum(int(r.size_bytes) for r in result.recommendations if r.verification != "pattern"),
        "unverified_bytes": sum(int(r.size_bytes) for r in result.recommendations if r.verification == "pattern"),
        "max_indexes": opts.max_indexes,
        "max_width": opts.max_width,
        "min_improvement": opts.min_improvement,
        "literals": opts.literals,
        "sources": sources or [],
        "explains": result.explains,
        "cache_hits": result.cache_hits,
        "seconds": round(result.seconds, 3),
    }
    unverified = sum(1 for r in result.recommendations if r.verification == "pattern")
    title = (f"{len(result.recommendations)} recommended index(es)"
             + (f", {unverified} unverified (GIN/GiST: HypoPG cannot cost them)" if unverified else "")
             + ((f": estimated workload cost {before:,.0f}, not costed with them (--verify-on DSN measures them "
                 "on a staging copy)") if before and unverified == len(result.recommendations) and unverified
                else f": estimated workload cost {before:,.0f} → {after:,.0f} ({saved:.1%} saved)"
                if before and after is not None and saved is not None else ""))
    sections = [Section(key="recommendations", title=title + ("" if verified else " — UNVERIFIED (--no-whatif)"),
                        columns=REC_COLUMNS, rows=rec_rows,
                        note=("Costs are PostgreSQL planner estimates with HypoPG hypothetical indexes."
                              if verified else "Heuristic ranking without the planner: verify before creating."))]
    if verified:
        sections.append(Section(key="statements", title=f"Statements ({len(st_rows)} analysed)",
                                columns=STATEMENT_COLUMNS, rows=st_rows))
    if alt_rows:
        sections.append(Section(key="alternatives", title=f"Alternatives on an assumption ({len(alt_rows)})",
                                columns=ALTERNATIVE_COLUMNS, rows=alt_rows,
                                note="Literals in the statements are taken as example values (--literals example): "
                                     "a partial index on one serves the application only if the value never "
                                     "changes. Pass --literals constant to trust every literal."))
    sections.append(Section(key="skipped", title=f"Skipped statements ({len(skipped)})", columns=SKIP_COLUMNS,
                            rows=skipped))
    data: dict[str, Any] = {"recommendations": recs_json, "workload": workload}
    if opts.explain_choice:
        runners = _runner_ups(result)
        sections.append(Section(key="runner_ups", title="Why other candidates lost", columns=RUNNER_COLUMNS,
                                rows=runners))
        if result.selector is not None:
            data["steps"] = [{
                "step": s.number, "action": s.move.kind.value, "index": s.move.new.label(),
                "replaces": s.move.old.label() if s.move.old else None, "benefit": _r(s.move.benefit),
                "size_delta_bytes": s.move.delta_size, "benefit_per_mb": _r(s.move.ratio * 1048576),
                "runners_up": [{"index": r.new.label(), "benefit_per_mb": _r(r.ratio * 1048576),
                                "estimate": not r.exact} for r in s.runners_up],
            } for s in result.selector.steps]
    return Report(command="indexes recommend", server=server or {}, sections=sections, findings=findings,
                  notes=list(result.notes), data=data)
