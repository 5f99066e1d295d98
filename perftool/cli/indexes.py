"""`perftool indexes`: advisor, health checks, index sets, CI gate.

`perftool indexes --check` is the group's own option: it runs the CI gate (the same as
`perftool indexes check`) and exits, so CI scripts can use exactly that spelling."""

from __future__ import annotations

from typing import Annotated

import typer

from perftool.cli import indexes_health
from perftool.cli.indexes_health import (
    BaselineOpt,
    BloatSizeOpt,
    ExcludeOpt,
    GateFailOnOpt,
    GateFormatOpt,
    OnlyOpt,
    SchemaOpt,
    SetOpt,
    TableOpt,
    UnusedScansOpt,
    UnusedSizeOpt,
    WriteBaselineOpt,
)
from perftool.cli.indexes_recommend import recommend
from perftool.cli.options import DsnOpt, HostOpt, OutputOpt, state

app = typer.Typer(help="Index advice (HypoPG what-if), health checks, declarative index sets, the CI gate.",
                  no_args_is_help=True, invoke_without_command=True)
app.command("recommend", help="Recommend indexes for a workload with HypoPG what-if costing.")(recommend)
app.command("health", help="Index, table and sequence health checks with fix SQL.")(indexes_health.health)
app.command("snapshot", help="Write the database's indexes as an index set (YAML).")(indexes_health.snapshot)
app.command("diff", help="Compare the database with declared index sets (missing, undeclared, different).")(
    indexes_health.diff)
app.command("check", help="The CI gate: health checks + index-set drift (same as `perftool indexes --check`).")(
    indexes_health.check)


@app.callback()
def indexes(
    ctx: typer.Context,
    check: Annotated[bool, typer.Option("--check", help="Run the CI gate (health checks + drift from index_sets/) and exit: 0 pass, 1 findings at or above --fail-on (default error), 2 bad input, 3 cannot connect.")] = False,
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
    """Index advice, health checks, declarative index sets and the CI gate (--check)."""
    from perftool.db.errors import UsageError

    gate_only = {"--set": sets, "--baseline": baseline, "--write-baseline": write_baseline, "--only": only,
                 "--exclude": exclude, "--schema": schema, "--table": table, "--unused-max-scans": unused_max_scans,
                 "--unused-min-size": unused_min_size, "--bloat-min-size": bloat_min_size, "--host": host,
                 "--fail-on": fail_on}
    if ctx.invoked_subcommand is not None:
        if check:
            raise UsageError("--check runs the gate by itself", "use `perftool indexes --check` without a command")
        given = [name for name, value in gate_only.items() if value]
        if given:
            raise UsageError(f"{given[0]} before the command is only for --check",
                             f"put it after the command: perftool indexes {ctx.invoked_subcommand} {given[0]} ...")
        st = state(ctx)  # --dsn / --format / --output before the command apply to it, like the global ones
        st.dsn, st.fmt, st.output = dsn or st.dsn, fmt or st.fmt, output or st.output
        return
    if not check:
        raise UsageError("missing command", "perftool indexes --help lists the commands; --check runs the CI gate")
    indexes_health.run_gate(
        ctx, sets=sets, baseline=baseline, write_baseline=write_baseline, only=only, exclude=exclude, schema=schema,
        table=table, unused_max_scans=unused_max_scans, unused_min_size=unused_min_size,
        bloat_min_size=bloat_min_size, dsn=dsn, host=host, fmt=fmt, output=output, fail_on=fail_on)
    raise typer.Exit(0)
