"""Connection slots and sessions: the model of pg_stat_activity and the C101–C103 findings.

`perftool analyze` (connections section) and `perftool pool` judge with the same functions: analyze
from its one-row summary (`ConnectionUse.from_summary`), pool from every backend (`ConnectionUse.
from_backends`) and per session.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from perftool.config import Thresholds
from perftool.db.sql import statement_text
from perftool.report.model import Finding, Severity

CLIENT = "client backend"


@dataclass
class Backend:
    """One row of pg_stat_activity (activity_backends.sql)."""

    pid: int
    datname: str | None = None
    usename: str | None = None
    application_name: str | None = None
    client_addr: str | None = None
    backend_type: str = CLIENT
    state: str | None = None
    backend_age_s: float | None = None
    xact_age_s: float | None = None
    query_age_s: float | None = None
    state_age_s: float | None = None
    wait_event_type: str | None = None
    wait_event: str | None = None
    query: str | None = None
    blocked_by: list[int] = field(default_factory=list)
    lock_wait_s: float | None = None
    lock_type: str | None = None
    xmin_age: int | None = None
    own: bool = False

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Backend:
        known = {k: v for k, v in row.items() if k in cls.__dataclass_fields__}
        known["blocked_by"] = list(row.get("blocked_by") or [])
        return cls(**known)

    @property
    def is_client(self) -> bool:
        return self.backend_type == CLIENT

    @property
    def idle_in_transaction(self) -> bool:
        return (self.state or "").startswith("idle in transaction")

    @property
    def who(self) -> str:
        """`user@database (application)` for titles."""
        app = f" ({self.application_name})" if self.application_name else ""
        return f"{self.usename or '?'}@{self.datname or '?'}{app}"


@dataclass
class ConnectionUse:
    """Slot use of one server: perftool's own session counts as used (it occupies a slot)."""

    max_connections: int
    reserved: int
    total: int = 0                    # client backends other than perftool's own
    active: int = 0
    idle: int = 0
    idle_in_transaction: int = 0
    oldest_idle_tx_s: float = 0.0
    longest_query_s: float = 0.0

    @classmethod
    def from_summary(cls, row: dict[str, Any]) -> ConnectionUse:
        """From analyze_connections.sql's one row."""
        return cls(**{k: row[k] or 0 for k in cls.__dataclass_fields__ if k in row})

    @classmethod
    def from_backends(cls, max_connections: int, reserved: int, backends: list[Backend]) -> ConnectionUse:
        clients = [b for b in backends if b.is_client and not b.own]
        idle_tx = [b for b in clients if b.idle_in_transaction]
        active = [b for b in clients if b.state == "active"]
        return cls(max_connections, reserved, total=len(clients), active=len(active),
                   idle=sum(b.state == "idle" for b in clients), idle_in_transaction=len(idle_tx),
                   oldest_idle_tx_s=max((b.xact_age_s or 0.0 for b in idle_tx), default=0.0),
                   longest_query_s=max((b.query_age_s or 0.0 for b in active), default=0.0))

    @property
    def usable(self) -> int:
        return max(self.max_connections - self.reserved, 1)

    @property
    def used(self) -> int:
        return self.total + 1

    @property
    def utilisation(self) -> float:
        return self.used / self.usable


def _level(value: float, warning: float, critical: float, *, inclusive: bool = False) -> Severity | None:
    if value > critical or (inclusive and value >= critical):
        return Severity.error
    if value > warning or (inclusive and value >= warning):
        return Severity.warning
    return None


def utilisation_finding(use: ConnectionUse, th: Thresholds, *, host: str, prefix: str = "") -> Finding | None:
    """C101 when used / usable reaches the warning share."""
    util = use.utilisation
    severity = _level(util, th.connections_warning, th.connections_critical, inclusive=True)
    if severity is None:
        return None
    return Finding(
        code="C101", severity=severity,
        title=f"{prefix}connection slots {util:.0%} used ({use.used} of {use.usable})", object=host,
        detail=(f"{use.active} active, {use.idle} idle, {use.idle_in_transaction} idle in "
                f"transaction; warning at {th.connections_warning:.0%}, critical at "
                f"{th.connections_critical:.0%}. New connections fail once the slots are gone."),
        fix=("Put a pooler in front (pgbouncer, transaction mode) and size application pools so their "
             "sum stays below max_connections; close idle sessions (idle_session_timeout)."),
        evidence={"used": use.used, "usable": use.usable, "utilisation": round(util, 4)},
    )


IDLE_TX_FIX = ("Find it in pg_stat_activity (state = 'idle in transaction') and fix the code path that leaves "
               "transactions open; set idle_in_transaction_session_timeout = '60s' as a safety net.")
LONG_QUERY_FIX = ("Check it in pg_stat_activity; cancel with SELECT pg_cancel_backend(pid); bound it with "
                  "statement_timeout for the application role.")


def host_duration_findings(use: ConnectionUse, th: Thresholds, *, host: str, prefix: str = "") -> list[Finding]:
    """C102 / C103 for the oldest idle transaction and the longest statement of a host (analyze)."""
    out = []
    for code, seconds, warn, crit, what, fix in (
        ("C102", use.oldest_idle_tx_s, th.idle_in_transaction_warning_s, th.idle_in_transaction_critical_s,
         "a session has been idle in transaction", IDLE_TX_FIX),
        ("C103", use.longest_query_s, th.long_query_warning_s, th.long_query_critical_s,
         "a statement has been running", LONG_QUERY_FIX),
    ):
        severity = _level(seconds or 0.0, warn, crit)
        if severity:
            out.append(Finding(
                code=code, severity=severity, title=f"{prefix}{what} for {seconds:,.0f} s", object=host,
                detail=(f"Threshold {warn:,.0f} s (critical {crit:,.0f} s). Long transactions hold locks "
                        "and stop vacuum from removing dead rows."),
                fix=fix, evidence={"seconds": round(seconds, 1)},
            ))
    return out


def session_findings(backends: list[Backend], th: Thresholds, *, prefix: str = "") -> list[Finding]:
    """C102 for every session idle in transaction past the threshold, C103 for every long
    statement — one finding per pid, with its age, who it is and its last statement (pool)."""
    out = []
    for b in backends:
        if not b.is_client or b.own:
            continue
        if b.idle_in_transaction:
            code, seconds = "C102", b.xact_age_s or 0.0
            warn, crit = th.idle_in_transaction_warning_s, th.idle_in_transaction_critical_s
            title = f"{prefix}pid {b.pid} ({b.who}) idle in transaction for {seconds:,.0f} s"
            fix = (statement_text("fix_terminate_backend", {"pid": b.pid})
                   + "   -- ends the session, rolls back its transaction")
            what = "last statement"
        elif b.state == "active":
            code, seconds = "C103", b.query_age_s or 0.0
            warn, crit = th.long_query_warning_s, th.long_query_critical_s
            title = f"{prefix}pid {b.pid} ({b.who}) has run a statement for {seconds:,.0f} s"
            fix = (statement_text("fix_cancel_backend", {"pid": b.pid})
                   + "   -- cancels the statement, keeps the session")
            what = "statement"
        else:
            continue
        severity = _level(seconds, warn, crit)
        if severity is None:
            continue
        out.append(Finding(
            code=code, severity=severity, title=title, object=f"pid {b.pid}",
            detail=(f"Threshold {warn:,.0f} s (critical {crit:,.0f} s); transaction open for "
                    f"{b.xact_age_s or 0:,.0f} s; client {b.client_addr or 'local'}; {what}: "
                    f"{(b.query or '').strip()[:200]!r}"),
            fix=fix,
            evidence={"pid": b.pid, "seconds": round(seconds, 1), "datname": b.datname, "usename": b.usename,
                      "application_name": b.application_name, "client_addr": b.client_addr, "query": b.query},
        ))
    return out


BREAKDOWN_KEYS = ("datname", "usename", "application_name", "client_addr", "state")


def breakdown(backends: list[Backend], limit: int = 50) -> list[dict[str, Any]]:
    """Client connections counted by database, user, application, client address and state
    (perftool's own included: it uses a slot), largest groups first."""
    counts: Counter[tuple] = Counter()
    oldest: dict[tuple, float] = {}
    for b in backends:
        if not b.is_client:
            continue
        key = tuple(getattr(b, k) for k in BREAKDOWN_KEYS)
        counts[key] += 1
        oldest[key] = max(oldest.get(key, 0.0), b.xact_age_s or 0.0)
    rows = [{**dict(zip(BREAKDOWN_KEYS, k, strict=True)), "connections": n, "oldest_xact_s": round(oldest[k], 1)}
            for k, n in counts.items()]
    rows.sort(key=lambda r: (-r["connections"], *(str(r[k] or "") for k in BREAKDOWN_KEYS)))
    return rows[:limit]
