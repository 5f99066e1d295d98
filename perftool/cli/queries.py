"""`perftool queries`: top statements from pg_stat_statements."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from perftool.cli.options import DsnOpt, FailOnOpt, FormatOpt, HostOpt, OutputOpt, check_output, emit, state


def queries(
    ctx: typer.Context,
    sort: Annotated[str, typer.Option("--sort", "-s", help="total, mean, calls, rows, io or temp.")] = "total",
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many statements to show (0: all).")] = 20,
    min_calls: Annotated[int, typer.Option("--min-calls", help="Leave out statements with fewer calls.")] = 1,
    slow_ms: Annotated[Optional[float], typer.Option("--slow-ms", help="Mean time that makes a statement slow (warning). Default 1000.", show_default=False)] = None,
    slow_critical_ms: Annotated[Optional[float], typer.Option("--slow-critical-ms", help="Mean time that makes it an error. Default 5000.", show_default=False)] = None,
    all_databases: Annotated[bool, typer.Option("--all-databases", help="Statements of every database, not only the connected one.")] = False,
    nested: Annotated[bool, typer.Option("--nested", help="Include statements run inside functions (pg_stat_statements.track = all).")] = False,
    dsn: DsnOpt = None,
    host: HostOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
    fail_on: FailOnOpt = None,
) -> None:
    """Top statements by total, mean, calls, rows, I/O or temp use, with estimated p95/p99."""
    from perftool.cli.console import status
    from perftool.workload.queries import QueryOptions, queries_report

    st = state(ctx)
    check_output(ctx, fmt, fail_on)
    th = st.thresholds(slow_ms=slow_ms, slow_critical_ms=slow_critical_ms)
    options = QueryOptions(sort=sort, limit=limit, min_calls=min_calls, all_databases=all_databases,
                           include_nested=nested, thresholds=th)
    with status("reading pg_stat_statements"):
        report = queries_report(st.resolve_dsn(dsn, host), options)
    emit(ctx, report, fmt=fmt, output=output, fail_on=fail_on)
