"""`perftool indexes health | snapshot | diff | check` (`indexes --check` is `indexes check`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from perftool.cli.options import (
    DsnOpt,
    FailOnOpt,
    FormatOpt,
    GateFailOnOpt,
    HostOpt,
    OutputOpt,
    check_output,
    emit,
    state,
)

GATE_FORMATS = ["summary", "github", "sarif", "junit", "json", "table", "yaml", "markdown", "csv", "prometheus",
                "html"]

OnlyOpt = Annotated[Optional[list[str]], typer.Option(
    "--only", help="Run only these checks: codes or globs, repeatable or comma-separated (--only I101,I102 --only 'T1*').",
    show_default=False)]
ExcludeOpt = Annotated[Optional[list[str]], typer.Option(
    "--exclude", help="Skip these checks (codes or globs, repeatable or comma-separated).", show_default=False)]
SchemaOpt = Annotated[Optional[str], typer.Option("--schema", help="Only this schema.", show_default=False)]
TableOpt = Annotated[Optional[str], typer.Option("--table", help="Only this table (or schema.table).", show_default=False)]
UnusedScansOpt = Annotated[Optional[int], typer.Option(
    "--unused-max-scans", help="An index with at most this many scans is unused (I104). Default 50.", show_default=False)]
UnusedSizeOpt = Annotated[Optional[str], typer.Option(
    "--unused-min-size", help="Unused indexes this big are warnings, smaller info (I104). Default 1MB.",
    show_default=False)]
BloatSizeOpt = Annotated[Optional[str], typer.Option(
    "--bloat-min-size", help="Report bloat above this many bytes (I109, T101), e.g. 10MB. Default 10MB.",
    show_default=False)]
SetOpt = Annotated[Optional[list[Path]], typer.Option(
    "--set", help="Index set YAML file or directory (repeatable). Default: ./index_sets/ when it exists.",
    show_default=False)]
BaselineOpt = Annotated[Optional[Path], typer.Option(
    "--baseline", help="JSON file of accepted findings: only new findings fail the gate.", show_default=False)]
GateFormatOpt = Annotated[Optional[str], typer.Option(
    "--format", "-f", help="summary (default: one line when all is well), github, sarif, junit, json, table, yaml, markdown, csv, prometheus, html.",
    show_default=False)]
SnapshotFormatOpt = Annotated[Optional[str], typer.Option(
    "--format", "-f", help="yaml (default) or json; both are index-set files --set reads.", show_default=False)]
WriteBaselineOpt = Annotated[Optional[Path], typer.Option(
    "--write-baseline", help="Write the current findings to FILE as the baseline (the run then passes).",
    show_default=False)]


def _thresholds(ctx: typer.Context, unused_max_scans: int | None, unused_min_size: str | None,
                bloat_min_size: str | None):
    from perftool.units import parse_size

    return state(ctx).thresholds(unused_index_max_scans=unused_max_scans,
                                 unused_index_min_bytes=parse_size(unused_min_size, what="--unused-min-size"),
                                 bloat_min_bytes=parse_size(bloat_min_size, what="--bloat-min-size"))


def _target(ctx: typer.Context, dsn: str | None, host: str | None) -> tuple[str, str, dict[str, str]]:
    from perftool.health.reports import hosts_from_config

    st = state(ctx)
    resolved = st.resolve_dsn(dsn, host)
    name, others = hosts_from_config(st.config, resolved)
    return resolved, name, others


def health(
    ctx: typer.Context,
    only: OnlyOpt = None,
    exclude: ExcludeOpt = None,
    schema: SchemaOpt = None,
    table: TableOpt = None,
    unused_max_scans: UnusedScansOpt = None,
    unused_min_size: UnusedSizeOpt = None,
    bloat_min_size: BloatSizeOpt = None,
    dsn: DsnOpt = None,
    host: HostOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
    fail_on: FailOnOpt = None,
) -> None:
    """Index, table and sequence health checks (I1xx, T1xx, S1xx), each finding with its fix SQL.

    With several hosts in perftool.yaml, an index is unused only if unused on every host."""
    from perftool.cli.console import status
    from perftool.health.checks import normalize_codes
    from perftool.health.reports import HealthOptions, health_report

    check_output(ctx, fmt, fail_on)
    options = HealthOptions(only=normalize_codes(only), exclude=normalize_codes(exclude), schema=schema, table=table,
                            thresholds=_thresholds(ctx, unused_max_scans, unused_min_size, bloat_min_size))
    resolved, options.host_name, options.hosts = _target(ctx, dsn, host)
    with status("running index health checks"):
        report = health_report(resolved, options)
    emit(ctx, report, fmt=fmt, output=output, fail_on=fail_on)


def snapshot(
    ctx: typer.Context,
    schema: SchemaOpt = None,
    table: TableOpt = None,
    dsn: DsnOpt = None,
    host: HostOpt = None,
    fmt: SnapshotFormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Write the database's indexes as an index set (YAML, or JSON with -f json) to stdout or -o FILE."""
    from perftool.cli.console import status
    from perftool.cli.options import write_stdout
    from perftool.db.errors import UsageError
    from perftool.health.reports import SNAPSHOT_FORMATS, snapshot_for

    st = state(ctx)
    fmt = fmt or st.fmt or "yaml"
    if fmt not in SNAPSHOT_FORMATS:  # before connecting
        raise UsageError(f"indexes snapshot writes yaml or json, not {fmt!r}", "use -f yaml (default) or -f json")
    with status("reading the indexes"):
        text = snapshot_for(st.resolve_dsn(dsn, host), schema=schema, table=table, fmt=fmt)
    target = output or st.output
    if target:
        try:
            Path(target).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {target}: {exc.strerror}") from None
    else:
        write_stdout(lambda out: out.write(text))


def diff(
    ctx: typer.Context,
    sets: SetOpt = None,
    schema: SchemaOpt = None,
    table: TableOpt = None,
    dsn: DsnOpt = None,
    host: HostOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
    fail_on: FailOnOpt = None,
) -> None:
    """Compare the database with declared index sets: missing (I201), undeclared (I202) and
    different (I203) indexes, by definition, not by name."""
    from perftool.cli.console import status
    from perftool.health.reports import GateOptions, diff_report

    check_output(ctx, fmt, fail_on)
    options = GateOptions(sets=[str(s) for s in sets or []], schema=schema, table=table)
    with status("comparing indexes with the index set"):
        report = diff_report(state(ctx).resolve_dsn(dsn, host), options)
    emit(ctx, report, fmt=fmt, output=output, fail_on=fail_on)


def check(
    ctx: typer.Context,
    sets: SetOpt = None,
    baseline: BaselineOpt = None,
    write_baseline: WriteBaselineOpt = None,
    only: OnlyOpt = None,
    exclude: ExcludeOpt = None,
    schema: SchemaOpt = None,
    table: TableOpt = None,
    unused_max_scans: UnusedScansOpt = None,
    unused_min_size: UnusedSizeOpt = None,
    bloat_min_size: BloatSizeOpt = None,
    dsn: DsnOpt = None,
    host: HostOpt = None,
    fmt: GateFormatOpt = None,
    output: OutputOpt = None,
    fail_on: GateFailOnOpt = None,
) -> None:
    """The CI gate (same as `perftool indexes --check`): health checks plus drift from the index
    sets; exit 0 when nothing reaches --fail-on, 1 when something does, 3 when it cannot connect."""
    from perftool.cli.console import status
    from perftool.health.checks import normalize_codes
    from perftool.health.reports import GateOptions, gate_report

    st = state(ctx)
    fmt, level = check_output(ctx, fmt or st.fmt or "summary", fail_on, default_fail_on="error",
                                formats=GATE_FORMATS)
    options = GateOptions(
        only=normalize_codes(only), exclude=normalize_codes(exclude), schema=schema, table=table,
        thresholds=_thresholds(ctx, unused_max_scans, unused_min_size, bloat_min_size),
        sets=[str(s) for s in sets or []], baseline=str(baseline) if baseline else None,
        write_baseline=str(write_baseline) if write_baseline else None, ignore=st.config.ignore, fail_on=level)
    resolved, options.host_name, options.hosts = _target(ctx, dsn, host)
    with status("checking indexes"):
        report = gate_report(resolved, options)
    emit(ctx, report, fmt=fmt, output=output, fail_on=level, default_fail_on="error", formats=GATE_FORMATS)
