"""`perftool indexes health | snapshot | diff | --check`: the library entry points.

- `health_report(dsn, options)`: the health checks (I1xx, T1xx, S1xx) as a Report.
- `diff_report(dsn, options)`: drift between the database and the declared index sets (I2xx).
- `gate_report(dsn, options)`: the CI gate — health checks plus drift, `ignore:` entries of the
  index sets (and perftool.yaml) and an optional baseline of accepted findings applied.
- `snapshot_for(dsn, ...)`: the database's indexes as an index-set file (YAML or JSON).

Everything a user can get wrong (codes, index-set YAML, the baseline file) is checked before
connecting, so input errors exit 2 without touching the server.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perftool.config import Config, Thresholds
from perftool.db.errors import InputError, UsageError
from perftool.health.checks import (
    THIS_HOST,
    Check,
    CheckContext,
    analyze_catalog,
    collect_usage,
    select_checks,
    statistics_note,
    stats_hidden_tables,
)
from perftool.health.checks.fix_compose import compose_fixes, relation_names
from perftool.health.index_sets import IndexSet, default_set_paths, load_index_sets, snapshot_document, snapshot_yaml
from perftool.report.ignores import IgnoreEntry, apply_ignores
from perftool.report.model import Column, Finding, Report, Section
from perftool.report.summary_format import counts

if TYPE_CHECKING:
    from perftool.catalog.schema import Catalog
    from perftool.db.connect import ServerInfo

BASELINE_VERSION = 1
@dataclass
class HealthOptions:
    only: list[str] | None = None
    exclude: list[str] | None = None
    schema: str | None = None
    table: str | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    hosts: dict[str, str] = field(default_factory=dict)  # other hosts (name → DSN) whose index scans count
    host_name: str = THIS_HOST                           # what to call the connected host in evidence


@dataclass
class GateOptions(HealthOptions):
    sets: list[str] = field(default_factory=list)        # files or directories; empty: ./index_sets if present
    baseline: str | None = None
    write_baseline: str | None = None
    ignore: list[IgnoreEntry] = field(default_factory=list)   # perftool.yaml `ignore:` entries
    fail_on: str = "error"


def hosts_from_config(config: Config, dsn: str) -> tuple[str, dict[str, str]]:
    """When `dsn` is one of perftool.yaml's hosts: its name and the other hosts (not pgbouncer),
    whose index scans count too (an index is unused only if unused on every host). A DSN that
    is not in the config (another database) is analysed alone."""
    name = next((h.name for h in config.hosts.values() if h.dsn == dsn), None)
    if name is None:
        return THIS_HOST, {}
    others = {h.name: h.dsn for h in config.database_hosts() if h.name != name}
    return name, others


def _checks_section(checks: list[Check], findings: list[Finding]) -> Section:
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.code] = counts.get(f.code, 0) + 1
    rows = [{"code": c.code, "severity": c.severity.value, "check": c.title, "findings": counts.get(c.code, 0)}
            for c in checks]
    return Section("checks", f"{len(checks)} checks, {len(findings)} findings", [
        Column("code", "code"), Column("severity", "default"), Column("check", "check"),
        Column("findings", "findings", "int")], rows)


def _collect(dsn: str, options: HealthOptions, checks: list[Check],
             index_set: IndexSet | None) -> tuple[ServerInfo, Catalog, CheckContext]:
    from perftool.catalog.schema import collect_catalog
    from perftool.db.connect import connect, server_info

    with connect(dsn) as conn:
        info = server_info(conn)
        catalog = collect_catalog(conn, schema=options.schema, table=options.table,
                                  bloat=any(c.code in ("I109", "T101") for c in checks),
                                  bloat_min_bytes=options.thresholds.bloat_min_bytes,
                                  definitions=index_set is not None,   # drift shows each index's definition
                                  all_columns=False)
    usage = collect_usage(options.hosts) if any(c.code == "I104" for c in checks) else {}
    ctx = CheckContext(catalog=catalog, thresholds=options.thresholds, usage=usage, index_set=index_set,
                       host_name=options.host_name)
    return info, catalog, ctx


def health_report(dsn: str, options: HealthOptions | None = None) -> Report:
    """Connect read-only, run the health checks, return the Report (`perftool indexes health`)."""
    options = options or HealthOptions()
    checks = select_checks(options.only, options.exclude)
    info, catalog, ctx = _collect(dsn, options, checks, None)
    findings = compose_fixes(analyze_catalog(ctx, checks), lambda: relation_names(catalog))
    notes = _notes(options, catalog, checks, info) + ctx.notes
    return Report(
        command="indexes health", server=info.as_dict(), sections=[_checks_section(checks, findings)],
        findings=findings, notes=notes,
        data={"summary": {**counts(findings), "tables": len(catalog.tables), "indexes": len(catalog.indexes),
                          "hosts": [options.host_name, *options.hosts]},
              "checks": [c.as_dict() for c in checks]})


def _privilege_notes(catalog: Catalog, checks: list[Check], info: ServerInfo) -> list[str]:
    """What the connected role could not see (docs/privileges.md): said once, never dropped."""
    return [n for n in [statistics_note(stats_hidden_tables(catalog), checks, info.user, info.major)] if n]


def _notes(options: HealthOptions, catalog: Catalog, checks: list[Check], info: ServerInfo) -> list[str]:
    notes = _privilege_notes(catalog, checks, info)
    scope = ".".join(x for x in (options.schema, options.table) if x)
    if scope:
        notes.append(f"scope: {scope}")
    if options.hosts:
        notes.append(f"index scans counted on {options.host_name} and {', '.join(options.hosts)} "
                     "(an index is unused only if unused on every host)")
    if catalog.stats_reset is not None:
        notes.append(f"scan counters since {catalog.stats_reset:%Y-%m-%d %H:%M %Z}".rstrip())
    sizes = catalog.sizes_note()
    if sizes:
        notes.append(sizes)
    return notes


# ---------------------------------------------------------------------------------------------
# drift and the gate


def resolve_set_paths(sets: list[str] | None) -> list[Path]:
    return [Path(s) for s in sets] if sets else default_set_paths()


def diff_report(dsn: str, options: GateOptions) -> Report:
    """Declared index sets vs the database (`perftool indexes diff --set PATH`)."""
    paths = resolve_set_paths(options.sets)
    if not paths:
        raise UsageError("no index set to compare with", "pass --set FILE_OR_DIRECTORY (or create index_sets/)")
    index_set = load_index_sets(paths)
    checks = select_checks(["I2*"], None, index_set=True)
    info, catalog, ctx = _collect(dsn, options, [], index_set)
    findings = analyze_catalog(ctx, checks)
    findings, suppressed = suppress_ignored(findings, index_set, [])
    compose_fixes(findings, lambda: relation_names(catalog))
    drift = ctx.drift()
    rows = []
    for item in drift.missing + drift.different + drift.extra:
        rows.append({"status": item.kind, "table": item.table,
                     "index": item.actual.name if item.actual else (item.declared.name if item.declared else ""),
                     "declared": item.declared.describe() if item.declared else "",
                     "actual": item.actual.definition if item.actual else "",
                     "differences": "; ".join(item.differences) or item.note})
    section = Section("drift", f"Index set drift: {len(drift.missing)} missing, {len(drift.different)} different, "
                               f"{len(drift.extra)} undeclared ({len(drift.matched)} as declared)", [
        Column("status", "status"), Column("table", "table"), Column("index", "index"),
        Column("declared", "declared"), Column("actual", "actual"), Column("differences", "differences")], rows)
    notes = [f"index sets: {', '.join(index_set.files)}"]
    if suppressed:
        notes.append(f"{len(suppressed)} finding(s) ignored by the index set's ignore: entries")
    return Report(command="indexes diff", server=info.as_dict(), sections=[section], findings=findings, notes=notes,
                  data={"summary": {"missing": len(drift.missing), "different": len(drift.different),
                                    "undeclared": len(drift.extra), "matched": len(drift.matched)},
                        "index_sets": index_set.files, "suppressed": suppressed})


def suppress_ignored(findings: list[Finding], index_set: IndexSet | None,
                     config_ignore: list[IgnoreEntry]) -> tuple[list[Finding], list[dict[str, Any]]]:
    """Drop findings matched by an index set's `ignore:` entry (code and object globs, with a
    reason), else by a perftool.yaml one; return the rest and what was dropped, and why."""
    kept, dropped = apply_ignores(findings, [*(index_set.ignore if index_set else []), *config_ignore])
    return kept, [{"code": f.code, "object": f.object, "severity": f.severity.value, "title": f.title,
                   "reason": entry.reason, "by": entry.by} for f, entry in dropped]


def load_baseline(path: str) -> set[tuple[str, str]]:
    """(code, object) pairs of accepted findings from a baseline file (`--write-baseline`)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"baseline {p} does not exist", "create one with --write-baseline FILE") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read baseline {p}: {exc}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{p}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    if not isinstance(doc, dict) or doc.get("perftool_baseline") != BASELINE_VERSION or not isinstance(
            doc.get("findings"), list):
        raise InputError(f"{p}: not a perftool baseline",
                         "expected {\"perftool_baseline\": 1, \"findings\": [...]}; write one with --write-baseline")
    out = set()
    for i, entry in enumerate(doc["findings"], 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("code"), str) or not isinstance(
                entry.get("object"), str):
            raise InputError(f"{p}: baseline entry {i} needs code and object (text)")
        out.add((entry["code"], entry["object"]))
    return out


def baseline_document(findings: list[Finding]) -> dict[str, Any]:
    return {
        "perftool_baseline": BASELINE_VERSION,
        "generated_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "findings": [{"code": f.code, "object": f.object, "severity": f.severity.value, "title": f.title}
                     for f in sorted(findings, key=lambda f: (f.code, f.object))],
    }


def write_baseline(path: str, findings: list[Finding]) -> None:
    try:
        Path(path).write_text(json.dumps(baseline_document(findings), indent=2, ensure_ascii=False) + "\n",
                              encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write baseline {path}: {exc.strerror}") from None


def gate_report(dsn: str, options: GateOptions) -> Report:
    """The CI gate (`perftool indexes --check`): health checks and index-set drift, minus ignored
    and baselined findings. `report.exit_code(options.fail_on)` is the gate's verdict."""
    if options.fail_on not in ("info", "warning", "error", "never"):
        raise UsageError(f"--fail-on must be info, warning, error or never, not {options.fail_on!r}")
    paths = resolve_set_paths(options.sets)
    index_set = load_index_sets(paths) if paths else None
    accepted = load_baseline(options.baseline) if options.baseline and not options.write_baseline else set()
    checks = select_checks(options.only, options.exclude, index_set=index_set is not None)
    info, catalog, ctx = _collect(dsn, options, checks, index_set)
    found = analyze_catalog(ctx, checks)
    kept, suppressed = suppress_ignored(found, index_set, options.ignore)
    notes = _notes(options, catalog, checks, info)
    if options.write_baseline:
        write_baseline(options.write_baseline, kept)
        accepted = {(f.code, f.object) for f in kept}
        notes.append(f"wrote baseline {options.write_baseline} with {len(kept)} finding(s)")
    findings = compose_fixes([f for f in kept if (f.code, f.object) not in accepted], lambda: relation_names(catalog))
    notes += ctx.notes
    baselined = len(kept) - len(findings)
    stale = len(accepted - {(f.code, f.object) for f in kept})
    if index_set is None:
        notes.append("no index set (no index_sets/ directory and no --set): drift checks I2xx skipped")
    else:
        notes.append(f"index sets: {', '.join(index_set.files)}")
    if suppressed:
        notes.append(f"{len(suppressed)} finding(s) ignored by ignore: entries")
    if baselined:
        notes.append(f"{baselined} finding(s) accepted by the baseline {options.baseline or options.write_baseline}")
    if stale:
        notes.append(f"{stale} baseline entr{'y' if stale == 1 else 'ies'} no longer found: fixed? regenerate the "
                     "baseline with --write-baseline")
    report = Report(command="indexes check", server=info.as_dict(), sections=[_checks_section(checks, findings)],
                    findings=findings, notes=notes)
    code = report.exit_code(options.fail_on)
    report.data = {
        "gate": {"passed": code == 0, "fail_on": options.fail_on, **counts(findings),
                 "ignored": len(suppressed), "baselined": baselined, "stale_baseline": stale,
                 "checks": len(checks), "index_sets": index_set.files if index_set else [],
                 "unseen": _privilege_notes(catalog, checks, info)},
        "checks": [c.as_dict() for c in checks],
        "suppressed": suppressed,
        "metrics": [{"name": "perftool_index_gate_passed", "labels": {},
                     "help": "1 when no finding reaches --fail-on (the exit code would be 0), else 0",
                     "value": int(code == 0)}],
    }
    return report


# ---------------------------------------------------------------------------------------------
# snapshot


SNAPSHOT_FORMATS = ("yaml", "json")


def snapshot_for(dsn: str, *, schema: str | None = None, table: str | None = None, fmt: str = "yaml") -> str:
    """The database's indexes as an index-set document (`perftool indexes snapshot`): YAML with a
    header comment, or the same document as JSON (which is YAML too, so `--set` reads either)."""
    from perftool.catalog.schema import collect_catalog
    from perftool.db.connect import connect, server_info

    if fmt not in SNAPSHOT_FORMATS:
        raise UsageError(f"indexes snapshot writes yaml or json, not {fmt!r}", "use -f yaml (default) or -f json")
    with connect(dsn) as conn:
        info = server_info(conn)
        catalog = collect_catalog(conn, schema=schema, table=table, bloat=False, sequences=False,
                                  definitions=False, all_columns=False)
    if fmt == "json":
        return json.dumps(snapshot_document(catalog, schema), indent=2, ensure_ascii=False) + "\n"
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = (f"# perftool index set: the indexes of database {info.database} ({info.host}:{info.port}, "
              f"PostgreSQL {info.version.split(' ')[0]}) on {now}.\n"
              "# Edit it to say which indexes the database should have; `perftool indexes --check --set FILE`\n"
              "# fails when the database drifts from it (docs/commands/indexes.md).\n")
    return snapshot_yaml(catalog, schema, header=header)
