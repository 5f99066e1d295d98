"""pgbouncer's admin console: pools, databases, clients, settings — and what they say.

The console (database `pgbouncer`) speaks only the simple query protocol and accepts none of
perftool's session settings: the session is autocommit with psycopg's `ClientCursor`, and only the
fixed commands below are sent (never text from outside perftool).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from perftool.config import Thresholds
from perftool.db.errors import ConnectionFailed, InputError
from perftool.report.model import Finding, Severity

COMMANDS = {"pools": "SHOW POOLS", "stats": "SHOW STATS", "databases": "SHOW DATABASES",
            "clients": "SHOW CLIENTS", "config": "SHOW CONFIG"}


@dataclass
class BouncerPool:
    database: str
    user: str
    cl_active: int = 0
    cl_waiting: int = 0
    sv_active: int = 0
    sv_idle: int = 0
    sv_used: int = 0
    maxwait_s: float = 0.0
    pool_mode: str = ""
    pool_size: int | None = None          # from SHOW DATABASES (the database's, or default_pool_size)
    avg_wait_us: int | None = None        # SHOW STATS avg_wait_time of the database (µs, last stats period)

    @property
    def utilisation(self) -> float | None:
        return self.sv_active / self.pool_size if self.pool_size else None


@dataclass
class Bouncer:
    pools: list[BouncerPool] = field(default_factory=list)
    clients: int = 0                      # every client connection (the admin console's own included)
    max_client_conn: int | None = None
    default_pool_size: int | None = None
    version: str = ""


def _rows(cur, command: str) -> list[dict[str, Any]]:
    cur.execute(command)
    names = [c.name for c in cur.description or []]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def collect_pgbouncer(dsn: str) -> Bouncer:
    """Read the admin console at `dsn` (its database must be `pgbouncer`)."""
    import psycopg

    from perftool.db.connect import connect, parse_dsn

    if parse_dsn(dsn).get("dbname") not in (None, "pgbouncer"):
        raise InputError("the --pgbouncer DSN must name pgbouncer's admin database: dbname=pgbouncer",
                         "e.g. postgresql://admin@127.0.0.1:6432/pgbouncer")
    conn = connect(dsn, session_settings=False)
    try:
        with psycopg.ClientCursor(conn) as cur:
            data = {k: _rows(cur, c) for k, c in COMMANDS.items()}
            version = conn.info.parameter_status("server_version") or ""
    except psycopg.Error as exc:
        raise ConnectionFailed(f"pgbouncer admin console: {str(exc).strip().splitlines()[0]}",
                               "the role needs to be in pgbouncer's admin_users or stats_users") from None
    finally:
        conn.close()
    return bouncer_from_rows(data, version)


def bouncer_from_rows(data: dict[str, list[dict[str, Any]]], version: str = "") -> Bouncer:
    config = {r["key"]: r["value"] for r in data.get("config", [])}
    sizes = {r["name"]: r.get("pool_size") for r in data.get("databases", [])}
    stats = {r["database"]: r.get("avg_wait_time") for r in data.get("stats", [])}
    default = int(config["default_pool_size"]) if config.get("default_pool_size") else None
    pools = []
    for r in data.get("pools", []):
        if r["database"] == "pgbouncer":        # the admin console: no server pool
            continue
        maxwait = float(r.get("maxwait") or 0) + float(r.get("maxwait_us") or 0) / 1e6
        size = sizes.get(r["database"])
        pools.append(BouncerPool(
            database=r["database"], user=r["user"], cl_active=int(r.get("cl_active") or 0),
            cl_waiting=int(r.get("cl_waiting") or 0), sv_active=int(r.get("sv_active") or 0),
            sv_idle=int(r.get("sv_idle") or 0), sv_used=int(r.get("sv_used") or 0), maxwait_s=maxwait,
            pool_mode=r.get("pool_mode") or "", pool_size=int(size) if size else default,
            avg_wait_us=stats.get(r["database"])))
    return Bouncer(pools=pools, clients=len(data.get("clients", [])),
                   max_client_conn=int(config["max_client_conn"]) if config.get("max_client_conn") else None,
                   default_pool_size=default, version=version)


def pool_rows(b: Bouncer) -> list[dict[str, Any]]:
    return [{"database": p.database, "user": p.user, "cl_active": p.cl_active, "cl_waiting": p.cl_waiting,
             "maxwait_s": round(p.maxwait_s, 3), "sv_active": p.sv_active, "sv_idle": p.sv_idle,
             "pool_size": p.pool_size, "utilisation": None if p.utilisation is None else round(p.utilisation, 4),
             "avg_wait_ms": None if p.avg_wait_us is None else round(p.avg_wait_us / 1000, 3),
             "pool_mode": p.pool_mode} for p in b.pools]


def bouncer_findings(b: Bouncer, th: Thresholds) -> list[Finding]:
    """C106 clients waiting for a server connection, C107 a pool at its size, C108 max_client_conn."""
    out = []
    for p in b.pools:
        name = f"{p.database}/{p.user}"
        peak = p.sv_active + p.cl_waiting
        advice = (f"pool_size ≥ {math.ceil(peak * 1.25)} for {p.database} ([databases] {p.database} = … pool_size=N), "
                  "if the server has the connections to spare (the sum of all pools stays below max_connections); "
                  "otherwise shorten the transactions that hold server connections.")
        if p.cl_waiting:
            severity = Severity.error if p.maxwait_s >= th.pool_wait_critical_s else Severity.warning
            out.append(Finding(
                code="C106", severity=severity,
                title=f"pgbouncer pool {name}: {p.cl_waiting} client(s) waiting, the longest {p.maxwait_s:,.1f} s",
                object=name,
                detail=(f"{p.sv_active} of {p.pool_size or '?'} server connections active, {p.sv_idle} idle; "
                        f"{p.cl_active} clients served, {p.cl_waiting} queued (maxwait {p.maxwait_s:.3f} s; critical "
                        f"from {th.pool_wait_critical_s:g} s). Observed concurrency {peak}."),
                fix=advice,
                evidence={"database": p.database, "user": p.user, "cl_waiting": p.cl_waiting,
                          "maxwait_s": round(p.maxwait_s, 3), "sv_active": p.sv_active, "pool_size": p.pool_size},
            ))
        util = p.utilisation
        if util is not None and util >= th.connections_warning:
            out.append(Finding(
                code="C107", severity=Severity.error if util >= th.connections_critical else Severity.warning,
                title=f"pgbouncer pool {name}: {p.sv_active} of {p.pool_size} server connections active ({util:.0%})",
                object=name,
                detail=(f"sv_active / pool_size = {util:.0%} (warning at {th.connections_warning:.0%}, critical at "
                        f"{th.connections_critical:.0%}); {p.cl_waiting} client(s) waiting. Observed concurrency "
                        f"{peak} "
                        "(a rule of thumb like 'workers × 6' is a starting point; this is what the load needs now)."),
                fix=advice,
                evidence={"database": p.database, "user": p.user, "sv_active": p.sv_active,
                          "pool_size": p.pool_size, "utilisation": round(util, 4), "peak": peak},
            ))
    if b.max_client_conn:
        util = b.clients / b.max_client_conn
        if util >= th.connections_warning:
            out.append(Finding(
                code="C108", severity=Severity.error if util >= th.connections_critical else Severity.warning,
                title=f"pgbouncer: {b.clients} of max_client_conn {b.max_client_conn} client connections ({util:.0%})",
                object="pgbouncer",
                detail=(f"Warning at {th.connections_warning:.0%}, critical at {th.connections_critical:.0%}; past "
                        "max_client_conn pgbouncer refuses new clients ('no more connections allowed')."),
                fix=("Raise max_client_conn in pgbouncer.ini (and the open-files limit: about max_client_conn + "
                     "the pools' sizes), or find the clients that hold idle connections."),
                evidence={"clients": b.clients, "max_client_conn": b.max_client_conn, "utilisation": round(util, 4)},
            ))
    return out
