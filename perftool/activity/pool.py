"""`perftool pool`: connection slots, sessions, locks, the xmin horizon, wraparound, pgbouncer.

collect_pool (one connection: a handful of catalog reads) → PoolState → pool_report (pure).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from perftool.activity.connections import Backend, ConnectionUse, breakdown, session_findings, utilisation_finding
from perftool.activity.horizon import (
    DatabaseAge,
    HorizonHolder,
    TableAge,
    holder_findings,
    wraparound_findings,
)
from perftool.activity.locks import blocker_findings, lock_trees, tree_rows
from perftool.activity.pgbouncer import Bouncer, bouncer_findings, pool_rows
from perftool.config import Thresholds
from perftool.report.model import Column, Finding, Report, Section

if TYPE_CHECKING:
    import psycopg

    from perftool.db.connect import ServerInfo

QUERY_CHARS = 1000
TABLES_LISTED = 10


@dataclass
class PoolState:
    """What `pool` read from one server (and its pgbouncer)."""

    host: str
    info: ServerInfo
    use: ConnectionUse
    backends: list[Backend]
    holders: list[HorizonHolder]
    databases: list[DatabaseAge]
    tables: list[TableAge]
    bouncer: Bouncer | None = None
    notes: list[str] = field(default_factory=list)


def collect_pool(conn: psycopg.Connection, info: ServerInfo, *, host: str, bouncer: Bouncer | None = None,
                 thresholds: Thresholds | None = None) -> PoolState:
    """One read of the server (`thresholds.xid_age_warning`: every table older than it is read, not
    only the oldest TABLES_LISTED)."""
    from perftool.db.sql import fetch_all, fetch_one

    summary = fetch_one(conn, "analyze_connections") or {}
    backends = [Backend.from_row(r) for r in fetch_all(conn, "activity_backends", {"query_chars": QUERY_CHARS})]
    use = ConnectionUse.from_backends(int(summary.get("max_connections") or 0), int(summary.get("reserved") or 0),
                                      backends)
    holders = [HorizonHolder.from_row(r) for r in fetch_all(conn, "activity_horizon")]
    databases = [DatabaseAge(**r) for r in fetch_all(conn, "activity_wraparound_databases")]
    tables = [TableAge(**r) for r in fetch_all(conn, "activity_wraparound_tables", {
        "listed": TABLES_LISTED, "min_age": (thresholds or Thresholds()).xid_age_warning})]
    notes = []
    if not info.can_read_all_stats:
        from perftool.db.privileges import statement_texts_note

        note = statement_texts_note(info.user, info.can_read_all_stats, sessions=True)
        if note:
            notes.append(note)
    return PoolState(host, info, use, backends, holders, databases, tables, bouncer, notes)


def pool_findings(state: PoolState, th: Thresholds) -> list[Finding]:
    found = utilisation_finding(state.use, th, host=state.host)
    findings = [found] if found else []
    findings += session_findings(state.backends, th)
    findings += blocker_findings(lock_trees(state.backends), state.backends, th)
    findings += holder_findings(state.holders, th)
    findings += wraparound_findings(state.databases, state.tables, state.holders, th, connected=state.info.database)
    if state.bouncer is not None:
        findings += bouncer_findings(state.bouncer, th)
    findings.sort(key=lambda f: (-f.severity.rank, f.code, f.object))
    return findings


def _metric(name: str, help_: str, value: float, **labels: Any) -> dict[str, Any]:
    return {"name": name, "help": help_, "labels": {k: "" if v is None else str(v) for k, v in labels.items()},
            "value": value}


def _perf(label: str, value: float, warn: float | None = None, crit: float | None = None, *, uom: str = "",
          minimum: float | None = None, maximum: float | None = None) -> dict[str, Any]:
    return {"label": label, "value": value, "uom": uom, "warn": warn, "crit": crit, "min": minimum, "max": maximum}


def pool_report(state: PoolState, th: Thresholds) -> Report:
    """Pure: the Report of one PoolState."""
    use, b = state.use, state.bouncer
    findings = pool_findings(state, th)
    trees = lock_trees(state.backends)
    clients = [x for x in state.backends if x.is_client and not x.own]
    idle_tx = sorted((x for x in clients if x.idle_in_transaction), key=lambda x: -(x.xact_age_s or 0))
    long_q = sorted((x for x in clients if x.state == "active"), key=lambda x: -(x.query_age_s or 0))
    session_cols = [Column("pid", "pid"), Column("who", "user@database (application)"),
                    Column("client_addr", "client"), Column("xact_s", "transaction", "float"),
                    Column("query_s", "statement", "float"), Column("wait", "waiting on"),
                    Column("query", "last statement")]

    def session_row(x: Backend) -> dict[str, Any]:
        return {"pid": x.pid, "who": x.who, "client_addr": x.client_addr, "xact_s": round(x.xact_age_s or 0, 1),
                "query_s": round(x.query_age_s or 0, 1),
                "wait": f"{x.wait_event_type}:{x.wait_event}" if x.wait_event_type else "",
                "query": (x.query or "").strip()[:120]}

    summary = [{"metric": "connections used", "value": f"{use.used} of {use.usable} ({use.utilisation:.0%})"},
               {"metric": "max_connections / reserved", "value": f"{use.max_connections} / {use.reserved}"},
               {"metric": "active / idle / idle in transaction",
                "value": f"{use.active} / {use.idle} / {use.idle_in_transaction}"},
               {"metric": "oldest idle transaction", "value": f"{use.oldest_idle_tx_s:,.0f} s"},
               {"metric": "longest statement", "value": f"{use.longest_query_s:,.0f} s"},
               {"metric": "sessions waiting on a lock", "value": str(sum(1 for x in clients if x.blocked_by))}]
    if state.holders:
        h = state.holders[0]
        summary.append({"metric": "xmin horizon held by", "value": f"{h.name} ({h.xmin_age or 0:,} transactions)"})
    oldest_db = state.databases[0] if state.databases else None
    if oldest_db:
        summary.append({"metric": "oldest database (xid age)", "value": f"{oldest_db.datname} ({oldest_db.xid_age:,})"})
    sections = [
        Section("summary", f"Connections of {state.host}", [Column("metric", "metric"), Column("value", "value")],
                summary),
        Section("connections", "Connections by database, user, application, client and state", [
            Column("datname", "database"), Column("usename", "user"), Column("application_name", "application"),
            Column("client_addr", "client"), Column("state", "state"), Column("connections", "connections", "int"),
            Column("oldest_xact_s", "oldest transaction s", "float")], breakdown(state.backends)),
        Section("idle_in_transaction", "Idle in transaction", session_cols, [session_row(x) for x in idle_tx]),
        Section("long_running", "Running statements, longest first", session_cols,
                [session_row(x) for x in long_q[:20]]),
        Section("lock_tree", "Lock tree (root blockers first; a session waiting on several is under each)", [
            Column("pid", "pid"), Column("blocked_by", "blocked by"), Column("waiting_s", "waiting s", "float"),
            Column("blocks", "blocks", "int"), Column("state", "state"), Column("who", "who"),
            Column("lock", "lock"), Column("query", "statement")], tree_rows(trees),
            note="Statements to release a root blocker are in its C104 finding's fix: perftool never runs them."),
        Section("horizon", "What holds back the xmin horizon (oldest first)", [
            Column("kind", "kind"), Column("holder", "holder"), Column("datname", "database"),
            Column("xmin_age", "xmin age", "int"), Column("age_s", "age s", "float"), Column("detail", "detail")],
            [{"kind": h.kind, "holder": h.holder, "datname": h.datname, "xmin_age": h.xmin_age,
              "age_s": None if h.age_s is None else round(h.age_s, 1), "detail": h.detail} for h in state.holders]),
        Section("wraparound_databases", "Transaction-ID age per database", [
            Column("datname", "database"), Column("xid_age", "xid age", "int"), Column("share", "of 2^31", "pct"),
            Column("mxid_age", "multixact age", "int")],
            [{"datname": d.datname, "xid_age": d.xid_age, "share": d.xid_age / 2 ** 31, "mxid_age": d.mxid_age}
             for d in state.databases]),
        Section("wraparound_tables", f"Oldest tables of {state.info.database} by transaction-ID age", [
            Column("schema", "schema"), Column("table", "table"), Column("xid_age", "xid age", "int"),
            Column("size_bytes", "size", "bytes")],
            [{"schema": t.schema, "table": t.table, "xid_age": t.xid_age, "size_bytes": t.size_bytes}
             for t in state.tables]),
    ]
    if b is not None:
        sections.append(Section("pgbouncer_pools", "pgbouncer pools", [
            Column("database", "database"), Column("user", "user"), Column("cl_active", "cl_active", "int"),
            Column("cl_waiting", "cl_waiting", "int"), Column("maxwait_s", "maxwait s", "float"),
            Column("sv_active", "sv_active", "int"), Column("sv_idle", "sv_idle", "int"),
            Column("pool_size", "pool_size", "int"), Column("utilisation", "sv_active/pool_size", "pct"),
            Column("avg_wait_ms", "avg wait (SHOW STATS)", "ms"), Column("pool_mode", "mode")], pool_rows(b),
            note=f"{b.clients} client connection(s) of max_client_conn {b.max_client_conn}."))
    return Report(command="pool", server=state.info.as_dict(), sections=sections, findings=findings,
                  notes=list(state.notes),
                  data={"metrics": pool_metrics(state), "perfdata": pool_perfdata(state, th, findings)})


def pool_metrics(state: PoolState) -> list[dict[str, Any]]:
    """Prometheus samples, named as postgres_exporter / pgbouncer_exporter name them (docs/prometheus.md)."""
    use = state.use
    out = [_metric("pg_settings_max_connections", "max_connections setting", use.max_connections),
           _metric("pg_settings_superuser_reserved_connections", "Reserved connection slots (superuser and "
                   "reserved_connections)", use.reserved),
           _metric("perftool_connections_used", "Client connections in use", use.used, host=state.host),
           _metric("perftool_connections_max", "Connections available to clients", use.usable, host=state.host)]
    counts: dict[tuple, int] = {}
    longest: dict[tuple, float] = {}
    for x in state.backends:
        if x.is_client:
            key = (x.datname, x.state)
            counts[key] = counts.get(key, 0) + 1
            longest[key] = max(longest.get(key, 0.0), x.xact_age_s or 0.0)
    for (db, st), n in sorted(counts.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))):
        out.append(_metric("pg_stat_activity_count", "Connections by database and state", n, datname=db, state=st))
        out.append(_metric("pg_stat_activity_max_tx_duration", "Longest open transaction by database and state, "
                           "seconds", round(longest[(db, st)], 3), datname=db, state=st))
    waiting = sum(1 for x in state.backends if x.blocked_by)
    out.append(_metric("perftool_sessions_waiting_on_locks", "Sessions waiting on a lock held by another", waiting))
    for d in state.databases:
        out.append(_metric("perftool_database_xid_age", "age(datfrozenxid) of the database", d.xid_age,
                           datname=d.datname))
    if state.holders:
        out.append(_metric("perftool_xmin_horizon_age", "Transactions since the oldest xmin still held",
                           state.holders[0].xmin_age or 0))
    if state.bouncer:
        for p in state.bouncer.pools:
            labels = {"database": p.database, "user": p.user}
            out += [_metric("pgbouncer_pools_client_active_connections", "Client connections linked to a server "
                            "connection", p.cl_active, **labels),
                    _metric("pgbouncer_pools_client_waiting_connections", "Client connections waiting for a server "
                            "connection", p.cl_waiting, **labels),
                    _metric("pgbouncer_pools_server_active_connections", "Server connections linked to a client",
                            p.sv_active, **labels),
                    _metric("pgbouncer_pools_server_idle_connections", "Idle server connections", p.sv_idle, **labels),
                    _metric("pgbouncer_pools_client_maxwait_seconds", "Longest wait of a client in the queue, seconds",
                            round(p.maxwait_s, 6), **labels)]
            if p.pool_size:
                out.append(_metric("pgbouncer_databases_pool_size", "Maximum server connections of the pool",
                                   p.pool_size, database=p.database))
        if state.bouncer.max_client_conn:
            out.append(_metric("pgbouncer_config_max_client_connections", "max_client_conn setting",
                               state.bouncer.max_client_conn))
    return out


def pool_perfdata(state: PoolState, th: Thresholds, findings: list[Finding]) -> list[dict[str, Any]]:
    use = state.use
    clients = [x for x in state.backends if x.is_client and not x.own]
    oldest_idle = max((x.xact_age_s or 0.0 for x in clients if x.idle_in_transaction), default=0.0)
    longest = max((x.query_age_s or 0.0 for x in clients if x.state == "active"), default=0.0)
    waits = [x.lock_wait_s or 0.0 for x in clients if x.blocked_by]
    out = [
        _perf("connections", use.used, round(use.usable * th.connections_warning),
              round(use.usable * th.connections_critical),
              minimum=0, maximum=use.usable),
        _perf("idle_in_transaction_s", round(oldest_idle, 1), th.idle_in_transaction_warning_s,
              th.idle_in_transaction_critical_s, uom="s", minimum=0),
        _perf("longest_query_s", round(longest, 1), th.long_query_warning_s, th.long_query_critical_s, uom="s",
              minimum=0),
        _perf("lock_wait_s", round(max(waits, default=0.0), 1), th.lock_wait_warning_s, th.lock_wait_critical_s,
              uom="s", minimum=0),
        _perf("xid_age", max((d.xid_age for d in state.databases), default=0), th.xid_age_warning, th.xid_age_critical,
              minimum=0, maximum=2 ** 31),
    ]
    if state.bouncer:
        out.append(_perf("pgbouncer_waiting", sum(p.cl_waiting for p in state.bouncer.pools), minimum=0))
    return out




def run_pool(dsn: str, th: Thresholds, *, host: str | None = None, pgbouncer: str | None = None) -> Report:
    """Connect, read (and read pgbouncer's console when given), close, report."""
    from perftool.activity.pgbouncer import collect_pgbouncer
    from perftool.db.connect import connect, server_info

    bouncer = collect_pgbouncer(pgbouncer) if pgbouncer else None
    with connect(dsn) as conn:
        info = server_info(conn)
        state = collect_pool(conn, info, host=host or f"{info.host}:{info.port}", bouncer=bouncer, thresholds=th)
    return pool_report(state, th)
