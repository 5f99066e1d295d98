"""Connections: utilisation against max_connections, idle-in-transaction sessions, long queries.
One line here, judged by perftool.activity.connections; `perftool pool` goes further (per session,
locks, horizon, pgbouncer)."""

from __future__ import annotations

from perftool.activity.connections import ConnectionUse, host_duration_findings, utilisation_finding
from perftool.analyze.sections import AnalysisContext, AnalysisSection, SectionResult, register


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
        findings, parts = [], []
        metrics: list[tuple[str, str, dict[str, str], float]] = []
        for snap in ctx.hosts:
            c = snap.extras.get(self.key)
            if not c:
                continue
            use = ConnectionUse.from_summary(c)
            prefix = f"{snap.host}: " if ctx.fleet else ""
            parts.append(f"{prefix}{use.used}/{use.usable} connections ({use.utilisation:.0%}), {use.active} active, "
                         f"{use.idle_in_transaction} idle in transaction")
            labels = {"host": snap.host}
            metrics += [("perftool_connections_used", "Client connections in use", labels, use.used),
                        ("perftool_connections_max", "Connections available to clients", labels, use.usable)]
            found = utilisation_finding(use, th, host=snap.host, prefix=prefix)
            findings += [found] if found else []
            findings += host_duration_findings(use, th, host=snap.host, prefix=prefix)
        return SectionResult([], findings, "; ".join(parts), metrics=metrics)
