"""Several hosts (a primary and its replicas) seen as one workload.

queryid differs across major versions and architectures, so statements are merged by their
normalized-text fingerprint; counters are summed, the mean recomputed, the standard deviation
pooled exactly from each host's (n, mean, sd). Table and index counters are summed too: a table
seq-scanned on a replica counts. Gauges (live tuples, sizes) come from the primary.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from perftool.workload.snapshot import DATABASE_COUNTERS, INDEX_COUNTERS, STATEMENT_COUNTERS, TABLE_COUNTERS, Snapshot
from perftool.workload.statement_text import fingerprint
from perftool.workload.stats import StatementStats


def merge_statements(per_host: dict[str, list[StatementStats]]) -> list[StatementStats]:
    """One record per fingerprint; `extra["hosts"]` holds the calls per host (a record already
    merged across hosts contributes its own breakdown)."""
    groups: dict[str, list[tuple[str, StatementStats]]] = {}
    for host, stmts in per_host.items():
        for s in stmts:
            groups.setdefault(fingerprint(s.query), []).append((host, s))
    merged = []
    for members in groups.values():
        first = members[0][1]
        sums = {k: sum(getattr(s, k) for _, s in members) for k in STATEMENT_COUNTERS}
        calls = sums["calls"]
        mean = sums["total_ms"] / calls if calls else 0.0
        # pooled variance: E[x²] − mean², with E[x²] per host = sd² + mean²
        ex2 = sum(s.calls * (s.stddev_ms ** 2 + s.mean_ms ** 2) for _, s in members) / calls if calls else 0.0
        queryids = sorted({q for _, s in members for q in (s.extra.get("queryids") or [s.queryid])
                           if q is not None})
        hosts: dict[str, int] = {}
        for host, s in members:
            for h, c in (s.extra.get("hosts") or {host: s.calls}).items():
                hosts[h] = hosts.get(h, 0) + c
        merged.append(dataclasses.replace(
            first, **sums, mean_ms=mean, stddev_ms=math.sqrt(max(ex2 - mean * mean, 0.0)),
            min_ms=min(s.min_ms for _, s in members), max_ms=max(s.max_ms for _, s in members),
            extra={**first.extra, "hosts": hosts, "queryids": queryids},
        ))
    return merged


def _merge_rows(rows_per_host: list[Sequence[Mapping[str, Any]]], key: tuple[str, ...],
                counters: tuple[str, ...]) -> list[dict]:
    merged: dict[tuple, dict] = {}
    for rows in rows_per_host:
        for r in rows:
            k = tuple(r.get(x) for x in key)
            if k not in merged:
                merged[k] = dict(r)
            else:
                for c in counters:
                    merged[k][c] = (merged[k].get(c) or 0) + (r.get(c) or 0)
    return list(merged.values())


def lead_snapshot(snaps: list[Snapshot]) -> Snapshot:
    """The snapshot that speaks for the fleet: the first with role primary, else the first."""
    return next((s for s in snaps if s.role == "primary"), snaps[0])


def merge_snapshots(snaps: list[Snapshot]) -> Snapshot:
    """One combined snapshot; the primary (first with role primary, else the first) leads."""
    if len(snaps) == 1:
        return snaps[0]
    lead = lead_snapshot(snaps)
    ordered = [lead] + [s for s in snaps if s is not lead]
    database = dict(lead.database)
    for c in DATABASE_COUNTERS:
        database[c] = sum((s.database.get(c) or 0) for s in snaps)
    return dataclasses.replace(
        lead,
        host="combined",
        statements=merge_statements({s.host: s.statements for s in ordered}),
        database=database,
        tables=_merge_rows([s.tables for s in ordered], ("schema", "table"), TABLE_COUNTERS),
        indexes=_merge_rows([s.indexes for s in ordered], ("schema", "index"), INDEX_COUNTERS),
        extras={},
    )
