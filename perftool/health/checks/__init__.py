"""Index, table and sequence health checks, and index-set drift: a registry of coded checks, one
module per check.

A check is a pure function `(ctx: CheckContext) -> list[Finding]` over the catalog model
(`perftool.catalog.schema`), in its own module `<code>_<name>.py` here (found with pkgutil), and
registered with `@check("I104")`. Its code's severity, title and documentation are declared once,
in perftool/codes.py (the docstring there is docs/checks/<CODE>.md). Codes are stable: `I1xx`
index health, `I2xx` drift from a declared index set (they need one), `T1xx` table health, `S1xx`
sequences.

`run_health_checks(conn, ...)` is the entry point for other commands (`analyze` calls it): it
collects the catalog (and index scans on every extra host), then runs the selected checks.
"""

from __future__ import annotations

import fnmatch
import importlib
import pkgutil
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from perftool import codes
from perftool.catalog.schema import Catalog, IndexInfo
from perftool.config import Thresholds
from perftool.db.errors import UsageError
from perftool.gc_pause import gc_paused
from perftool.health.checks.fix_sql import FixPlan, FixStep
from perftool.health.index_sets import Drift, IndexSet, diff_index_set
from perftool.report.model import Finding, Severity, sort_findings

if TYPE_CHECKING:
    import psycopg

THIS_HOST = "this host"


def judged_column(ix: IndexInfo) -> str | None:
    """The leading column of a valid btree index of its own — not partial, not unique, not attached
    to a partitioned index, not backing a constraint — whose leading key is a plain column: the
    column by whose planner statistics I106 and I108 judge the index (and may suggest dropping
    it); None for any other index."""
    if (ix.method == "btree" and ix.is_valid and not ix.is_attached and not ix.is_partial and not ix.is_unique
            and not ix.backs_constraint and ix.columns):
        return ix.columns[0].name
    return None


def unused_on_every_host(scans_by_host: Mapping[str, int], max_scans: int) -> bool:
    """The one rule of I104 across a fleet: an index is unused only if it has at most `max_scans`
    scans on every host (`scans_by_host`: its idx_scan on each host) — an index the primary never
    scans may serve a replica's reads."""
    return max(scans_by_host.values(), default=0) <= max_scans


class IndexScans(Mapping[str, int]):
    """idx_scan of every index on one host (`schema.index` → scans), for I104 across a fleet.

    Held as one string of names and one array of counts, not as a dict of 30,000 new strings:
    made while the catalog is in memory, those small objects would land in the allocator's arenas
    between the catalog's and keep them from being freed (`analyze` on 10,000 tables: peak RSS
    97 → 90 MiB). The lookup table is built on first use, which only a fleet needs."""

    def __init__(self) -> None:
        self._names = ""
        self._counts = array("q")
        self._index: dict[str, int] | None = None

    def record(self, indexes: Iterable[IndexInfo]) -> None:
        """Take the scans of `indexes` (replacing what was recorded)."""
        self._names, self._counts = "", array("q")
        self.add(indexes)

    def add(self, indexes: Iterable[IndexInfo]) -> None:
        """Take the scans of `indexes` too (one part of the catalog after another)."""
        indexes = list(indexes)
        if not indexes:
            return
        names = "\n".join(ix.qualified for ix in indexes)
        self._names = f"{self._names}\n{names}" if self._counts else names
        self._counts.extend(ix.idx_scan for ix in indexes)
        self._index = None

    def _lookup(self) -> dict[str, int]:
        if self._index is None:
            self._index = {n: i for i, n in enumerate(self._names.split("\n"))} if self._counts else {}
        return self._index

    def __getitem__(self, name: str) -> int:
        return self._counts[self._lookup()[name]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._lookup())

    def __len__(self) -> int:
        return len(self._counts)


def scans(n: int) -> str:
    """`1 scan`, `12,345 scans`."""
    return f"{n:,} scan{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class Check:
    code: str
    severity: Severity
    title: str
    run: CheckFunction
    doc: str
    needs_index_set: bool = False
    needs_statistics: bool = False   # reads pg_stats (hidden for tables the role cannot SELECT)

    @property
    def summary(self) -> str:
        """The docstring's first paragraph, on one line."""
        return " ".join(self.doc.split("\n\n")[0].split())

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity.value, "title": self.title,
                "summary": self.summary, "docs": f"docs/checks/{self.code}.md"}


_REGISTRY: dict[str, Check] = {}


CheckFunction = Callable[["CheckContext"], list[Finding]]


def check(code: str, *, needs_index_set: bool = False,
          needs_statistics: bool = False) -> Callable[[CheckFunction], CheckFunction]:
    """Register the decorated function as the check of `code` (severity, title and documentation
    from perftool/codes.py; UnknownCode when it is not declared there). `needs_statistics`: it
    judges columns by the planner's statistics (pg_stats)."""
    spec = codes.get(code)

    def register(fn: CheckFunction) -> CheckFunction:
        if code in _REGISTRY:
            raise TypeError(f"two checks for {code}")
        _REGISTRY[code] = Check(code=code, severity=Severity(spec.severity), title=spec.title, run=fn,
                                doc=spec.doc, needs_index_set=needs_index_set, needs_statistics=needs_statistics)
        return fn

    return register


def check_modules() -> list[str]:
    """The modules of this package that hold a check: `<code>_<name>`, e.g. `i104_unused`."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if codes.CODE.fullmatch(m.name.split("_")[0].upper()))


def all_checks() -> list[Check]:
    for name in check_modules():
        importlib.import_module(f"{__name__}.{name}")
    return sorted(_REGISTRY.values(), key=lambda c: c.code)


def get_check(code: str) -> Check:
    checks = {c.code: c for c in all_checks()}
    return checks[code]


def _matches(code: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(code, p) for p in patterns)


def normalize_codes(values: Iterable[str] | None) -> list[str] | None:
    """`--only I101,I102 --only t1*` → ["I101", "I102", "T1*"]; every pattern must name a check."""
    if values is None:
        return None
    known = [c.code for c in all_checks()]
    out = []
    for value in values:
        for part in str(value).replace(",", " ").split():
            pattern = part.strip().upper()
            if not any(fnmatch.fnmatchcase(k, pattern) for k in known):
                raise UsageError(f"unknown check code {part!r}", f"codes: {', '.join(known)} (globs like I1* work)")
            out.append(pattern)
    return out or None


def select_checks(only: Iterable[str] | None = None, exclude: Iterable[str] | None = None, *,
                  index_set: bool = False) -> list[Check]:
    """The checks to run: all (the drift checks only with an index set), narrowed by --only
    and --exclude (codes or globs)."""
    only_codes = normalize_codes(only)
    excluded = normalize_codes(exclude) or []
    chosen = []
    for c in all_checks():
        if c.needs_index_set and not index_set:
            continue
        if only_codes is not None and not _matches(c.code, only_codes):
            continue
        if _matches(c.code, excluded):
            continue
        chosen.append(c)
    return chosen


@dataclass
class CheckContext:
    """What a check may look at: the catalog, thresholds, index scans per host (the connected
    host first; more when replicas are configured), and the declared index set (drift checks)."""

    catalog: Catalog
    thresholds: Thresholds = field(default_factory=Thresholds)
    usage: dict[str, dict[str, int]] = field(default_factory=dict)
    index_set: IndexSet | None = None
    host_name: str = THIS_HOST
    notes: list[str] = field(default_factory=list)   # what a check could not say (said once, in the report)
    _drift: Drift | None = None
    _counted: dict[str, tuple[int, int]] = field(default_factory=dict)   # count_note: key → (position in notes, total)

    def count_note(self, key: str, count: int, text: Callable[[int], str]) -> None:
        """A note that counts something (`text(total)`), said once however many parts of the
        catalog the checks run over (`run_health_checks`: one context after another, `next_part`):
        each part adds its `count` to the total and the note is written again with it."""
        at, total = self._counted.get(key, (len(self.notes), 0))
        total += count
        if at == len(self.notes):
            self.notes.append("")
        self.notes[at] = text(total)
        self._counted[key] = (at, total)

    def next_part(self, catalog: Catalog) -> CheckContext:
        """This context for the next part of the catalog (`catalog.schema.catalog_parts`): the
        same thresholds, hosts and notes, so counted notes go on counting."""
        return replace(self, catalog=catalog, _drift=None)

    def scans(self, index: IndexInfo) -> dict[str, int]:
        """idx_scan of `index` on every host (an index missing on a host counts 0 there)."""
        out = {self.host_name: index.idx_scan}
        for host, per_index in self.usage.items():
            if host != self.host_name:
                out[host] = int(per_index.get(index.qualified, 0))
        return out

    def drift(self) -> Drift:
        if self._drift is None:
            assert self.index_set is not None
            self._drift = diff_index_set(self.catalog, self.index_set)
        return self._drift

    def finding(self, code: str, *, title: str, object: str, detail: str = "", fix: str = "",
                evidence: dict[str, Any] | None = None, severity: Severity | str | None = None,
                steps: list[FixStep] | None = None) -> Finding:
        """A Finding of check `code`, at the check's default severity unless given; `steps` are
        the fix's statements (what they create, drop, add) for compose_fixes."""
        default = _REGISTRY[code].severity
        return Finding(code=code, severity=Severity(severity) if severity else default, title=title,
                       object=object, detail=detail, fix=fix, evidence=evidence or {},
                       plan=FixPlan(fix, list(steps)) if steps else None)


def analyze_catalog(ctx: CheckContext, checks: list[Check] | None = None) -> list[Finding]:
    """Pure: run `checks` (default: every health check, and the drift checks when the context has
    an index set) and return their findings, worst first."""
    checks = checks if checks is not None else select_checks(index_set=ctx.index_set is not None)
    findings: list[Finding] = []
    with gc_paused():   # identities, groups and findings over every index: no cycles among them
        for c in checks:
            if c.needs_index_set and ctx.index_set is None:
                continue
            findings.extend(c.run(ctx))
    return sort_findings(findings)


def stats_hidden_tables(catalog: Catalog) -> list[tuple[str, str]]:
    """The catalog's tables whose pg_stats rows this role cannot (all) see."""
    return [(t.schema, t.name) for t in catalog.tables if t.stats_hidden]


def statistics_note(hidden: Iterable[tuple[str, str]], checks: Iterable[Check], role: str,
                    major: int = 0) -> str | None:
    """One note when checks that need planner statistics ran over tables whose pg_stats rows this
    role cannot see (`hidden`: stats_hidden_tables; docs/privileges.md); None when nothing is hidden."""
    from perftool.db.privileges import hidden_statistics_note

    codes = [c.code for c in checks if c.needs_statistics]
    return hidden_statistics_note(role, hidden, codes, major)


def host_dsns(extra_hosts: Mapping[str, str] | Iterable[Any] | None) -> list[tuple[str, str]]:
    """(name, dsn) pairs from a {name: dsn} mapping, HostConfig objects, (name, dsn) pairs or DSNs."""
    if not extra_hosts:
        return []
    if isinstance(extra_hosts, Mapping):
        return [(str(k), str(v)) for k, v in extra_hosts.items()]
    out = []
    for i, h in enumerate(extra_hosts, 1):
        if isinstance(h, str):
            out.append((f"host{i}", h))
        elif isinstance(h, tuple):
            out.append((str(h[0]), str(h[1])))
        else:
            out.append((str(h.name), str(h.dsn)))
    return out


def collect_usage(extra_hosts: Mapping[str, str] | Iterable[Any] | None) -> dict[str, dict[str, int]]:
    """Index scans on each extra host (replicas: their own counters, the primary's catalog)."""
    from perftool.catalog.schema import collect_index_usage
    from perftool.db.connect import connect
    from perftool.db.errors import PerftoolError

    usage = {}
    for name, dsn in host_dsns(extra_hosts):
        try:
            with connect(dsn) as conn:
                usage[name] = collect_index_usage(conn)
        except PerftoolError as exc:
            hint = (exc.hint + "; " if exc.hint else "") + (
                "an index is unused only if unused on every host, so every host must answer")
            raise type(exc)(f"host {name}: {exc.message}", hint) from None
    return usage


def run_health_checks(conn: psycopg.Connection, *, only: Iterable[str] | None = None,
                      exclude: Iterable[str] | None = None, schema: str | None = None, table: str | None = None,
                      thresholds: Thresholds | None = None,
                      extra_hosts: Mapping[str, str] | Iterable[Any] | None = None,
                      host_name: str = THIS_HOST, notes: list[str] | None = None,
                      index_scans: IndexScans | None = None) -> list[Finding]:
    """Collect the catalog from `conn` (read-only), the index scans of `extra_hosts` (replicas:
    an index is unused only when unused on every host), and run the health checks (not the drift
    checks, which need an index set). Findings worst first; what the role could not see
    (`statistics_note`) and what the checks could not say are appended to `notes` when given, and
    every index's idx_scan on this host (`schema.index` → scans) to `index_scans`."""
    from perftool.catalog.schema import catalog_parts

    checks = select_checks(only, exclude)
    thresholds = thresholds or Thresholds()
    ctx = CheckContext(catalog=Catalog(), thresholds=thresholds, usage=collect_usage(extra_hosts),
                       host_name=host_name)
    findings: list[Finding] = []
    hidden: list[tuple[str, str]] = []
    sizes_note = None
    if index_scans is not None:
        index_scans.record(())
    # part by part (each part's catalog let go before the next is read): the checks look at one
    # table, its indexes and foreign keys at a time, and a partitioned table comes with its partitions
    for part in catalog_parts(conn, schema=schema, table=table, bloat=any(c.code in ("I109", "T101") for c in checks),
                              bloat_min_bytes=thresholds.bloat_min_bytes, definitions=False,   # no drift checks here
                              all_columns=False):
        ctx = ctx.next_part(part)
        findings += analyze_catalog(ctx, checks)
        if index_scans is not None:
            index_scans.add(part.indexes)
        hidden += stats_hidden_tables(part)
        sizes_note = part.sizes_note()
        ctx.catalog = part = Catalog()
    if notes is not None:
        note = statistics_note(hidden, checks, conn.info.user, conn.info.server_version // 10000)
        notes.extend([n for n in (note, sizes_note) if n])
        notes.extend(ctx.notes)
    return sort_findings(findings)
