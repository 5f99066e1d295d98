"""The advisor's answer for other commands: `perftool analyze`'s index fixes (T201, Q101, Q103) are
the recommendations of `indexes recommend` for the same workload — the same statements
(pg_stat_statements, `AdvisorOptions()` defaults) through the same `pipeline.advise` — so the two
commands agree on a statement. What-if costed with HypoPG; without it, the `--no-whatif`
heuristic, labelled as such (`WorkloadAdvice.verified`, `label`).

No phase is left out, the local search included: without it analyze took half the advisor's time
less on the demo (0.82 s → 0.40 s, same run) and gave the demo the same answer, but on the OLTP
benchmark it moved the indexes of 18 of 214 statements — two answers for one statement, which is
what this module exists to prevent (tests/integration/test_analyze_advice.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from perftool.advisor.indexdef import IndexDef
from perftool.advisor.options import AdvisorOptions
from perftool.advisor.pipeline import advise
from perftool.db.connect import server_info
from perftool.db.errors import PerftoolError
from perftool.db.sql import execute, fetch_one
from perftool.ddl import parse_create
from perftool.workload import sources as ws
from perftool.workload.statement_text import fingerprint

if TYPE_CHECKING:
    import psycopg

WHATIF_LABEL = "HypoPG what-if costing"
HEURISTIC_LABEL = "heuristic, not verified by the planner (HypoPG is not installed in this database)"


@dataclass(frozen=True)
class IndexFix:
    """One recommended index: its CREATE statement(s) and the statements whose plans use it."""

    index: IndexDef
    definition: str                  # CREATE INDEX CONCURRENTLY … (three steps on a partitioned table)
    statements: tuple[str, ...]      # fingerprints (statement_text.fingerprint) of the statements it serves

    @property
    def name(self) -> str:
        """The index name the definition uses (free in the database: definitions.NameBook)."""
        first = self.definition.split(";", 1)[0]
        return parse_create(first, self.index.schema).name or self.index.name()


@dataclass
class WorkloadAdvice:
    """The advisor's recommendations for the connected database's workload, by statement."""

    fixes: list[IndexFix] = field(default_factory=list)
    verified: bool = True
    error: str | None = None        # why there is no advice (the advisor could not run)

    @property
    def label(self) -> str:
        return WHATIF_LABEL if self.verified else HEURISTIC_LABEL

    def for_statement(self, text: str) -> list[IndexFix]:
        """The recommendations this statement's (verified) plan uses, in the advisor's order."""
        key = fingerprint(text)
        return [f for f in self.fixes if key in f.statements]


def workload_advice(conn: psycopg.Connection, options: AdvisorOptions | None = None) -> WorkloadAdvice:
    """`indexes recommend`'s answer on this connection's pg_stat_statements (what-if when HypoPG is
    installed, else the heuristic), with recommend's defaults unless `options` are given. A failure
    that stops the advisor (no statements, privileges, a timeout) is returned as `error`, never
    raised: the caller's report goes on without it."""
    options = options or AdvisorOptions()
    verified = options.whatif and server_info(conn).has_extension("hypopg")
    if verified != options.whatif:
        options = AdvisorOptions(**{**options.__dict__, "whatif": verified})
    pinned = (fetch_one(conn, "session_search_path") or {}).get("search_path")
    try:
        statements = ws.merge(ws.from_stat_statements(conn, min_calls=options.min_calls))
        if not statements:
            return WorkloadAdvice(verified=verified, error="pg_stat_statements has no statements")
        result = advise(conn, statements, options)
    except PerftoolError as exc:
        return WorkloadAdvice(verified=verified, error=exc.message)
    finally:   # the advisor resolved names in the application's search_path: perftool's own again
        if pinned is not None and not conn.closed:
            execute(conn, "session_search_path_restore", {"search_path": pinned})
    fixes = [IndexFix(index=r.index, definition=r.definition,
                      statements=tuple(dict.fromkeys(fingerprint(it.statement.text) for it in r.statements)))
             for r in result.recommendations]
    return WorkloadAdvice(fixes=fixes, verified=verified)
