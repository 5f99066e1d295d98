"""What holds back VACUUM, and how close transaction IDs are to wraparound.

The xmin horizon is the oldest transaction any snapshot may still need: a backend's snapshot or
open transaction, a replication slot's xmin (hot_standby_feedback) or catalog_xmin (logical), or a
prepared transaction — which survives disconnects and restarts. Nothing deleted after it can be
removed, and nothing can be frozen past it, so the ages below only go down once it moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from perftool.config import Thresholds
from perftool.db.sql import statement_text
from perftool.report.model import Finding, Severity


@dataclass
class HorizonHolder:
    kind: str                 # backend | replication slot | prepared transaction
    holder: str               # pid, slot name, gid
    datname: str | None
    xmin_age: int | None      # transactions since its xmin
    age_s: float | None       # since its transaction started / was prepared (None for slots)
    detail: str = ""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> HorizonHolder:
        values: dict[str, Any] = {k: row.get(k) for k in cls.__dataclass_fields__}
        return cls(**values)

    @property
    def name(self) -> str:
        return {"backend": f"backend pid {self.holder}", "replication slot": f"replication slot {self.holder}",
                "prepared transaction": f"prepared transaction {self.holder!r}"}.get(self.kind, self.holder)


@dataclass
class DatabaseAge:
    datname: str
    xid_age: int
    mxid_age: int | None = None
    allows_connections: bool = True


@dataclass
class TableAge:
    schema: str
    table: str
    xid_age: int
    mxid_age: int | None = None
    size_bytes: int | None = None


def holder_findings(holders: list[HorizonHolder], th: Thresholds, *, prefix: str = "") -> list[Finding]:
    """C105 for prepared transactions older than the idle-in-transaction thresholds and for inactive
    slots holding an xmin (backends are C102/C103 already)."""
    out = []
    for h in holders:
        if h.kind == "prepared transaction":
            age = h.age_s or 0.0
            if age <= th.idle_in_transaction_warning_s:
                continue
            severity = Severity.error if age > th.idle_in_transaction_critical_s else Severity.warning
            title = f"{prefix}{h.name} in {h.datname} open for {age:,.0f} s holds the xmin horizon"
            fix = (f"-- connected to {h.datname}, once you know which way it must go:\n"
                   + statement_text("fix_commit_prepared", {"gid": h.holder}) + "   -- or: "
                   + statement_text("fix_rollback_prepared", {"gid": h.holder}))
        elif h.kind == "replication slot" and "inactive" in h.detail:
            severity, age = Severity.warning, 0.0
            title = f"{prefix}inactive {h.name} holds the xmin horizon ({h.xmin_age or 0:,} transactions)"
            fix = (statement_text("fix_drop_replication_slot", {"slot": h.holder})
                   + "   -- only if its consumer is gone for good")
        else:
            continue
        out.append(Finding(
            code="C105", severity=severity, title=title, object=h.name,
            detail=(f"Its xmin is {h.xmin_age or 0:,} transactions old ({h.detail}). VACUUM keeps every row "
                    "version deleted since then in every table, and cannot freeze past it (D103/D104)."),
            fix=fix, evidence={"kind": h.kind, "holder": h.holder, "datname": h.datname,
                               "xmin_age": h.xmin_age, "age_s": None if h.age_s is None else round(h.age_s, 1)},
        ))
    return out


def _holder_note(holders: list[HorizonHolder]) -> str:
    oldest = holders[0] if holders else None
    if oldest is None or not oldest.xmin_age:
        return ""
    return (f" The oldest xmin is held by {oldest.name} ({oldest.xmin_age:,} transactions): the freeze cannot "
            "get past it until it ends.")


def wraparound_findings(databases: list[DatabaseAge], tables: list[TableAge], holders: list[HorizonHolder],
                        th: Thresholds, *, connected: str, prefix: str = "") -> list[Finding]:
    """D103 per database and D104 per table (of the connected database) past xid_age_warning."""
    out = []
    note = _holder_note(holders)
    for d in databases:
        if d.xid_age <= th.xid_age_warning:
            continue
        severity = Severity.error if d.xid_age > th.xid_age_critical else Severity.warning
        out.append(Finding(
            code="D103", severity=severity,
            title=f"{prefix}database {d.datname}: transaction IDs {d.xid_age:,} old "
                  f"({d.xid_age / 2 ** 31:.0%} of the way to wraparound)",
            object=d.datname,
            detail=(f"age(datfrozenxid) = {d.xid_age:,}; warning above {th.xid_age_warning:,}, critical above "
                    f"{th.xid_age_critical:,}; at 2^31 the server stops assigning transaction IDs.{note}"),
            fix=f"-- connected to {d.datname}:\n" + statement_text("fix_vacuum_freeze_database"),
            evidence={"datname": d.datname, "xid_age": d.xid_age, "mxid_age": d.mxid_age},
        ))
    for t in tables:
        if t.xid_age <= th.xid_age_warning:
            continue
        severity = Severity.error if t.xid_age > th.xid_age_critical else Severity.warning
        out.append(Finding(
            code="D104", severity=severity,
            title=f"{prefix}table {t.schema}.{t.table}: transaction IDs {t.xid_age:,} old",
            object=f"{t.schema}.{t.table}",
            detail=(f"age(relfrozenxid) = {t.xid_age:,} in database {connected} (its TOAST table included); warning "
                    f"above {th.xid_age_warning:,}, critical above {th.xid_age_critical:,}.{note}"),
            fix=statement_text("fix_vacuum_freeze", schema=t.schema, table=t.table),
            evidence={"schema": t.schema, "table": t.table, "xid_age": t.xid_age, "size_bytes": t.size_bytes},
        ))
    return out
