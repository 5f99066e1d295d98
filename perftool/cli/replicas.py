"""`perftool replicas`: standbys, slots and one lag verdict per replica."""

from __future__ import annotations

import typer

from perftool.cli.options import (
    AllHostsOpt,
    DsnOpt,
    FailOnOpt,
    FormatOpt,
    HostOpt,
    IntervalOpt,
    OutputOpt,
    WatchOpt,
    check_output,
    monitor,
    state,
)


def replicas(
    ctx: typer.Context,
    all_hosts: AllHostsOpt = False,
    interval: IntervalOpt = None,
    watch: WatchOpt = None,
    dsn: DsnOpt = None,
    host: HostOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
    fail_on: FailOnOpt = None,
) -> None:
    """Replica lag (time and bytes) with one verdict per replica — healthy, lagging, primary idle,
    receiver down, replay paused — and replication slots with the WAL they retain. Runs on a
    primary, on a standby alone, or over the perftool.yaml fleet."""
    from perftool.activity.replication import run_replicas
    from perftool.config import HostConfig
    from perftool.db.errors import UsageError

    st = state(ctx)
    fmt, _ = check_output(ctx, fmt, fail_on)

    def prepare():
        if all_hosts:
            hosts = [h for h in st.config.hosts.values() if h.role != "pgbouncer"]
            if not hosts:
                raise UsageError("--all-hosts needs hosts in perftool.yaml", "add a hosts: section (docs/config.md)")
            st.known_dsns += [h.dsn for h in hosts]
        elif host:
            hosts = [st.config.host(host)]
            st.resolve_dsn(None, host)
        else:
            hosts = [HostConfig("default", st.resolve_dsn(dsn))]
        th = st.thresholds()
        previous: list = []

        def produce():
            report, states = run_replicas(hosts, th, interval=interval, previous=previous)
            previous[:] = states
            return report

        return produce

    monitor(ctx, "replicas", prepare, watch=watch, fmt=fmt, output=output, fail_on=fail_on)
