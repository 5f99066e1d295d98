"""`perftool.yaml`: named hosts, thresholds and ignores.

Precedence: CLI option > environment > config file > built-in default. Built-in thresholds are
the ones in DOMAIN.md (the values our users already use). A bad file is an input error with
`file:line` (exit 2), never a traceback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any

from perftool.db.connect import parse_dsn
from perftool.db.errors import InputError, UsageError
from perftool.report.ignores import IgnoreEntry

CONFIG_NAMES = ("perftool.yaml", "perftool.yml")


@dataclass
class Thresholds:
    slow_ms: float = 1000.0            # mean time: warning
    slow_critical_ms: float = 5000.0   # mean time: error
    slow_min_calls: int = 1            # statements with fewer calls are not flagged slow
    cache_hit_warning: float = 0.80
    cache_hit_critical: float = 0.60
    connections_warning: float = 0.80
    connections_critical: float = 0.95
    replica_lag_warning_ms: float = 1000.0
    replica_lag_critical_ms: float = 5000.0
    idle_in_transaction_warning_s: float = 60.0
    idle_in_transaction_critical_s: float = 300.0
    long_query_warning_s: float = 60.0
    long_query_critical_s: float = 300.0
    lock_wait_warning_s: float = 5.0       # a session blocking others this long (C104)
    lock_wait_critical_s: float = 60.0
    slot_retained_warning_bytes: int = 1024 ** 3   # an inactive slot holding this much WAL (R102)
    pool_wait_critical_s: float = 5.0      # pgbouncer: a client waiting this long for a server connection (C106)
    sequence_warning: float = 0.75
    sequence_critical: float = 0.90
    xid_age_warning: int = 1_000_000_000
    xid_age_critical: int = 1_500_000_000
    unused_index_max_scans: int = 50
    unused_index_min_bytes: int = 1024 * 1024       # unused indexes this big are warnings, smaller ones info
    unused_index_min_stats_days: float = 7.0        # I104 is silent until the scan counters are this old
    seq_scan_share: float = 0.05
    seq_scan_min_rows: int = 10_000
    bloat_warning: float = 0.20
    bloat_critical: float = 0.50
    bloat_min_bytes: int = 10 * 1024 * 1024


class HostRole(str, Enum):
    """What a perftool.yaml host is: a database server (primary, replica) or a pgbouncer."""

    primary = "primary"
    replica = "replica"
    pgbouncer = "pgbouncer"

    def __str__(self) -> str:
        return self.value


@dataclass
class HostConfig:
    name: str
    dsn: str
    role: HostRole = HostRole.primary
    slot: str | None = None   # a replica's replication slot on its upstream (links the two views of it)


@dataclass
class Config:
    path: Path | None = None
    hosts: dict[str, HostConfig] = field(default_factory=dict)
    thresholds: Thresholds = field(default_factory=Thresholds)
    ignore: list[IgnoreEntry] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def default_dsn(self) -> str | None:
        """The host named `default`, else the one named `primary`, else the first with role primary,
        else the first."""
        for name in ("default", "primary"):
            if name in self.hosts:
                return self.hosts[name].dsn
        for h in self.hosts.values():
            if h.role is HostRole.primary:
                return h.dsn
        return next(iter(self.hosts.values())).dsn if self.hosts else None

    def database_hosts(self) -> list[HostConfig]:
        """The hosts that are database servers (not pgbouncer): the fleet whose workloads and index
        scans count (an index is unused only if unused on every one of them)."""
        return [h for h in self.hosts.values() if h.role is not HostRole.pgbouncer]

    def host(self, name: str) -> HostConfig:
        try:
            return self.hosts[name]
        except KeyError:
            known = ", ".join(self.hosts) or "none"
            raise InputError(f"no host named {name!r} in {self.path or 'the config'}",
                             f"hosts defined: {known}") from None


def find_config(explicit: str | os.PathLike | None = None) -> Path | None:
    if explicit:
        p = Path(explicit)
        if not p.exists():
            raise InputError(f"config file {p} does not exist")
        return p
    env = os.environ.get("PERFTOOL_CONFIG")
    if env:
        return find_config(env)
    for name in CONFIG_NAMES:
        if Path(name).exists():
            return Path(name)
    return None


def load_config(explicit: str | os.PathLike | None = None) -> Config:
    path = find_config(explicit)
    if path is None:
        return Config()
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f"{mark.line + 1}:{mark.column + 1}" if mark else "?"
        raise InputError(f"{path}:{line}: invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:  # reader errors (control characters) carry no mark
        raise InputError(f"{path}: invalid YAML: {str(exc).splitlines()[0]}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    if not isinstance(raw, dict):
        raise InputError(f"{path}:1: the config must be a mapping (hosts:, thresholds:, ignore:)")
    cfg = Config(path=path, raw=raw)
    hosts = raw.get("hosts") or {}
    if not isinstance(hosts, dict):
        raise InputError(f"{path}: 'hosts' must map names to {{dsn: ..., role: ...}}")
    for name, spec in hosts.items():
        if isinstance(spec, str):
            spec = {"dsn": spec}
        if not isinstance(spec, dict) or not spec.get("dsn"):
            raise InputError(f"{path}: host {name!r} needs a dsn")
        try:
            role = HostRole(spec.get("role", "primary"))
        except ValueError:
            raise InputError(f"{path}: host {name!r}: role must be primary, replica or pgbouncer") from None
        dsn = os.path.expandvars(str(spec["dsn"]))
        try:
            parse_dsn(dsn)
        except UsageError as exc:  # the message never holds the DSN (connect.parse_dsn)
            raise InputError(f"{path}: host {name!r}: {exc.message}", exc.hint) from None
        slot = spec.get("slot")
        if slot is not None and not isinstance(slot, str):
            raise InputError(f"{path}: host {name!r}: slot must be a replication slot's name")
        cfg.hosts[str(name)] = HostConfig(name=str(name), dsn=dsn, role=role, slot=slot)
    th = raw.get("thresholds") or {}
    if not isinstance(th, dict):
        raise InputError(f"{path}: 'thresholds' must map names to numbers (slow_ms: 500)")
    known = {f.name: f.type for f in fields(Thresholds)}
    for key, value in th.items():
        if key not in known:
            raise InputError(f"{path}: unknown threshold {key!r}", f"known: {', '.join(sorted(known))}")
        try:
            setattr(cfg.thresholds, key, type(getattr(cfg.thresholds, key))(value))
        except (TypeError, ValueError):
            raise InputError(f"{path}: threshold {key!r} must be a number, got {value!r}") from None
    ignore = raw.get("ignore") or []
    if not isinstance(ignore, list):
        raise InputError(f"{path}: 'ignore' must be a list of {{code:, object:, reason:}}")
    for i, entry in enumerate(ignore, 1):
        if not isinstance(entry, dict) or not entry.get("code"):
            raise InputError(f"{path}: ignore entry {i} must be a mapping with code: (and object:, reason:)")
    cfg.ignore = [IgnoreEntry(code=str(entry["code"]), object=str(entry.get("object", "*")),
                              reason=str(entry.get("reason", "")), origin="perftool.yaml") for entry in ignore]
    return cfg
