"""The root Typer app: global options, command registration, error handling.

Command modules import only typer at import time (core modules load inside the command
functions), so `perftool --help` stays fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from perftool import __version__
from perftool.cli.options import CliState, LockTimeoutOpt, StatementTimeoutOpt, set_limits


class PerftoolGroup(TyperGroup):
    """Turns PerftoolErrors into one line on stderr and their exit code (tracebacks with --debug)."""

    def invoke(self, ctx):  # type: ignore[override]
        from perftool.core.errors import PerftoolError

        try:
            return super().invoke(ctx)
        except PerftoolError as exc:
            st = ctx.obj if isinstance(ctx.obj, CliState) else None
            if (st and st.debug) or os.environ.get("PERFTOOL_DEBUG"):
                raise
            from perftool.cli.console import error

            error(exc.one_line())
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            from perftool.cli.console import error

            error("interrupted")
            raise typer.Exit(130) from None


app = typer.Typer(
    name="perftool",
    cls=PerftoolGroup,
    help="Tune PostgreSQL databases behind web APIs: slow statements, health report, index advice, CI gate.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"perftool {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    dsn: Annotated[Optional[str], typer.Option("--dsn", "-d", help="libpq URL or key=value. Default: $DATABASE_URL, then PG* variables.", show_default=False)] = None,
    config: Annotated[Optional[Path], typer.Option("--config", help="perftool.yaml with hosts, thresholds, ignores (default: ./perftool.yaml).", show_default=False)] = None,
    fmt: Annotated[Optional[str], typer.Option("--format", "-f", help="Output format: table, json, yaml, csv, markdown, prometheus, … (per command).", show_default=False)] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the result to FILE instead of stdout.", show_default=False)] = None,
    no_color: Annotated[bool, typer.Option("--no-color", help="No colour (also: NO_COLOR=1).")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Progress and details on stderr.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    statement_timeout: StatementTimeoutOpt = None,
    lock_timeout: LockTimeoutOpt = None,
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = None,
) -> None:
    from perftool.cli.console import set_verbose

    ctx.obj = CliState(dsn=dsn, config_path=config, fmt=fmt, output=output, no_color=no_color,
                       verbose=verbose or debug, debug=debug)
    set_verbose(verbose or debug)
    set_limits(statement_timeout, lock_timeout)


def _register() -> None:
    from perftool.cli import analyze, demo, explain, indexes, pool, queries, replicas, sandbox

    app.command("queries", help="Top statements from pg_stat_statements, with slow-statement findings.")(queries.queries)
    app.command("analyze", help="One-shot health report: workload, tables, indexes, connections, score.")(analyze.analyze)
    app.command("explain", help="EXPLAIN (ANALYZE, BUFFERS) a statement safely and explain the plan [not available yet].")(explain.explain)
    app.add_typer(indexes.app, name="indexes")
    app.command("pool", help="Connection-pool utilisation and leaks, pgbouncer included [not available yet].")(pool.pool)
    app.command("replicas", help="Replica lag and replication slots [not available yet].")(replicas.replicas)
    app.add_typer(sandbox.app, name="sandbox")
    app.command("demo", help="Start the sandbox, load the demo database, run its workload, and analyse it.")(demo.demo)


_register()


def main() -> None:
    try:
        app(prog_name="perftool")
    except BrokenPipeError:
        # the reader went away (`perftool queries | head`): stop quietly, like other Unix tools
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
