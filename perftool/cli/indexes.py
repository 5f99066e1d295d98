"""`perftool indexes`: advisor, health checks, index sets, CI gate."""

from __future__ import annotations

import typer

from perftool.cli.indexes_recommend import recommend

app = typer.Typer(help="Index advice (HypoPG what-if), health checks, declarative index sets, the CI gate.",
                  no_args_is_help=True)
app.command("recommend", help="Recommend indexes for a workload with HypoPG what-if costing.")(recommend)


@app.callback()
def indexes(ctx: typer.Context) -> None:
    """Index advice, health checks, declarative index sets and the CI gate."""
