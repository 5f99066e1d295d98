"""`perftool explain`'s library entry point: statements (or plan files) in, one Report out.

`explain_report(dsn, request, options)`: connect (read-only session, statement_timeout =
--timeout), take the statements (argument, -f FILE, stdin, or --queryid / --top from
pg_stat_statements), EXPLAIN each safely (`plans.run`), read the tips (`plans.tips`), prove the
index tips and the user's `--with-index` ideas with HypoPG (`plans.proof`), and build the Report:
one `plan` section per statement (the node tree: own time and share, rows, loops, estimate
factor, removed rows, buffers), a `whatif` section with the proofs, the tips as findings, and
the way each plan was obtained (ran, estimates only, generic plan, timeout fallback) as notes.
`--plan FILE` reads a plan instead (EXPLAIN JSON or psql text); no server is needed then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perftool.db.errors import InputError, PerftoolError, UsageError
from perftool.plans.anonymize import Anonymizer, anonymize_proof
from perftool.plans.json_plan import parse_json
from perftool.plans.model import Plan, PlanNode
from perftool.plans.parse import parse_plan, plan_document
from perftool.plans.proof import Proof, advisor_indexes, has_hypopg, inline_cte, prove, prove_rewrite
from perftool.plans.run import Explained, ExplainOptions, Refused, classify, explain_statement
from perftool.plans.tips import INDEX_TIPS, OWN_PROOF_TIPS, plan_tips
from perftool.report.model import Column, Finding, Report, Section
from perftool.report.values import human_ms
from perftool.workload.sources import WorkloadStatement

BLANK = "\u2800"        # a blank that table renderers do not strip (tree indentation)
PLAN_COLUMNS = [
    Column("tree", "node"), Column("own", "own time"), Column("share", "%", "pct"),
    Column("inclusive_ms", "total", "ms"), Column("rows", "rows", "int"), Column("loops", "loops", "int"),
    Column("estimate", "estimate"), Column("removed", "removed", "int"), Column("buffers", "buffers"),
]
WHATIF_COLUMNS = [
    Column("source", "from"), Column("indexes", "indexes"), Column("before_cost", "cost before", "float"),
    Column("after_cost", "cost after", "float"), Column("saved_share", "saved", "pct"), Column("changes", "changes"),
]


@dataclass
class ExplainRequest:
    statements: list[WorkloadStatement] = field(default_factory=list)
    compare: list[str] = field(default_factory=list)        # two plan files: A B
    queryid: int | None = None
    top: int | None = None
    plan_files: list[str] = field(default_factory=list)
    log_files: list[str] = field(default_factory=list)       # server logs with auto_explain entries
    # one statement, two ways: B under these settings (SET LOCAL), or B with these hypothetical indexes
    compare_settings: list[tuple[str, str]] = field(default_factory=list)
    compare_indexes: list[str] = field(default_factory=list)
    with_indexes: list[str] = field(default_factory=list)
    prove: bool = True
    anonymize: bool = False


@dataclass
class Outcome:
    """One statement (or plan file) explained: the plan, its tips, the proofs."""

    origin: str
    text: str | None
    explained: Explained | None
    plan: Plan
    findings: list[Finding]
    proofs: list[Proof] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    document: Any = None         # the anonymized EXPLAIN document (--anonymize): shareable, `--plan` reads it


def explain_report(dsn: str | None, request: ExplainRequest, options: ExplainOptions) -> Report:
    anon = Anonymizer() if request.anonymize else None
    try:
        report = _explain_report(dsn, request, options, anon)
    except PerftoolError as exc:
        if anon is not None:             # the message can quote the statement or a name
            for st in request.statements:
                anon.sql(st.text)            # learns the statement's names (a refusal comes before the plan)
            exc.message, exc.hint = anon.text(exc.message), anon.text(exc.hint) if exc.hint else exc.hint
        raise
    if anon is not None:
        anon.report(report)
        report.notes.append("anonymized (--anonymize): names and literals are replaced by tokens")
    return report


def _explain_report(dsn: str | None, request: ExplainRequest, options: ExplainOptions,
                    anon: Anonymizer | None) -> Report:
    if request.compare:
        from perftool.plans.compare import compare_report

        if len(request.compare) != 2:
            raise UsageError("--compare takes two plan files: A (before) and B (after)")
        a, b = (_from_plan_file(p, anon) for p in request.compare)
        return compare_report(a.origin, a.plan, b.origin, b.plan)
    if request.plan_files or request.log_files:
        outcomes = [_from_plan_file(p, anon) for p in request.plan_files]
        notes: list[str] = []
        for path in request.log_files:
            logged, unread = _from_log(path, request.top, anon)
            outcomes += logged
            notes += unread
        report = build_report(outcomes, server={})
        report.notes += notes
        return report
    if dsn is None:
        raise UsageError("no server to explain on", "pass --dsn, or --plan FILE to read a plan")
    from perftool.db.connect import connect, server_info, use_workload_search_path

    for text in (s.text for s in request.statements):
        classify(text)                           # refuse before connecting: exit 2, nothing sent
    with connect(dsn, statement_timeout_ms=options.timeout_ms) as conn:
        info = server_info(conn)
        statements = list(request.statements)
        skipped: list[str] = []
        if request.queryid is not None or request.top is not None:
            statements += _from_stat_statements(conn, request, options, skipped)
        if not statements:
            raise UsageError("no statement to explain",
                             "pass a statement, -f FILE, standard input, --queryid or --top, or --plan FILE")
        use_workload_search_path(conn)           # names resolve as the application's would
        hypopg = has_hypopg(conn)
        if request.compare_settings or request.compare_indexes:
            report = _compare_one(conn, statements, request, options, anon, hypopg)
            report.server = info.as_dict()
            return report
        outcomes = []
        for st in statements:
            try:
                explained = explain_statement(conn, st.text, options, origin=st.origin)
            except Refused as exc:
                if request.top is None or st.source != "pg_stat_statements":
                    raise
                skipped.append(f"{st.origin} skipped: {exc.message}")       # --top: the others go on
                continue
            plan, text, document = explained.plan, st.text, None
            if anon is not None:                 # tips are read from the anonymized plan: they name tokens
                document = anon.document(explained.document)
                anon.learn_statement(st.text)
                plan, text = parse_json(document), anon.sql(st.text)
            findings = plan_tips(plan)
            outcome = Outcome(st.origin, text, explained, plan, findings, notes=list(explained.notes),
                              document=document)
            if request.prove:                    # the proofs cost the real names' fixes
                real = findings if anon is None else plan_tips(explained.plan)
                _prove(conn, dsn, outcome, st.text, request, options, hypopg, anon, real)
            outcomes.append(outcome)
    report = build_report(outcomes, server=info.as_dict())
    report.notes += skipped
    return report


def _compare_one(conn, statements: list[WorkloadStatement], request: ExplainRequest, options: ExplainOptions,
                 anon: Anonymizer | None, hypopg: bool) -> Report:
    """One statement's plan A (as it is) against plan B (under --compare-setting, or with the
    --compare-index indexes made hypothetically), through `compare_report`: P112 and --fail-on."""
    from perftool.plans.compare import compare_report

    if len(statements) != 1:
        raise UsageError(f"--compare-setting and --compare-index compare one statement's plans; {len(statements)} "
                         "statements were given")
    if request.compare_settings and request.compare_indexes:
        raise UsageError("--compare-setting and --compare-index are two comparisons: pass one of them")
    text = statements[0].text
    notes: list[str] = []
    if request.compare_settings:
        from dataclasses import replace

        a = explain_statement(conn, text, options, origin=statements[0].origin)
        b = explain_statement(conn, text, replace(options, settings=list(request.compare_settings)),
                              origin=statements[0].origin)
        docs = (a.document, b.document)
        label_a = "current settings"
        label_b = "SET LOCAL " + ", ".join(f"{k} = {v}" for k, v in request.compare_settings)
        notes += [f"A: {n}" for n in a.notes] + [f"B: {n}" for n in b.notes]
        if a.mode == "analyze" and b.mode == "analyze":
            notes.append("each plan ran once, A first (A may have warmed the cache for B)")
    else:
        if not hypopg:
            raise UsageError("--compare-index needs HypoPG in the database", "run CREATE EXTENSION hypopg")
        proof = prove(conn, text, request.compare_indexes, "--compare-index", values=options.params or None)
        if proof.error or proof.documents is None:
            raise InputError(f"--compare-index: {proof.error or 'the plans could not be made'}")
        docs = proof.documents
        label_a, label_b = "without the indexes", "with " + "; ".join(request.compare_indexes)
        notes.append("HypoPG: estimated costs of plain EXPLAIN (hypothetical indexes are invisible to ANALYZE)")
    if anon is not None:
        docs = (anon.document(docs[0]), anon.document(docs[1]))
        anon.learn_statement(text)
        label_b = anon.sql(label_b) if request.compare_indexes else anon.text(label_b)
    report = compare_report(label_a, parse_json(docs[0]), label_b, parse_json(docs[1]))
    report.notes += notes
    report.data["statements"] = [{"origin": statements[0].origin,
                                  "text": anon.sql(text) if anon is not None else text}]
    return report


def _from_stat_statements(conn, request: ExplainRequest, options: ExplainOptions,
                          skipped: list[str]) -> list[WorkloadStatement]:
    from perftool.workload import sources as ws

    found = ws.from_stat_statements(conn)
    if request.queryid is not None:
        chosen = [s for s in found if s.queryid == request.queryid]
        if not chosen:
            raise UsageError(f"queryid {request.queryid} is not in pg_stat_statements of this database")
    else:
        chosen = sorted(found, key=lambda s: -s.total_ms)
    out = []
    for s in chosen:
        try:
            if classify(s.text) == "write" and options.analyze and not options.allow_dml and request.queryid is None:
                skipped.append(f"{s.origin} skipped: it writes (--allow-dml runs it in a rolled-back transaction)")
                continue
        except Refused as exc:
            if request.queryid is not None:
                raise
            skipped.append(f"{s.origin} skipped: {exc.message}")
            continue
        out.append(s)
        if request.top is not None and len(out) >= request.top:
            break
    return out


def _read(path: str) -> str:
    import sys

    try:
        return sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


def _from_plan_file(path: str, anon: Anonymizer | None = None) -> Outcome:
    text = _read(path)
    if anon is None:
        plan = parse_plan(text)
        return _from_plan("stdin" if path == "-" else path, plan, None, None,
                          "a plan read from a file has no statement to cost an index for")
    raw, source = plan_document(text)
    return _from_document("stdin" if path == "-" else path, raw, source, None, anon,
                          "a plan read from a file has no statement to cost an index for")


def _from_document(origin: str, raw: Any, source: str, query: str | None, anon: Anonymizer | None,
                   unverified: str) -> Outcome:
    plan = parse_json(raw, source=source)        # an unreadable plan is refused as without --anonymize
    document = None
    if anon is not None:
        document = anon.document(raw)
        if query:
            anon.learn_statement(query)
            query = anon.sql(query)
        plan = parse_json(document, source=source)
    return _from_plan(origin, plan, query, document, unverified)


def _from_plan(origin: str, plan: Plan, query: str | None, document: Any, unverified: str) -> Outcome:
    findings = plan_tips(plan)
    for f in findings:
        if f.code in INDEX_TIPS or f.code in OWN_PROOF_TIPS:
            f.detail += f" Unverified: {unverified}."
    notes = [] if plan.analyzed else ["the plan has no ANALYZE figures (estimates only)"]
    return Outcome(origin=origin, text=query, explained=None, plan=plan, findings=findings, notes=notes,
                   document=document)


def _from_log(path: str, top: int | None, anon: Anonymizer | None) -> tuple[list[Outcome], list[str]]:
    """Each auto_explain entry of a server log (the `top` slowest), read like a --plan file."""
    from perftool.plans.auto_explain import read_log

    read = read_log(_read(path))
    name = "stdin" if path == "-" else path
    if not read.entries:
        why = f" ({len(read.skipped)} unreadable: {read.skipped[0]})" if read.skipped else ""
        raise InputError(f"{name} holds no auto_explain plan{why}",
                         "LOAD 'auto_explain' (or shared_preload_libraries) and set auto_explain.log_min_duration")
    entries = read.entries
    if top is not None:
        entries = sorted(entries, key=lambda e: -e.duration_ms)[:top]
    outcomes = []
    for e in entries:
        origin = f"{name}:{e.line}, auto_explain {e.form}, {human_ms(e.duration_ms)}" + (
            f", database {e.database}" if e.database else "")
        outcomes.append(_from_document(origin, e.document, "json" if e.form == "json" else "text", e.query, anon,
                                       "run perftool explain on the statement to cost an index"))
    notes = [f"{name}: entry at {s} skipped" for s in read.skipped]
    if top is not None and len(read.entries) > len(entries):
        notes.append(f"{name}: the {len(entries)} slowest of {len(read.entries)} auto_explain entries (--top)")
    return outcomes, notes


def _prove(conn, dsn: str, outcome: Outcome, text: str, request: ExplainRequest, options: ExplainOptions,
           hypopg: bool, anon: Anonymizer | None, real: list[Finding]) -> None:
    """Cost the index tips' fix (the advisor's pick), P113's and P114's own fixes, and the user's
    --with-index ideas (`text`: the statement as written; `real`: the tips read from the real plan,
    the same tips as `outcome.findings` when not anonymized; with --anonymize the proofs are
    anonymized before they are read)."""
    index_tips = [f for f in outcome.findings if f.code in INDEX_TIPS]
    _prove_own(conn, dsn, outcome, text, options, hypopg, anon, real)
    if not hypopg:
        for f in index_tips:
            f.detail += " Unverified: HypoPG is not installed (CREATE EXTENSION hypopg) to cost an index."
        if request.with_indexes:
            raise UsageError("--with-index needs HypoPG in the database", "run CREATE EXTENSION hypopg")
        return
    values = options.params or None
    if index_tips:
        definitions, reason = advisor_indexes(dsn, text)
        proof = prove(conn, text, definitions, "advisor", values=values) if definitions else None
        if anon is not None:
            proof = anonymize_proof(anon, proof) if proof is not None else None
            reason = anon.text(reason) if reason else reason
        for f in index_tips:
            table = f.evidence.get("table") or ""
            if proof is not None and proof.improves and (not table or table in proof.tables):
                f.detail += f" Proven with HypoPG: {proof.summary()}."
                f.fix = "\n".join(proof.indexes)
                f.evidence["proof"] = proof.as_dict()
                f.evidence["verified"] = True
            else:
                why = reason or (proof.summary() if proof is not None else "no index to cost")
                if proof is not None and proof.improves:
                    why = f"the advisor's index changes another table's scan ({proof.summary()})"
                f.detail += f" Unverified: {why}."
                f.evidence["verified"] = False
        if proof is not None:
            outcome.proofs.append(proof)
    if request.with_indexes:
        mine = prove(conn, text, request.with_indexes, "--with-index", values=values)
        outcome.proofs.append(mine if anon is None else anonymize_proof(anon, mine))


def _prove_own(conn, dsn: str, outcome: Outcome, text: str, options: ExplainOptions, hypopg: bool,
               anon: Anonymizer | None, real: list[Finding]) -> None:
    """P113: plan the statement with the CTE inlined (and, if that alone does not help, with the
    advisor's indexes for the inlined statement); P114: make the expression index hypothetically."""
    by_node = {(f.code, f.evidence.get("node_id")): f for f in real}
    values = options.params or None
    for f in outcome.findings:
        if f.code not in OWN_PROOF_TIPS:
            continue
        mine = by_node.get((f.code, f.evidence.get("node_id")), f)
        proof: Proof | None = None
        why = ""
        if f.code == "P113":
            rewritten = inline_cte(text, mine.evidence.get("cte") or "")
            if rewritten is None:
                why = "the CTE's definition was not found in the statement to inline it"
            else:
                proof = prove_rewrite(conn, text, rewritten, "P113: the CTE inlined", dsn if hypopg else None,
                                      values=values)
        elif not hypopg:
            why = "HypoPG is not installed (CREATE EXTENSION hypopg) to cost an index"
        elif not mine.fix.startswith("CREATE INDEX"):
            why = "the plan does not name the table's schema"
        else:
            proof = prove(conn, text, [mine.fix.rstrip(";")], "P114: expression index", values=values)
        if proof is not None and anon is not None:
            proof = anonymize_proof(anon, proof)
        table = f.evidence.get("table") or ""
        if proof is not None and proof.improves and (f.code == "P113" or table in proof.tables):
            f.detail += f" Proven{' with HypoPG' if proof.indexes else ''}: {proof.summary()}."
            if f.code == "P113" and proof.indexes:
                f.fix += "\n" + "\n".join(proof.indexes)
            f.evidence["proof"] = proof.as_dict()
            f.evidence["verified"] = True
        else:
            if proof is not None:
                why = proof.summary() if proof.error or not proof.improves else \
                    f"the change is on another table's scan ({proof.summary()})"
            f.detail += f" Unverified: {why}."
            f.evidence["verified"] = False
        if proof is not None:
            outcome.proofs.append(proof)


# -- the Report -----------------------------------------------------------------------------------------

def build_report(outcomes: list[Outcome], server: dict[str, Any]) -> Report:
    report = Report(command="explain", server=server)
    several = len(outcomes) > 1
    statements = []
    for i, o in enumerate(outcomes, 1):
        suffix = f"_{i}" if several else ""
        plan = o.plan
        mode = o.explained.mode if o.explained else ("analyze" if plan.analyzed else "estimates")
        title = f"Plan{f' {i}' if several else ''} ({o.origin}): " + _mode_label(mode, plan)
        report.sections.append(Section(key=f"plan{suffix}", title=title, columns=PLAN_COLUMNS, rows=plan_rows(plan),
                                       note="; ".join(o.notes)))
        if o.proofs:
            report.sections.append(Section(key=f"whatif{suffix}", title="What-if (HypoPG, estimated costs)",
                                           columns=WHATIF_COLUMNS, rows=[_proof_row(p) for p in o.proofs]))
        for f in o.findings:
            if several:
                f.object = f"plan {i}: {f.object}"
            report.findings.append(f)
        report.notes += [f"{o.origin}: {n}" for n in o.notes]
        statements.append({
            "origin": o.origin, "text": o.text, "kind": o.explained.kind if o.explained else None, "mode": mode,
            "estimates_only": mode != "analyze", "notes": o.notes, "planning_ms": plan.planning_ms,
            "execution_ms": plan.execution_ms, "trigger_ms": plan.trigger_ms if plan.triggers else None,
            "triggers": [{"name": t.name, "relation": t.relation, "time_ms": t.time_ms, "calls": t.calls}
                         for t in plan.triggers],
            "jit": None if plan.jit is None else {"functions": plan.jit.functions, "total_ms": plan.jit.total_ms,
                                                  "generation_ms": plan.jit.generation_ms,
                                                  "inlining_ms": plan.jit.inlining_ms,
                                                  "optimization_ms": plan.jit.optimization_ms,
                                                  "emission_ms": plan.jit.emission_ms},
            "settings": plan.settings, "proofs": [p.as_dict() for p in o.proofs],
        })
        if o.document is not None:
            statements[-1]["explain"] = o.document
    report.data["statements"] = statements
    return report


def _mode_label(mode: str, plan: Plan) -> str:
    if mode == "generic":
        return "estimates only (generic plan)"
    if mode == "estimates":
        return "estimates only (not run)"
    parts = ["ran"]
    if plan.execution_ms is not None:
        parts.append(f"execution {human_ms(plan.execution_ms)}")
    if plan.planning_ms is not None:
        parts.append(f"planning {human_ms(plan.planning_ms)}")
    if plan.triggers:
        parts.append(f"triggers {human_ms(plan.trigger_ms)}")
    if plan.jit is not None:
        parts.append(f"JIT {human_ms(plan.jit.total_ms)}")
    return ", ".join(parts)


def plan_rows(plan: Plan) -> list[dict[str, Any]]:
    """One row per node, parents first, with the tree drawn into `tree` and every figure as a field."""
    total = plan.total_ms
    rows: list[dict[str, Any]] = []
    # (node, parent id, prefix for its children, its own connector)
    stack: list[tuple[PlanNode, int | None, str, str]] = [(plan.root, None, "", "")]
    while stack:
        node, parent, prefix, connector = stack.pop()
        label = node.label()
        if node.subplan_name:
            label = f"[{node.subplan_name}] {label}"
        own = node.exclusive_ms
        factor = node.estimate_factor
        removed = node.removed_by_filter_total + node.removed_by_join_filter_total + node.removed_by_recheck_total
        rows.append({
            "id": node.id, "parent_id": parent, "depth": node.depth, "tree": connector + label, "node": label,
            "node_type": node.node_type, "relation": node.relation,
            "own": None if own is None else ("≈" if node.time_uncertain else "") + human_ms(own),
            "exclusive_ms": None if own is None else round(own, 3),
            "share": None if own is None or not total else round(own / total, 4),
            "inclusive_ms": None if node.inclusive_ms is None else round(node.inclusive_ms, 3),
            "time_uncertain": node.time_uncertain,
            "rows": node.rows_total if node.rows_total is not None else node.plan_rows,
            "loops": node.loops, "plan_rows": node.plan_rows, "actual_rows": node.actual_rows,
            "estimate": None if factor is None else (
                "ok" if factor < 10 else f"{factor:,.0f}× {'under' if node.underestimated else 'over'}"),
            "estimate_factor": None if factor is None else round(factor, 2),
            "removed": removed or None,
            "buffers": node.buffers.label() or None,
            "shared_hit": node.buffers.shared_hit, "shared_read": node.buffers.shared_read,
            "temp_read": node.buffers.temp_read, "temp_written": node.buffers.temp_written,
            "io_read_ms": node.buffers.io_read_ms, "total_cost": node.total_cost,
            "workers_planned": node.workers_planned, "workers_launched": node.workers_launched,
        })
        kids = node.children
        for k in range(len(kids) - 1, -1, -1):
            last = k == len(kids) - 1
            child_connector = prefix + ("└─ " if last else "├─ ")
            child_prefix = prefix + (BLANK + "  " if last else "│  ")
            stack.append((kids[k], node.id, child_prefix, child_connector))
    return rows


def _proof_row(p: Proof) -> dict[str, Any]:
    return {"source": p.source, "indexes": "; ".join(p.indexes) or ("(the statement rewritten)" if p.rewrite else ""),
            "before_cost": p.before_cost,
            "after_cost": p.after_cost, "saved_share": p.saved_share,
            "changes": "; ".join(f"{a} → {b}" for a, b in p.changes) or (p.error or "plan unchanged"),
            "error": p.error}
