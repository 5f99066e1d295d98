"""`perftool explain`: EXPLAIN (ANALYZE, BUFFERS) a statement safely, read the plan, prove the tips."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from perftool.cli.options import (
    DsnOpt,
    ExplainFormatOpt,
    FailOnOpt,
    HostOpt,
    OutputOpt,
    ServerLogOpt,
    check_output,
    emit,
    state,
)


def explain(
    ctx: typer.Context,
    statement: Annotated[Optional[str], typer.Argument(help="The statement to explain (or -f FILE, or standard input).", show_default=False)] = None,
    file: Annotated[Optional[Path], typer.Option("--file", "-f", help="SQL file of ;-separated statements, each explained (- reads stdin).", show_default=False)] = None,
    queryid: Annotated[Optional[int], typer.Option("--queryid", help="Explain this pg_stat_statements entry.", show_default=False)] = None,
    top: Annotated[Optional[int], typer.Option("--top", min=1, help="Explain the N statements with the most total time in pg_stat_statements.", show_default=False)] = None,
    plan: Annotated[Optional[list[Path]], typer.Option("--plan", help="Read an existing plan instead: EXPLAIN JSON or text as psql prints it (repeatable; - reads stdin). No server needed.", show_default=False)] = None,
    log: ServerLogOpt = None,
    compare: Annotated[Optional[list[Path]], typer.Option("--compare", help="Compare two plans (give it twice: A then B), node by node; with --fail-on, a gate for plan regressions (P112).", show_default=False)] = None,
    compare_setting: Annotated[Optional[list[str]], typer.Option("--compare-setting", help="Compare the statement's plan as it is (A) with its plan under NAME=VALUE (B, SET LOCAL in the same rolled-back transaction; repeatable: all in B); P112, --fail-on gates.", show_default=False)] = None,
    compare_index: Annotated[Optional[list[str]], typer.Option("--compare-index", help="Compare the statement's estimated plan without (A) and with this CREATE INDEX made hypothetically (B, HypoPG; repeatable: all in B); P112, --fail-on gates.", show_default=False)] = None,
    allow_dml: Annotated[bool, typer.Option("--allow-dml", help="EXPLAIN ANALYZE INSERT/UPDATE/DELETE/MERGE too, in a transaction that is always rolled back.")] = False,
    no_analyze: Annotated[bool, typer.Option("--no-analyze", help="Plan only (plain EXPLAIN: estimates, nothing runs).")] = False,
    timeout: Annotated[str, typer.Option("--timeout", help="Cancel the statement after this long and show plain EXPLAIN's plan instead (500ms, 30s, 2min).")] = "30s",
    param: Annotated[Optional[list[str]], typer.Option("--param", help="A value for $1, $2, … in order (repeatable): the statement runs with them. Without: a generic plan, estimates only.", show_default=False)] = None,
    with_index: Annotated[Optional[list[str]], typer.Option("--with-index", help="Cost this CREATE INDEX hypothetically (HypoPG) and show the plan change (repeatable).", show_default=False)] = None,
    no_proof: Annotated[bool, typer.Option("--no-proof", help="Do not cost the index tips with HypoPG.")] = False,
    anonymize: Annotated[bool, typer.Option("--anonymize", help="Replace names and literals by tokens (the same name, the same token) in every output, to share a plan.")] = False,
    dsn: DsnOpt = None,
    host: HostOpt = None,
    fmt: ExplainFormatOpt = None,
    output: OutputOpt = None,
    fail_on: FailOnOpt = None,
) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) a statement in a read-only transaction that is rolled back, show
    the plan as a tree with each node's own time, and give P1xx tips, index tips costed with HypoPG."""
    import sys

    from perftool.cli.console import status, warn
    from perftool.db.errors import UsageError
    from perftool.plans.explain import ExplainRequest, explain_report
    from perftool.plans.run import ExplainOptions
    from perftool.units import parse_duration_ms
    from perftool.workload import sources as ws

    st = state(ctx)
    check_output(ctx, fmt, fail_on)
    statements = []
    if statement is not None:
        statements.append(ws.WorkloadStatement(text=statement.strip(), source="query", origin="argument"))
    if file is not None:
        statements += ws.from_file(file)
    plans = [str(p) for p in plan or []]
    logs = [str(p) for p in log or []]
    compared = [str(p) for p in compare or []]
    if compared:
        if statements or plans or logs or queryid is not None or top is not None:
            raise UsageError("--compare reads two plans: pass it without a statement, --plan, --log, --queryid or --top")
        report = explain_report(None, ExplainRequest(compare=compared, anonymize=anonymize), ExplainOptions())
        emit(ctx, report, fmt=fmt, output=output, fail_on=fail_on)
        return
    if logs and (statements or plans or queryid is not None):
        raise UsageError("--log reads a server log: pass it without a statement, --plan or --queryid")
    if not statements and not plans and not logs and queryid is None and top is None:
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("no statement to explain",
                             "pass it as an argument, with -f FILE or on standard input, or use --queryid, --top "
                             "or --plan FILE")
        text = sys.stdin.read()
        if not text.strip():
            raise UsageError("no statement to explain: standard input is empty")
        statements.append(ws.WorkloadStatement(text=text.strip(), source="stdin", origin="stdin"))
    if plans and (statements or queryid is not None or top is not None):
        raise UsageError("--plan reads a plan: pass it without a statement, --queryid or --top")
    timeout_ms = parse_duration_ms(timeout, what="--timeout")
    if not timeout_ms:
        raise UsageError("--timeout must be more than 0 (perftool never runs a statement without a time limit)")
    settings = []
    for item in compare_setting or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--compare-setting {item!r}: expected NAME=VALUE (work_mem=64MB)")
        settings.append((name.strip(), value.strip()))
    if (settings or compare_index) and (plans or logs):
        raise UsageError("--compare-setting and --compare-index run a statement: pass it without --plan or --log")
    options = ExplainOptions(analyze=not no_analyze, allow_dml=allow_dml, timeout_ms=timeout_ms,
                             params=list(param or []))
    request = ExplainRequest(statements=statements, queryid=queryid, top=top, plan_files=plans,
                             with_indexes=list(with_index or []), prove=not no_proof, anonymize=anonymize,
                             log_files=logs, compare_settings=settings, compare_indexes=list(compare_index or []))
    with status("explaining"):
        report = explain_report(None if plans or logs else st.resolve_dsn(dsn, host), request, options)
    for note in report.notes:
        warn(note)
    emit(ctx, report, fmt=fmt, output=output, fail_on=fail_on)
