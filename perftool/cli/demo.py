"""`perftool demo`: sandbox + demo data + workload + the report a newcomer should see."""

from __future__ import annotations

from typing import Annotated

import typer

from perftool.cli.options import ClientsOpt, FormatOpt, IterationsOpt, OutputOpt, emit


def demo(
    ctx: typer.Context,
    iterations: IterationsOpt = 100,
    clients: ClientsOpt = 4,
    reload: Annotated[bool, typer.Option("--reload/--no-reload", help="Reload the data even if the demo database exists.")] = True,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Start the sandbox, load the demo database, run its workload, and print the report."""
    from perftool.cli.console import info
    from perftool.demo.setup import demo_report, prepare_demo
    from perftool.sandbox import Sandbox

    dsn = prepare_demo(Sandbox.default(), reload=reload, iterations=iterations, clients=clients, progress=info)
    info(f"demo database: {dsn}")
    emit(ctx, demo_report(dsn), fmt=fmt, output=output)
