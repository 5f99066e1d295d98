"""`--verify-on DSN`: build each unverified (GIN/GiST) recommendation for real on a staging copy and
cost its statements with it, inside a transaction that is always rolled back.

Never the default, and never the analysis connection: a separate read-write session to the DSN
given (a copy of the database with the same schema and similar data), where per recommendation
one pipelined batch runs

    BEGIN READ WRITE; [CREATE EXTENSION IF NOT EXISTS pg_trgm;] EXPLAIN each statement;
    CREATE INDEX (not CONCURRENTLY: it cannot run in a transaction) …; pg_relation_size(it);
    EXPLAIN each statement again; ROLLBACK

so nothing stays behind, whatever fails. CREATE INDEX holds a SHARE lock on the table (writes
wait) while it builds, and its build time counts against --statement-timeout: that is why this is
for a staging copy. Statements with `$n` get generic plans as in the what-if costing. The measured
costs and the real size replace the estimates; an index no plan uses is dropped with a note.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from psycopg import sql

from perftool.advisor.items import explainable
from perftool.advisor.report import Recommendation
from perftool.db.connect import connect, use_workload_search_path
from perftool.db.sql import MARKER, fetch_one, load_fragment
from perftool.db.statement_send import BatchFailed, Command, prepared_commands, run_rolled_back

PREPARED = "perftool_verify"


def _explain(text: str, params: int) -> list[Command]:
    if not params:
        return [Command(MARKER + load_fragment("whatif_explain") + " " + text, result=True)]
    return prepared_commands(text, "whatif_explain_execute", [sql.NULL] * params, name=PREPARED)


def _cost(doc: Any, name: str) -> tuple[float, bool]:
    """A plan's total cost and whether it uses the index called `name`."""
    if isinstance(doc, str):
        doc = json.loads(doc)
    plan = doc[0]["Plan"] if isinstance(doc, list) else doc["Plan"]
    used, stack = False, [plan]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            used = used or node.get("Index Name") == name
            stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend(node)
    return float(plan["Total Cost"]), used


def _extension(rec: Recommendation) -> str | None:
    return "pg_trgm" if any(rec.index.opclass(i) == "gin_trgm_ops" for i in range(len(rec.index.columns))) else None


def measure(conn, rec: Recommendation, name: str) -> tuple[dict[int, tuple[float, float]], int, bool, str | None]:
    """Build `rec`'s index as `name` in a rolled-back transaction on `conn`, costing its statements
    before and after: (position → (before, after), size in bytes, used by a plan, error)."""
    todo = [it for it in rec.statements]
    while todo:
        commands: list[Command] = []
        ext = _extension(rec)
        if ext:
            commands.append(Command(sql.SQL(load_fragment("advisor_verify_extension")).format(
                extension=sql.Identifier(ext))))
        head = len(commands)
        spans: list[tuple[int, int]] = []
        for it in todo:
            mine = _explain(explainable(it.statement.text), it.analysis.params)
            spans.append((len(commands), len(commands) + len(mine)))
            commands += mine
        build = len(commands)
        commands.append(Command(rec.index.create_sql(concurrently=False, name=name)))
        commands.append(Command(sql.SQL(load_fragment("advisor_verify_size")).format(
            index=sql.Literal(sql.Identifier(rec.index.schema, name).as_string(None))), result=True))
        for it in todo:
            commands += _explain(explainable(it.statement.text), it.analysis.params)
        try:
            docs = run_rolled_back(conn, commands)
        except BatchFailed as failed:
            if failed.index < head or failed.index >= build:
                text = str(failed.error).strip()
                return {}, 0, False, text.splitlines()[0] if text else type(failed.error).__name__
            bad = next(k for k, (a, b) in enumerate(spans) if a <= failed.index < b)
            todo = todo[:bad] + todo[bad + 1:]       # a statement the staging copy cannot plan: without it
            continue
        n = len(todo)
        before, size, after = docs[:n], docs[n], docs[n + 1:]
        out: dict[int, tuple[float, float]] = {}
        used = False
        for it, b, a in zip(todo, before, after, strict=True):
            cost_b, _ = _cost(b, name)
            cost_a, u = _cost(a, name)
            out[it.position] = (cost_b, cost_a)
            used = used or u
        return out, int(size or 0), used, None
    return {}, 0, False, "none of its statements could be planned on the staging copy"


def verify_on(dsn: str, recs: list[Recommendation], progress: Callable[[str], None] | None = None
              ) -> tuple[list[Recommendation], list[str]]:
    """Measure each of `recs` on the staging copy `dsn`: the ones a plan used come back verified
    (measured costs, real size, benefit = Σ weight × (before − after)); notes say what happened
    to the others."""
    say = progress or (lambda _m: None)
    kept: list[Recommendation] = []
    notes: list[str] = []
    with connect(dsn, read_only=False) as conn:
        host = conn.info.host if not conn.info.host.startswith("/") else "localhost"
        where = f"{host}:{conn.info.port}/{conn.info.dbname}"     # no user, no password
        use_workload_search_path(conn)
        fetch_one(conn, "whatif_session")      # generic plans for $n statements
        for k, rec in enumerate(recs):
            say(f"--verify-on {where}: building {rec.index.label()} inside a rolled-back transaction")
            measured, size, used, error = measure(conn, rec, f"perftool_verify_{k}")
            if error is not None:
                notes.append(f"--verify-on {where}: {rec.index.label()} could not be built: {error} (left unverified)")
                kept.append(rec)
                continue
            if not used:
                notes.append(f"--verify-on {where}: {rec.index.label()} was built, but no plan used it: "
                             "not recommended")
                continue
            weights = {it.position: it.weight for it in rec.statements}
            rec.measured = dict(measured)
            rec.size_bytes = size
            rec.benefit = sum(weights[p] * (b - a) for p, (b, a) in measured.items())
            rec.verified, rec.verified_on, rec.used_by_planner = True, where, True
            kept.append(rec)
    return kept, notes
