"""`perftool analyze`: the one-shot health report.

connect each host → snapshot (optionally two, `interval` seconds apart, and their delta) →
merge hosts → run every registered section (perftool.analyze.sections) → score → Report.
All database reads happen while snapshotting; the sections are pure functions of the snapshots.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from perftool.analyze.options import AnalyzeOptions, Target, UnreachableHost
from perftool.db.beside import Beside
from perftool.db.errors import PerftoolError, UsageError
from perftool.report.ignores import apply_ignores
from perftool.report.model import Column, Finding, Report, Section, sort_findings

if TYPE_CHECKING:
    from perftool.analyze.sections import AnalysisSection


def _noop(_: str) -> None:
    pass


def _host_failed(t: Target, exc: PerftoolError, targets: list[Target], options: AnalyzeOptions,
                 unreachable: list[UnreachableHost], progress: Callable[[str], None]) -> None:
    """Record a host that failed, or stop: a single target, `--require-all-hosts`, or a usage error."""
    from perftool.db.connect import redact

    if len(targets) == 1 or options.require_all_hosts or exc.exit_code != 3:
        if len(targets) == 1:
            raise exc
        hint = (exc.hint + "; " if exc.hint else "") + (
            "--require-all-hosts stops when any host fails" if options.require_all_hosts else "")
        raise type(exc)(f"host {t.name}: {exc.message}", hint.rstrip("; ") or None) from None
    unreachable.append(UnreachableHost(t.name, t.role, redact(exc.one_line())))
    progress(f"{t.name}: skipped ({redact(exc.message)})")


def collect(targets: list[Target], options: AnalyzeOptions,
            progress: Callable[[str], None] = _noop) -> tuple[list, list[UnreachableHost]]:
    """Snapshots per host (deltas when options.interval is set), and the hosts that could not be
    analysed. With several targets a host that fails (connection, permission, timeout) is left
    out and named, unless options.require_all_hosts; when none answers, the first error stops."""
    from contextlib import ExitStack

    from perftool.analyze.sections import all_sections
    from perftool.db.connect import connect, server_info
    from perftool.workload.snapshot import delta, take_snapshot

    sections = all_sections()
    unreachable: list[UnreachableHost] = []
    errors: list[PerftoolError] = []

    def failed(t: Target, exc: PerftoolError) -> None:
        errors.append(exc)
        _host_failed(t, exc, targets, options, unreachable, progress)

    with ExitStack() as stack:
        conns = []
        for t in targets:
            progress(f"connecting to {t.name}")
            try:
                conn = stack.enter_context(connect(t.dsn))
                info = server_info(conn)
            except PerftoolError as exc:
                failed(t, exc)
                continue
            if t.name == "default":  # a bare --dsn: name the host by where it is
                t = Target(f"{info.host}:{info.port}", t.dsn, t.role)
            conns.append((t, conn, info))
        first = {}
        if options.interval:
            for t, conn, info in list(conns):
                try:
                    first[t.name] = take_snapshot(conn, info, host=t.name, role=t.role)
                except PerftoolError as exc:
                    failed(t, exc)
                    conns.remove((t, conn, info))
            progress(f"sampling for {options.interval:g} s")
            time.sleep(options.interval)
        snaps = []
        for t, conn, info in conns:
            try:
                # the snapshot after the sections, not beside them: on a large schema the catalog
                # is freed before the snapshot's row per table and index exists (taken beside, the
                # two would be held at once: 119 MB instead of 93 on 10,000 tables)
                wanted = [s for s in sections if not options.sections or s.key in options.sections]
                extras = _collect_sections(conn, info, options, wanted, progress, t.name)
                snaps.append(take_snapshot(conn, info, host=t.name, role=t.role, extras=extras))
            except PerftoolError as exc:
                failed(t, exc)
    if not snaps:
        first_error = errors[0]
        names = ", ".join(u.name for u in unreachable)
        raise type(first_error)(f"no host could be analysed ({names}): {first_error.message}",
                                first_error.hint) from None
    if first:
        snaps = [delta(first[b.host], b) for b in snaps]
    return snaps, unreachable


def _collect_sections(conn, info, options: AnalyzeOptions, sections: list[AnalysisSection],  # noqa: ANN001
                      progress: Callable[[str], None], host: str) -> dict:
    """Each section's collect() on `conn`, in order, but a `beside` section's on a sibling session
    started first: the server works on its reads while the sections before it collect here; the
    sections after it start once it is done (so no sibling is open while `connections` counts the
    sessions). Without a sibling it collects here, in its turn."""
    extras: dict = {}
    first = next((s for s in sections if s.beside), None)
    side: Beside | None = None
    if first is not None and first is not sections[0]:
        side = Beside(conn)
        if side.available():
            early: AnalysisSection = first
            side.submit(lambda c: early.collect(c, info, options))
        else:
            side.close()
            side = None
    try:
        for s in sections:
            progress(f"{host}: {s.key}")
            if side is not None and s is first:
                ok, value = side.result()
                side.close()
                side = None
                extras[s.key] = value if ok else s.collect(conn, info, options)
            else:
                extras[s.key] = s.collect(conn, info, options)
    finally:
        if side is not None:        # an error before the beside section's turn: wait for it
            side.close()
    return extras


def build_report(snaps, options: AnalyzeOptions, unreachable: list[UnreachableHost] | None = None) -> Report:
    """Pure: sections, score and the Report from snapshots (and the hosts that could not be
    analysed: one R103 finding each)."""
    from perftool.analyze.score import health_score
    from perftool.analyze.sections import AnalysisContext, all_sections
    from perftool.health.checks.fix_compose import compose_fixes
    from perftool.workload.fleet import merge_snapshots

    unreachable = unreachable or []
    merged = merge_snapshots(snaps)
    ctx = AnalysisContext(options=options, hosts=snaps, merged=merged, unreachable=unreachable)
    report_sections, findings, summary_rows, data, metrics = [], [], [], {}, []
    notes: list[str] = []
    for section in all_sections():
        if options.sections and section.key not in options.sections:
            continue
        result = section.analyze(ctx)
        report_sections += result.sections
        findings += result.findings
        data.update(result.data)
        metrics += result.metrics
        notes += [n for n in result.notes if n not in notes]
        if result.summary:
            summary_rows.append({"area": section.title, "summary": result.summary})
    findings += [_unreachable_finding(u, [s.host for s in snaps]) for u in unreachable]
    findings, dropped = apply_ignores(findings, options.ignore)
    ignored = len(dropped)
    sort_findings(findings)
    compose_fixes(findings, lambda: {(r["schema"], r["table"]) for r in merged.tables}
                  | {(r["schema"], r["index"]) for r in merged.indexes})
    score = health_score(findings)
    head = Section("health", f"Health score {score['score']}/100", [Column("area", "area"),
                                                                   Column("summary", "summary")], summary_rows)
    breakdown = Section("score_by_area", "Score by area (deduction / cap)", [
        Column("area", "area"), Column("findings", "findings", "int"), Column("deduction", "deduction", "int"),
        Column("cap", "cap", "int")],
        [{"area": k, **v} for k, v in score["areas"].items() if v["findings"]],
        note="score = 100 − Σ min(cap, Σ weights); error 12, warning 4, info 1 (docs/score.md).")
    sections = [head, breakdown] + report_sections
    if len(snaps) + len(unreachable) > 1:
        sections.insert(2, _hosts_section(snaps, unreachable))
    metrics.append(("perftool_health_score", "perftool health score (0-100)", {}, score["score"]))
    if unreachable:
        notes.insert(0, f"{len(unreachable)} of {len(snaps) + len(unreachable)} hosts could not be analysed "
                        f"({', '.join(u.name for u in unreachable)}): the report covers "
                        f"{', '.join(s.host for s in snaps)} only (R103)")
    if ignored:
        notes.append(f"{ignored} finding(s) ignored by perftool.yaml")
    from perftool.db.privileges import statement_texts_note

    for s in snaps:
        w = statement_texts_note(s.info.user, s.info.can_read_all_stats, sessions=True)
        if w:
            notes.append(f"{s.host}: {w}" if len(snaps) > 1 else w)
    return Report(
        command="analyze",
        server=merged.info.as_dict() | ({"hosts": [s.host for s in snaps]} if len(snaps) > 1 or unreachable else {})
        | ({"unreachable": [u.name for u in unreachable]} if unreachable else {}),
        sections=sections, findings=findings, notes=notes,
        data={"score": score, **data,
              "metrics": [{"name": n, "help": h, "labels": lab, "value": v} for n, h, lab, v in metrics]},
    )


def _unreachable_finding(u: UnreachableHost, covered: list[str]) -> Finding:
    return Finding(
        code="R103", title=f"host {u.name} could not be analysed", object=u.name,
        detail=(f"{u.name} ({u.role}) failed: {u.reason}. The report covers {', '.join(covered)} only: "
                f"{u.name}'s workload, lag and index scans are missing, so no index is reported unused (I104)."),
        fix=(f"Check that {u.name} is up and reachable from here (perftool analyze --host {u.name} shows the "
             "error alone); a standby that is down also stops receiving WAL. Use --require-all-hosts to make "
             "a missing host stop the run (exit 3)."),
        evidence={"host": u.name, "role": u.role, "error": u.reason})


def _hosts_section(snaps, unreachable: list[UnreachableHost] | None = None) -> Section:
    rows = []
    for s in snaps:
        calls = sum(x.calls for x in s.statements)
        total = sum(x.total_ms for x in s.statements)
        hit, read = s.database.get("blks_hit") or 0, s.database.get("blks_read") or 0
        rows.append({"host": s.host, "role": s.role, "status": "ok", "version": s.info.version.split(" ")[0],
                     "statements": len(s.statements), "calls": calls, "total_ms": round(total, 3),
                     "hit_ratio": hit / (hit + read) if hit + read else None})
    for u in unreachable or []:
        rows.append({"host": u.name, "role": u.role, "status": "unreachable", "version": None, "statements": None,
                     "calls": None, "total_ms": None, "hit_ratio": None})
    return Section("hosts", "Hosts", [
        Column("host", "host"), Column("role", "role"), Column("status", "status"), Column("version", "version"),
        Column("statements", "statements", "int"), Column("calls", "calls", "int"),
        Column("total_ms", "total", "ms"), Column("hit_ratio", "hit", "pct")], rows)


def analyze_report(dsn: str | None = None, options: AnalyzeOptions | None = None, *,
                   targets: list[Target] | None = None, progress: Callable[[str], None] = _noop) -> Report:
    """Library entry point: analyse one DSN or several targets and return the Report."""
    options = options or AnalyzeOptions()
    targets = targets or [Target("default", dsn or "", "primary")]
    if options.sections:
        from perftool.analyze.sections import section_keys

        unknown = [s for s in options.sections if s not in section_keys()]
        if unknown:
            raise UsageError(f"unknown section {unknown[0]!r}", f"choose from: {', '.join(section_keys())}")
    snaps, unreachable = collect(targets, options, progress)
    return build_report(snaps, options, unreachable)
