"""`perftool queries`: top statements from pg_stat_statements."""

from __future__ import annotations

from typing import Annotated

import typer

from perftool.cli.options import (
    DsnOpt,
    FailOnOpt,
    FormatOpt,
    HostOpt,
    MinCallsOpt,
    NestedOpt,
    OutputOpt,
    SlowCriticalMsOpt,
    SlowMsOpt,
    Sort,
    check_output,
    emit,
    state,
)


def queries(
    ctx: typer.Context,
    sort: Annotated[Sort, typer.Option("--sort", "-s", help="Order the statements by total time, mean time, calls, rows, io (I/O time) or temp (temp-file use).")] = Sort.total,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many statements to show (0: all).")] = 20,
    min_calls: MinCallsOpt = 1,
    slow_ms: SlowMsOpt = None,
    slow_critical_ms: SlowCriticalMsOpt = None,
    all_databases: Annotated[bool, typer.Option("--all-databases", help="Statements of every database, not only the connected one.")] = False,
    nested: NestedOpt = False,
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
    options = QueryOptions(sort=sort.value, limit=limit, min_calls=min_calls, all_databases=all_databases,
                           include_nested=nested, thresholds=th)
    with status("reading pg_stat_statements"):
        report = queries_report(st.resolve_dsn(dsn, host), options)
    emit(ctx, report, fmt=fmt, output=output, fail_on=fail_on)
