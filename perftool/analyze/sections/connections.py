"""Connections: utilisation against max_connections, idle-in-transaction sessions, long queries.
One line here; `perftool pool` goes further (pgbouncer, leaks)."""

from __future__ import annotations

from perftool.analyze.sections import AnalysisContext, AnalysisSection, SectionResult, register
from perftool.report.model import Finding, Severity


@register
class ConnectionsSection(AnalysisSection):
    key = "connections"
    title = "Connections"
    order = 40

    def collect(self, conn, info, options):  # noqa: ANN001
        from perftool.db.sql import fetch_one

        return fetch_one(conn, "analyze_connections")

    def analyze(self, ctx: AnalysisContext) -> SectionResult:
        th = ctx.options.thresholds
        findings, parts, metrics = [], [], []
        for snap in ctx.hosts:
            c = snap.extras.get(self.key)
            if not c:
                continue
            usable = max(c["max_connections"] - c["reserved"], 1)
            # perftool's own session is excluded from the counts but occupies a slot too
            used = c["total"] + 1
            util = used / usable
            prefix = f"{snap.host}: " if ctx.fleet else ""
            parts.append(f"{prefix}{used}/{usable} connections ({util:.0%}), {c['active']} active, "
                         f"{c['idle_in_transaction']} idle in transaction")
            labels = {"host": snap.host}
            metrics += [("perftool_connections_used", "Client connections in use", labels, used),
                        ("perftool_connections_max", "Connections available to clients", labels, usable)]
            if util >= th.connections_warning:
                findings.append(Finding(
                    code="C101", severity=Severity.error if util >= th.connections_critical else Severity.warning,
                    title=f"{prefix}connection slots {util:.0%} used ({used} of {usable})", object=snap.host,
                    detail=(f"{c['active']} active, {c['idle']} idle, {c['idle_in_transaction']} idle in "
                            f"transaction; warning at {th.connections_warning:.0%}, critical at "
                            f"{th.connections_critical:.0%}. New connections fail once the slots are gone."),
                    fix=("Put a pooler in front (pgbouncer, transaction mode) and size application pools so their "
                         "sum stays below max_connections; close idle sessions (idle_session_timeout)."),
                    evidence={"used": used, "usable": usable, "utilisation": round(util, 4)},
                ))
            for code, seconds, warn, crit, what, fix in (
                ("C102", c["oldest_idle_tx_s"], th.idle_in_transaction_warning_s, th.idle_in_transaction_critical_s,
                 "a session has been idle in transaction",
                 "Find it in pg_stat_activity (state = 'idle in transaction') and fix the code path that leaves "
                 "transactions open; set idle_in_transaction_session_timeout = '60s' as a safety net."),
                ("C103", c["longest_query_s"], th.long_query_warning_s, th.long_query_critical_s,
                 "a statement has been running",
                 "Check it in pg_stat_activity; cancel with SELECT pg_cancel_backend(pid); bound it with "
                 "statement_timeout for the application role."),
            ):
                if seconds and seconds > warn:
                    findings.append(Finding(
                        code=code, severity=Severity.error if seconds > crit else Severity.warning,
                        title=f"{prefix}{what} for {seconds:,.0f} s", object=snap.host,
                        detail=(f"Threshold {warn:,.0f} s (critical {crit:,.0f} s). Long transactions hold locks "
                                "and stop vacuum from removing dead rows."),
                        fix=fix, evidence={"seconds": round(seconds, 1)},
                    ))
        return SectionResult([], findings, "; ".join(parts), metrics=metrics)
