"""`perftool analyze`: the one-shot health report."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from perftool.cli.options import (
    AllHostsOpt,
    DsnOpt,
    FailOnOpt,
    FormatOpt,
    HostOpt,
    IntervalOpt,
    NestedOpt,
    OutputOpt,
    SlowCriticalMsOpt,
    SlowMsOpt,
    check_output,
    emit,
    state,
)


def analyze(
    ctx: typer.Context,
    interval: IntervalOpt = None,
    section: Annotated[Optional[list[str]], typer.Option("--section", help="Only this section (repeatable): workload, tables, indexes, connections, replication.", show_default=False)] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Top statements to list.")] = 10,
    all_hosts: AllHostsOpt = False,
    require_all_hosts: Annotated[bool, typer.Option("--require-all-hosts", help="With --all-hosts: exit 3 when any host cannot be analysed, instead of reporting the others.")] = False,
    slow_ms: SlowMsOpt = None,
    slow_critical_ms: SlowCriticalMsOpt = None,
    nested: NestedOpt = False,
    index_advice: Annotated[bool, typer.Option("--index-advice/--no-index-advice", help="T201's index fixes from the index advisor (indexes recommend's answer, HypoPG what-if costed; it runs only when a table is seq-scan heavy). --no-index-advice skips it: faster on a large workload, and the fix names indexes recommend instead.")] = True,
    dsn: DsnOpt = None,
    host: HostOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
    fail_on: FailOnOpt = None,
) -> None:
    """What is slow, why, and what to do: workload, tables, indexes, connections, replication, score."""
    from perftool.analyze.options import AnalyzeOptions, targets_from_config
    from perftool.analyze.run import analyze_report
    from perftool.cli.console import info, status

    st = state(ctx)
    check_output(ctx, fmt, fail_on)
    cfg = st.config
    th = st.thresholds(slow_ms=slow_ms, slow_critical_ms=slow_critical_ms)
    options = AnalyzeOptions(limit=limit, interval=interval, sections=section or None, thresholds=th,
                             include_nested=nested, ignore=cfg.ignore, require_all_hosts=require_all_hosts,
                             index_advice=index_advice)
    if host or all_hosts:
        targets = targets_from_config(cfg, host=host, all_hosts=all_hosts)
    else:
        targets = targets_from_config(cfg, dsn=st.resolve_dsn(dsn))
    with status("analysing" + (f" ({interval:g} s sample)" if interval else "")):
        report = analyze_report(options=options, targets=targets, progress=info)
    emit(ctx, report, fmt=fmt, output=output, fail_on=fail_on)
