"""Indexes: the health checks of `perftool indexes health`, summarised (findings count toward the
score); the full list with `perftool indexes health`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from perftool.analyze.sections import AnalysisContext, AnalysisSection, SectionResult, register
from perftool.health.checks import IndexScans, run_health_checks, unused_on_every_host
from perftool.report.model import Column, Section
from perftool.workload.fleet import lead_snapshot

if TYPE_CHECKING:
    import psycopg

    from perftool.analyze.options import AnalyzeOptions
    from perftool.db.connect import ServerInfo


@register
class IndexesSection(AnalysisSection):
    key = "indexes"
    title = "Indexes"
    order = 30
    # the catalog's reads (1 s on 10,000 tables) on a sibling session, beside the tables section's
    # index advisor on the main one (analyze on 10,000 tables and 91 statements, in-process: 1.72 → 1.40 s)
    beside = True

    def collect(self, conn: psycopg.Connection, info: ServerInfo, options: AnalyzeOptions) -> dict[str, Any]:
        notes: list[str] = []
        usage = IndexScans()   # idx_scan of every index here: the fleet's I104 counts every host
        return {"findings": run_health_checks(conn, thresholds=options.thresholds, notes=notes, index_scans=usage),
                "notes": notes, "usage": usage}

    def analyze(self, ctx: AnalysisContext) -> SectionResult:
        per_host = {s.host: s.extras.get(self.key) for s in ctx.hosts}
        if all(v is None for v in per_host.values()):
            return SectionResult(summary="index health checks are not available in this version")
        # health of the schema is the primary's business (replicas share its catalog)
        lead = lead_snapshot(ctx.hosts)
        lead_result = lead.extras.get(self.key) or {}
        findings = list(lead_result.get("findings") or [])
        notes = list(lead_result.get("notes") or [])
        # an index the primary never scans may serve a replica's reads: unused only if unused everywhere
        others = {s.host: s.extras[self.key].get("usage") or {} for s in ctx.hosts
                  if s is not lead and s.extras.get(self.key) is not None}
        if others:
            max_scans = ctx.options.thresholds.unused_index_max_scans
            findings = [f for f in findings if f.code != "I104" or unused_on_every_host(
                {**f.evidence["idx_scan"], **{host: usage.get(f.object, 0) for host, usage in others.items()}},
                max_scans)]
        if ctx.unreachable and any(f.code == "I104" for f in findings):
            # a host we could not read may be the one that uses the index
            left_out = sum(1 for f in findings if f.code == "I104")
            findings = [f for f in findings if f.code != "I104"]
            notes.append(f"I104: {left_out} possibly unused index(es) not reported: "
                         f"{', '.join(u.name for u in ctx.unreachable)} could not be analysed, and an index is "
                         "unused only if unused on every host")
        counts: dict[str, dict] = {}
        for f in findings:
            c = counts.setdefault(f.code, {"code": f.code, "severity": f.severity.value, "count": 0,
                                           "title": f.title, "objects": []})
            c["count"] += 1
            if len(c["objects"]) < 3:
                c["objects"].append(f.object)
        rows = sorted(counts.values(), key=lambda r: r["code"])
        for f in findings:  # one code at several severities (I104: warning from 1 MB, info below)
            c = counts[f.code]
            if f.severity.value not in c["severity"].split("/"):
                c["severity"] += "/" + f.severity.value
        for r in rows:
            r["objects"] = ", ".join(r["objects"]) + (" …" if r["count"] > 3 else "")
        section = Section("index_health", "Index health (perftool indexes health for details)", [
            Column("code", "code"), Column("severity", "severity"), Column("count", "count", "int"),
            Column("objects", "objects"),
        ], rows)
        summary = (f"{len(findings)} index/table health findings" if findings else "index health: no findings")
        return SectionResult([section], findings, summary, notes=notes)
