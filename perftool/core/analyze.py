"""`perftool analyze`: the one-shot health report.

connect each host → snapshot (optionally two, `interval` seconds apart, and their delta) →
merge hosts → run every registered section (perftool.core.sections) → score → Report.
All database reads happen while snapshotting; the sections are pure functions of the snapshots.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from perftool.core.config import Config, Thresholds
from perftool.core.errors import UsageError
from perftool.core.patterns import N1_MIN_CALLS
from perftool.report.model import Column, Report, Section


@dataclass
class Target:
    name: str
    dsn: str
    role: str = "primary"


@dataclass
class AnalyzeOptions:
    limit: int = 10
    interval: float | None = None
    sections: list[str] | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    include_nested: bool = False
    n_plus_one_min_calls: int = N1_MIN_CALLS
    ignore: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.interval is not None and not (0 < self.interval <= 3600):
            raise UsageError(f"--interval must be more than 0 and at most 3600 seconds, not {self.interval:g}",
                             "e.g. --interval 60; fractions work too: --interval 0.5")
        if self.limit < 1:
            raise UsageError("--limit must be at least 1")
        from perftool.core.queries import check_slow_thresholds

        check_slow_thresholds(self.thresholds)


def targets_from_config(config: Config, *, host: str | None = None, all_hosts: bool = False,
                        dsn: str | None = None) -> list[Target]:
    """The hosts to analyse: one named host, every non-pgbouncer host, or the single DSN."""
    if host:
        h = config.host(host)
        return [Target(h.name, h.dsn, h.role)]
    if all_hosts:
        hosts = [Target(h.name, h.dsn, h.role) for h in config.hosts.values() if h.role != "pgbouncer"]
        if not hosts:
            raise UsageError("--all-hosts needs hosts in perftool.yaml", "add a hosts: section (docs/config.md)")
        return hosts
    return [Target("default", dsn or "", "primary")]


def _noop(_: str) -> None:
    pass


def collect(targets: list[Target], options: AnalyzeOptions, progress: Callable[[str], None] = _noop):
    """Snapshots per host (deltas when options.interval is set)."""
    from contextlib import ExitStack

    from perftool.core.connect import connect, server_info
    from perftool.core.sections import all_sections
    from perftool.core.snapshot import delta, take_snapshot

    sections = all_sections()
    with ExitStack() as stack:
        conns = []
        for t in targets:
            progress(f"connecting to {t.name}")
            conn = stack.enter_context(connect(t.dsn))
            info = server_info(conn)
            if t.name == "default":  # a bare --dsn: name the host by where it is
                t = Target(f"{info.host}:{info.port}", t.dsn, t.role)
            conns.append((t, conn, info))
        first = None
        if options.interval:
            first = [take_snapshot(conn, info, host=t.name, role=t.role) for t, conn, info in conns]
            progress(f"sampling for {options.interval:g} s")
            time.sleep(options.interval)
        snaps = []
        for t, conn, info in conns:
            extras = {}
            for s in sections:
                if options.sections and s.key not in options.sections:
                    continue
                progress(f"{t.name}: {s.key}")
                extras[s.key] = s.collect(conn, info, options)
            snaps.append(take_snapshot(conn, info, host=t.name, role=t.role, extras=extras))
    if first is not None:
        snaps = [delta(a, b) for a, b in zip(first, snaps, strict=True)]
    return snaps


def build_report(snaps, options: AnalyzeOptions) -> Report:
    """Pure: sections, score and the Report from snapshots."""
    from perftool.core.fleet import merge_snapshots
    from perftool.core.score import health_score
    from perftool.core.sections import AnalysisContext, all_sections

    merged = merge_snapshots(snaps)
    ctx = AnalysisContext(options=options, hosts=snaps, merged=merged)
    report_sections, findings, summary_rows, data, metrics, section_results = [], [], [], {}, [], []
    for section in all_sections():
        if options.sections and section.key not in options.sections:
            continue
        result = section.analyze(ctx)
        section_results.append(result)
        report_sections += result.sections
        findings += result.findings
        data.update(result.data)
        metrics += result.metrics
        if result.summary:
            summary_rows.append({"area": section.title, "summary": result.summary})
    findings, ignored = _apply_ignores(findings, options.ignore)
    findings.sort(key=lambda f: (-f.severity.rank, f.code, f.object))
    score = health_score(findings)
    head = Section("health", f"Health score {score['score']}/100", [Column("area", "area"),
                                                                   Column("summary", "summary")], summary_rows)
    breakdown = Section("score_by_area", "Score by area (deduction / cap)", [
        Column("area", "area"), Column("findings", "findings", "int"), Column("deduction", "deduction", "int"),
        Column("cap", "cap", "int")],
        [{"area": k, **v} for k, v in score["areas"].items() if v["findings"]],
        note="score = 100 − Σ min(cap, Σ weights); error 12, warning 4, info 1 (docs/score.md).")
    sections = [head, breakdown] + report_sections
    if len(snaps) > 1:
        sections.insert(2, _hosts_section(snaps))
    metrics.append(("perftool_health_score", "perftool health score (0-100)", {}, score["score"]))
    notes = []
    if ignored:
        notes.append(f"{ignored} finding(s) ignored by perftool.yaml")
    from perftool.core.privileges import statement_texts_note

    for s in snaps:
        w = statement_texts_note(s.info.user, s.info.can_read_all_stats, sessions=True)
        if w:
            notes.append(f"{s.host}: {w}" if len(snaps) > 1 else w)
    notes += [n for r in section_results for n in r.notes if n not in notes]
    return Report(
        command="analyze",
        server=merged.info.as_dict() | ({"hosts": [s.host for s in snaps]} if len(snaps) > 1 else {}),
        sections=sections, findings=findings, notes=notes,
        data={"score": score, **data,
              "metrics": [{"name": n, "help": h, "labels": lab, "value": v} for n, h, lab, v in metrics]},
    )


def _hosts_section(snaps) -> Section:
    rows = []
    for s in snaps:
        calls = sum(x.calls for x in s.statements)
        total = sum(x.total_ms for x in s.statements)
        hit, read = s.database.get("blks_hit") or 0, s.database.get("blks_read") or 0
        rows.append({"host": s.host, "role": s.role, "version": s.info.version.split(" ")[0],
                     "statements": len(s.statements), "calls": calls, "total_ms": round(total, 3),
                     "hit_ratio": hit / (hit + read) if hit + read else None})
    return Section("hosts", "Hosts", [
        Column("host", "host"), Column("role", "role"), Column("version", "version"),
        Column("statements", "statements", "int"), Column("calls", "calls", "int"),
        Column("total_ms", "total", "ms"), Column("hit_ratio", "hit", "pct")], rows)


def _apply_ignores(findings, ignore: list[dict]):
    if not ignore:
        return findings, 0
    kept = []
    for f in findings:
        if any(fnmatch.fnmatch(f.code, str(i.get("code", "*"))) and fnmatch.fnmatch(f.object, str(i.get("object", "*")))
               for i in ignore):
            continue
        kept.append(f)
    return kept, len(findings) - len(kept)


def analyze_report(dsn: str | None = None, options: AnalyzeOptions | None = None, *,
                   targets: list[Target] | None = None, progress: Callable[[str], None] = _noop) -> Report:
    """Library entry point: analyse one DSN or several targets and return the Report."""
    options = options or AnalyzeOptions()
    targets = targets or [Target("default", dsn or "", "primary")]
    if options.sections:
        from perftool.core.sections import section_keys

        unknown = [s for s in options.sections if s not in section_keys()]
        if unknown:
            raise UsageError(f"unknown section {unknown[0]!r}", f"choose from: {', '.join(section_keys())}")
    return build_report(collect(targets, options, progress), options)
