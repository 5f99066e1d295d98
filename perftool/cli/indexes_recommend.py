"""`perftool indexes recommend`: whole-workload index advice with HypoPG what-if costing."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from perftool.cli.options import (
    DsnOpt,
    FailOnOpt,
    FormatOpt,
    HostOpt,
    MinCallsOpt,
    OutputOpt,
    ServerLogOpt,
    StatementTimeoutOpt,
    Weight,
    check_output,
    emit,
    set_limits,
    state,
)


class Literals(str, Enum):
    example = "example"
    constant = "constant"


def recommend(
    ctx: typer.Context,
    source: Annotated[Optional[str], typer.Argument(help="SQL file of ;-separated statements, or - for stdin. Default: pg_stat_statements.", show_default=False)] = None,
    from_file: Annotated[Optional[list[str]], typer.Option("--from", help="SQL file of ;-separated statements (repeatable; - reads stdin).", show_default=False)] = None,
    query: Annotated[Optional[list[str]], typer.Option("--query", "-q", help="A statement to advise on (repeatable).", show_default=False)] = None,
    log: ServerLogOpt = None,
    weight: Annotated[Weight, typer.Option("--weight", help="Weigh pg_stat_statements entries by their calls or their total time.")] = Weight.calls,
    budget: Annotated[Optional[str], typer.Option("--budget", help="Storage budget for the new indexes, e.g. 500MB, 2GB (HypoPG size estimates). Default: none.", show_default=False)] = None,
    max_indexes: Annotated[Optional[int], typer.Option("--max-indexes", help="Recommend at most N indexes.", show_default=False)] = None,
    max_width: Annotated[int, typer.Option("--max-width", help="Columns per index at most (key + INCLUDE).")] = 3,
    min_improvement: Annotated[float, typer.Option("--min-improvement", help="An index must cut some statement's cost by this fraction.")] = 0.10,
    no_whatif: Annotated[bool, typer.Option("--no-whatif", help="Heuristic ranking without HypoPG (unverified).")] = False,
    literals: Annotated[Literals, typer.Option("--literals", help="Literals in the statements: example values of parameters (partial indexes only for a literal two statements share), or constant (trust every literal).")] = Literals.example,
    verify_on: Annotated[Optional[str], typer.Option("--verify-on", help="DSN of a staging copy: build each unverified GIN/GiST index there for real, inside a transaction that is rolled back, and measure its statements (a read-write session; never the analysed database by default).", show_default=False)] = None,
    explain_choice: Annotated[bool, typer.Option("--explain-choice", help="Also show why runner-up candidates lost, and each selection step.")] = False,
    min_calls: MinCallsOpt = 1,
    dsn: DsnOpt = None,
    host: HostOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
    fail_on: FailOnOpt = None,
    statement_timeout: StatementTimeoutOpt = None,
) -> None:
    """Recommend indexes for a workload: candidates from its predicates, budget-aware whole-workload
    selection with HypoPG what-if costs, and the CREATE INDEX CONCURRENTLY statements to run.

    Sessions are read-only: hypothetical indexes live only in perftool's own backend memory."""
    from perftool.advisor.pipeline import AdvisorOptions, recommend_report
    from perftool.cli.console import info, status
    from perftool.units import parse_size

    st = state(ctx)
    check_output(ctx, fmt, fail_on)
    set_limits(statement_timeout)
    options = AdvisorOptions(budget_bytes=parse_size(budget, what="--budget"), max_indexes=max_indexes, max_width=max_width,
                             min_improvement=min_improvement, weight=weight.value, whatif=not no_whatif,
                             explain_choice=explain_choice, min_calls=min_calls, literals=literals.value,
                             verify_on=verify_on)
    files = [*(from_file or []), *([source] if source else [])]
    sources = {"files": files, "queries": list(query or []), "logs": [str(p) for p in (log or [])]}
    with status("costing hypothetical indexes" if not no_whatif else "ranking candidate indexes"):
        report = recommend_report(st.resolve_dsn(dsn, host), sources, options, progress=info)
    emit(ctx, report, fmt=fmt, output=output, fail_on=fail_on)
