"""Replication: role, standbys and their lag verdicts, slots holding WAL. One line here, judged by
perftool.activity.replication; `perftool replicas` goes further (every standby and slot, fleets,
forecasts)."""

from __future__ import annotations

import dataclasses

from perftool.activity.replication import collect_replication, slot_findings, verdict_findings, verdicts
from perftool.analyze.sections import AnalysisContext, AnalysisSection, SectionResult, register


@register
class ReplicationSection(AnalysisSection):
    key = "replication"
    title = "Replication"
    order = 50

    def collect(self, conn, info, options):  # noqa: ANN001
        return collect_replication(conn, host="", info=info)

    def analyze(self, ctx: AnalysisContext) -> SectionResult:
        th = ctx.options.thresholds
        parts, findings, metrics = [], [], []
        for snap in ctx.hosts:
            r = snap.extras.get(self.key)
            if not r:
                continue
            r = dataclasses.replace(r, host=snap.host)
            prefix = f"{snap.host}: " if ctx.fleet else ""
            vs = verdicts([r], th)
            if r.in_recovery:
                own = vs[0]
                parts.append(f"{prefix}standby, {own.verdict}, replay lag {own.lag_ms or 0:,.0f} ms")
                metrics.append(("perftool_replica_lag_seconds", "Replay lag of the standby",
                                {"host": snap.host}, (own.lag_ms or 0) / 1000))
            else:
                lag = max((v.lag_ms or 0.0 for v in vs), default=0.0)
                parts.append(f"{prefix}primary with {len(r.standbys)} standby(s)"
                             + (f", max replay lag {lag:,.0f} ms" if r.standbys else ""))
            for f in verdict_findings(vs, th):
                f.title = prefix + f.title
                findings.append(f)
            findings += slot_findings(r.slots, th, prefix=prefix)
        return SectionResult([], findings, "; ".join(parts), metrics=metrics)
