"""Replication: role, standbys and replay lag, slots holding WAL. One line here; `perftool
replicas` goes further."""

from __future__ import annotations

from perftool.analyze.sections import AnalysisContext, AnalysisSection, SectionResult, register
from perftool.report.model import Finding, Severity

SLOT_RETAINED_WARNING = 1024 ** 3  # an inactive slot holding 1 GiB of WAL


@register
class ReplicationSection(AnalysisSection):
    key = "replication"
    title = "Replication"
    order = 50

    def collect(self, conn, info, options):  # noqa: ANN001
        from perftool.db.sql import fetch_all, fetch_one

        row = fetch_one(conn, "analyze_replication") or {}
        row["slots_retained"] = [] if row.get("in_recovery") else fetch_all(conn, "analyze_replication_slots_retained")
        return row

    def analyze(self, ctx: AnalysisContext) -> SectionResult:
        th = ctx.options.thresholds
        parts, findings, metrics = [], [], []
        for snap in ctx.hosts:
            r = snap.extras.get(self.key)
            if not r:
                continue
            prefix = f"{snap.host}: " if ctx.fleet else ""
            if r.get("in_recovery"):
                lag = r.get("standby_lag_ms") or 0.0
                parts.append(f"{prefix}standby, replay lag {lag:,.0f} ms")
                metrics.append(("perftool_replica_lag_seconds", "Replay lag of the standby",
                                {"host": snap.host}, lag / 1000))
            else:
                lag = r.get("max_replay_lag_ms") or 0.0
                parts.append(f"{prefix}primary with {r.get('standbys', 0)} standby(s)"
                             + (f", max replay lag {lag:,.0f} ms" if r.get("standbys") else ""))
            if lag >= th.replica_lag_warning_ms:
                findings.append(Finding(
                    code="R101", severity=Severity.error if lag > th.replica_lag_critical_ms else Severity.warning,
                    title=f"{prefix}replica lag {lag:,.0f} ms", object=snap.host,
                    detail=(f"Replay lag {lag:,.0f} ms (healthy < {th.replica_lag_warning_ms:,.0f} ms, alert > "
                            f"{th.replica_lag_critical_ms:,.0f} ms): reads from the replica see stale data."),
                    fix=("Look at the standby's I/O and replay conflicts (pg_stat_database_conflicts), long queries "
                         "on it, and the network; route read-your-writes traffic to the primary meanwhile."),
                    evidence={"lag_ms": round(lag, 1)},
                ))
            for slot in r.get("slots_retained", []):
                if not slot["active"] and (slot["retained_bytes"] or 0) >= SLOT_RETAINED_WARNING:
                    findings.append(Finding(
                        code="R102",
                        title=f"inactive replication slot {slot['slot_name']} holds "
                              f"{slot['retained_bytes'] / 1024 ** 3:,.1f} GiB of WAL",
                        object=slot["slot_name"],
                        detail=(f"wal_status {slot['wal_status']}. An inactive slot keeps every WAL segment since "
                                "its consumer left, until the disk fills."),
                        fix="If its consumer is gone for good: SELECT pg_drop_replication_slot('<slot name>');",
                        evidence={"retained_bytes": slot["retained_bytes"]},
                    ))
        return SectionResult([], findings, "; ".join(parts), metrics=metrics)
