"""What `perftool analyze` is asked to do: its options, the hosts to analyse, and the hosts that
could not be analysed (the sections read these; the run builds them)."""

from __future__ import annotations

from dataclasses import dataclass, field

from perftool.config import Config, Thresholds
from perftool.db.errors import UsageError
from perftool.report.ignores import IgnoreEntry
from perftool.workload.patterns import N1_MIN_CALLS


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
    ignore: list[IgnoreEntry] = field(default_factory=list)
    require_all_hosts: bool = False   # several hosts: one that cannot be analysed stops the run (exit 3)
    index_advice: bool = True         # T201's fixes from the index advisor (advisor.fixes)

    def __post_init__(self) -> None:
        if self.interval is not None and not (0 < self.interval <= 3600):
            raise UsageError(f"--interval must be more than 0 and at most 3600 seconds, not {self.interval:g}",
                             "e.g. --interval 60; fractions work too: --interval 0.5")
        if self.limit < 1:
            raise UsageError("--limit must be at least 1")
        from perftool.workload.queries import check_slow_thresholds

        check_slow_thresholds(self.thresholds)


def targets_from_config(config: Config, *, host: str | None = None, all_hosts: bool = False,
                        dsn: str | None = None) -> list[Target]:
    """The hosts to analyse: one named host, every non-pgbouncer host, or the single DSN."""
    if host:
        h = config.host(host)
        return [Target(h.name, h.dsn, h.role)]
    if all_hosts:
        hosts = [Target(h.name, h.dsn, h.role) for h in config.database_hosts()]
        if not hosts:
            raise UsageError("--all-hosts needs hosts in perftool.yaml", "add a hosts: section (docs/config.md)")
        return hosts
    return [Target("default", dsn or "", "primary")]


@dataclass
class UnreachableHost:
    """A host of the fleet that could not be analysed: its perftool.yaml name, role, and why (the
    error's one line, passwords masked; never its DSN)."""

    name: str
    role: str
    reason: str
