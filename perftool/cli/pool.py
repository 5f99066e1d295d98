"""`perftool pool`: connection slots, sessions, lock tree, xmin horizon, wraparound, pgbouncer."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from perftool.cli.options import (
    DsnOpt,
    FailOnOpt,
    FormatOpt,
    HostOpt,
    OutputOpt,
    WatchOpt,
    check_output,
    monitor,
    state,
)


def pool(
    ctx: typer.Context,
    pgbouncer: Annotated[Optional[str], typer.Option("--pgbouncer", help="DSN of pgbouncer's admin console (dbname=pgbouncer): pools, waiting clients, max_client_conn. Default: the perftool.yaml host with role pgbouncer.", show_default=False)] = None,
    no_pgbouncer: Annotated[bool, typer.Option("--no-pgbouncer", help="Do not read the perftool.yaml pgbouncer host.")] = False,
    watch: WatchOpt = None,
    dsn: DsnOpt = None,
    host: HostOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
    fail_on: FailOnOpt = None,
) -> None:
    """Connections used vs max_connections, idle-in-transaction leaks, long queries, the lock tree,
    what holds the xmin horizon, transaction-ID wraparound, and pgbouncer's pools."""
    from perftool.activity.pool import run_pool

    st = state(ctx)
    fmt, _ = check_output(ctx, fmt, fail_on)

    def prepare():
        target = st.resolve_dsn(dsn, host)
        bouncer = None if no_pgbouncer else (pgbouncer or _config_pgbouncer(st))
        if bouncer:
            st.known_dsns.append(bouncer)
        th = st.thresholds()
        return lambda: run_pool(target, th, host=host, pgbouncer=bouncer)

    monitor(ctx, "pool", prepare, watch=watch, fmt=fmt, output=output, fail_on=fail_on)


def _config_pgbouncer(st) -> str | None:  # noqa: ANN001
    return next((h.dsn for h in st.config.hosts.values() if h.role == "pgbouncer"), None)
