"""`perftool sandbox`: the managed throwaway PostgreSQL cluster (this command writes)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from perftool.cli.options import ClientsOpt, IterationsOpt

app = typer.Typer(help="A managed throwaway PostgreSQL cluster on loopback (for the demo, tests, benchmarks).",
                  no_args_is_help=True)

PurgeOpt = Annotated[bool, typer.Option("--purge", help="Also delete the cluster's directory.")]


def _sandbox():
    from perftool.sandbox import Sandbox

    return Sandbox.default()


@app.command()
def start() -> None:
    """Create (first time) and start the sandbox; print its DSN. Idempotent."""
    from perftool.cli.console import info

    print(_sandbox().start(progress=info))


@app.command()
def stop(purge: PurgeOpt = False) -> None:
    """Stop the sandbox server; --purge deletes its data too."""
    from perftool.cli.console import info

    _sandbox().stop(purge=purge, progress=info)


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False) -> None:
    """Where the sandbox lives, whether it runs, its DSN and extensions (exit 1 when stopped)."""
    st = _sandbox().status()
    if as_json:
        print(json.dumps(st, indent=2))
    else:
        for k, v in st.items():
            print(f"{k:11} {', '.join(v) if isinstance(v, list) else v}")
    if not st["running"]:
        raise typer.Exit(1)


@app.command()
def url(database: Annotated[str, typer.Argument(help="Database name.")] = "postgres") -> None:
    """Print the DSN of a sandbox database (e.g. `export DATABASE_URL=$(perftool sandbox url perftool_demo)`)."""
    print(_sandbox().url(database))


@app.command()
def psql(database: Annotated[str, typer.Argument(help="Database name.")] = "postgres") -> None:
    """Open psql on a sandbox database."""
    import os
    import shutil

    from perftool.db.errors import SandboxError

    exe = shutil.which("psql")
    if not exe:
        raise SandboxError("psql is not installed", "apt-get install postgresql-client")
    dsn = _sandbox().url(database)
    os.execv(exe, [exe, dsn])


@app.command("load-demo")
def load_demo(
    workload: Annotated[bool, typer.Option("--workload/--no-workload", help="Run the demo workload after loading.")] = True,
    iterations: IterationsOpt = 100,
    clients: ClientsOpt = 4,
) -> None:
    """(Re)create the demo database perftool_demo, load it, and run its workload; print its DSN."""
    from perftool.cli.console import info
    from perftool.demo.setup import setup_demo

    print(setup_demo(_sandbox(), workload=workload, iterations=iterations, clients=clients, progress=info))


@app.command("workload")
def run_workload(
    iterations: IterationsOpt = 100,
    clients: ClientsOpt = 4,
    reset: Annotated[bool, typer.Option("--reset/--no-reset", help="Reset pg_stat_statements first.")] = False,
) -> None:
    """Run the demo workload again against perftool_demo."""
    from perftool.cli.console import info
    from perftool.demo.setup import demo_workload

    demo_workload(_sandbox(), iterations=iterations, clients=clients, reset=reset, progress=info)


