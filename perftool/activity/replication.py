"""Replication: standbys, slots, and ONE lag verdict per replica.

Seen from a primary: pg_stat_replication (time lag — NULL once a standby has caught up — and bytes
behind) and the slots (an inactive physical slot is a standby that is gone, which
pg_stat_replication alone never shows). Seen from a standby: its WAL receiver, what it received
but has not replayed, and whether replay is paused. The verdict names the case:

- healthy — lag under the warning threshold;
- lagging — lag (time) at or past the warning threshold, with bytes;
- primary idle — the standby has replayed all it received (receive = replay): lag 0, however long
  ago the last commit was (the check_postgres / postgres_exporter trap of reading an idle primary
  as lag);
- receiver down — not streaming (R104), whatever the time figure says;
- replay paused — pg_wal_replay_pause() (R105): WAL arrives, nothing is applied.

With two samples (`--interval`, or `--watch`) each slot's growth gives a forecast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from perftool.config import HostConfig, Thresholds
from perftool.db.sql import statement_text
from perftool.report.model import Column, Finding, Report, Section, Severity

if TYPE_CHECKING:
    import psycopg

    from perftool.db.connect import ServerInfo

HEALTHY, LAGGING, PRIMARY_IDLE, RECEIVER_DOWN, REPLAY_PAUSED = (
    "healthy", "lagging", "primary idle", "receiver down", "replay paused")


@dataclass
class StandbyStat:
    """A row of pg_stat_replication: a standby as its upstream sees it."""

    pid: int
    application_name: str
    client_addr: str | None = None
    state: str | None = None
    sync_state: str | None = None
    write_lag_ms: float | None = None
    flush_lag_ms: float | None = None
    replay_lag_ms: float | None = None
    sent_bytes: int | None = None
    write_bytes: int | None = None
    flush_bytes: int | None = None
    replay_bytes: int | None = None
    reply_age_s: float | None = None
    slot_name: str | None = None


@dataclass
class Slot:
    slot_name: str
    slot_type: str
    database: str | None = None
    active: bool = False
    wal_status: str | None = None
    safe_wal_size: int | None = None
    retained_bytes: int | None = None
    xmin_age: int | None = None
    growth_bytes_per_s: float | None = None    # from two samples


@dataclass
class Receiver:
    """A standby's own view of its replication."""

    receiver_status: str | None = None
    sender_host: str | None = None
    sender_port: int | None = None
    slot_name: str | None = None
    conninfo: str | None = None
    last_message_age_s: float | None = None
    replay_bytes: int | None = None
    last_replay_age_s: float | None = None
    pause_state: str | None = None

    @property
    def application_name(self) -> str | None:
        m = re.search(r"application_name=(\S+)", self.conninfo or "")
        return m[1] if m else None


@dataclass
class ReplicationState:
    host: str
    in_recovery: bool
    wal_position: int
    taken_at: float
    standbys: list[StandbyStat] = field(default_factory=list)
    slots: list[Slot] = field(default_factory=list)
    receiver: Receiver | None = None
    info: ServerInfo | None = None
    role: str = "primary"         # from perftool.yaml; what the server says wins
    error: str | None = None      # the host could not be read (its one-line error, masked)
    slot: str | None = None       # perftool.yaml's `slot:` of a replica: its slot on the upstream


def _make(cls, row: dict[str, Any]):
    return cls(**{k: v for k, v in row.items() if k in cls.__dataclass_fields__})


def collect_replication(conn: psycopg.Connection, *, host: str, info: ServerInfo | None = None,
                        role: str = "primary") -> ReplicationState:
    from perftool.db.sql import fetch_all, fetch_one

    pos = fetch_one(conn, "replicas_position") or {}
    state = ReplicationState(host=host, in_recovery=bool(pos.get("in_recovery")),
                             wal_position=int(pos.get("wal_position") or 0), taken_at=float(pos.get("taken_at") or 0),
                             info=info, role=role)
    state.standbys = [_make(StandbyStat, r) for r in fetch_all(conn, "replicas_standbys")]
    state.slots = [_make(Slot, r) for r in fetch_all(conn, "replicas_slots")]
    if state.in_recovery:
        row = fetch_one(conn, "replicas_receiver")
        state.receiver = _make(Receiver, row) if row else Receiver()
    return state


def with_growth(first: ReplicationState, second: ReplicationState) -> ReplicationState:
    """`second` with each slot's WAL growth per second since `first` (same slot names)."""
    dt = second.taken_at - first.taken_at
    if dt <= 0:
        return second
    before = {s.slot_name: s for s in first.slots}
    for s in second.slots:
        b = before.get(s.slot_name)
        if b and b.retained_bytes is not None and s.retained_bytes is not None:
            s.growth_bytes_per_s = max(s.retained_bytes - b.retained_bytes, 0) / dt
    return second


@dataclass
class Verdict:
    replica: str
    seen_from: str         # the host whose view it is
    verdict: str
    lag_ms: float | None = None
    lag_bytes: int | None = None
    state: str | None = None
    sync_state: str | None = None
    detail: str = ""
    slot_name: str | None = None
    application_name: str | None = None


def standby_verdict(state: ReplicationState, th: Thresholds) -> Verdict:
    """The standby's own verdict (receive vs replay, receiver, pause)."""
    r = state.receiver or Receiver()
    base: dict[str, Any] = dict(replica=state.host, seen_from=state.host, state=r.receiver_status,
                                slot_name=r.slot_name, application_name=r.application_name)
    behind = r.replay_bytes or 0
    lag = 0.0 if behind <= 0 else max((r.last_replay_age_s or 0.0) * 1000, 0.0)
    if r.pause_state in ("paused", "pause requested"):
        return Verdict(**base, verdict=REPLAY_PAUSED, lag_ms=lag, lag_bytes=behind,
                       detail=f"replay {r.pause_state}; {behind:,} bytes received but not replayed")
    if r.receiver_status != "streaming":
        return Verdict(**base, verdict=RECEIVER_DOWN, lag_ms=lag, lag_bytes=behind,
                       detail=("no WAL receiver running" if r.receiver_status is None
                               else f"WAL receiver {r.receiver_status}") + " (pg_stat_wal_receiver)")
    if behind <= 0:
        idle = (r.last_replay_age_s or 0.0) * 1000 >= th.replica_lag_warning_ms
        return Verdict(**base, verdict=PRIMARY_IDLE if idle else HEALTHY, lag_ms=0.0, lag_bytes=0,
                       detail=(f"everything received is replayed; last commit replayed "
                               f"{r.last_replay_age_s or 0:,.0f} s ago" if idle else "caught up"))
    return Verdict(**base, verdict=LAGGING if lag >= th.replica_lag_warning_ms else HEALTHY, lag_ms=lag,
                   lag_bytes=behind, detail=f"{behind:,} bytes received but not replayed")


def primary_verdicts(state: ReplicationState, th: Thresholds) -> list[Verdict]:
    """One verdict per standby in pg_stat_replication, and one per inactive physical slot (a
    standby that is gone)."""
    out = []
    for s in state.standbys:
        behind = s.replay_bytes or 0
        lag = s.replay_lag_ms or 0.0
        if s.state != "streaming":
            verdict, detail = LAGGING, f"state {s.state}: not streaming yet"
        elif behind <= 0:
            verdict, detail, lag = HEALTHY, "caught up", 0.0
        else:
            verdict = LAGGING if lag >= th.replica_lag_warning_ms else HEALTHY
            detail = (f"{behind:,} bytes not replayed (write {s.write_lag_ms or 0:,.0f} ms, "
                      f"flush {s.flush_lag_ms or 0:,.0f} ms)")
        out.append(Verdict(replica=s.application_name or f"pid {s.pid}", seen_from=state.host, verdict=verdict,
                           lag_ms=lag, lag_bytes=behind, state=s.state, sync_state=s.sync_state, detail=detail,
                           slot_name=s.slot_name, application_name=s.application_name))
    used = {s.slot_name for s in state.standbys if s.slot_name}
    for slot in state.slots:
        if slot.slot_type == "physical" and not slot.active and slot.slot_name not in used:
            out.append(Verdict(replica=f"slot {slot.slot_name}", seen_from=state.host, verdict=RECEIVER_DOWN,
                               lag_bytes=slot.retained_bytes, slot_name=slot.slot_name,
                               detail=f"physical slot {slot.slot_name} has no consumer: its standby is not streaming"))
    return out


def verdicts(states: list[ReplicationState], th: Thresholds) -> list[Verdict]:
    """One verdict per replica: a standby's own view wins over its upstream's (matched by slot or
    application_name); an unreachable replica host is receiver down, and with its perftool.yaml
    `slot:` that one verdict also stands for its upstream's inactive slot."""
    own: list[Verdict] = []
    upstream: list[Verdict] = []
    for s in states:
        if s.error is not None:
            if s.role == "replica":
                own.append(Verdict(replica=s.host, seen_from="perftool.yaml", verdict=RECEIVER_DOWN,
                                   slot_name=s.slot, detail=f"host does not answer: {s.error}"))
            continue
        if s.in_recovery:
            own.append(standby_verdict(s, th))
        upstream += primary_verdicts(s, th)
    keys = {k for v in own for k in (v.slot_name, v.application_name) if k}
    upstream = [v for v in upstream if not ({v.slot_name, v.application_name} & keys)]
    return own + upstream


def _severity(v: Verdict, th: Thresholds) -> Severity | None:
    lag = v.lag_ms or 0.0
    if lag > th.replica_lag_critical_ms:
        return Severity.error
    if lag >= th.replica_lag_warning_ms:
        return Severity.warning
    return None


def verdict_findings(vs: list[Verdict], th: Thresholds) -> list[Finding]:
    """R101 lagging, R104 receiver down, R105 replay paused — at most one per replica."""
    out = []
    for v in vs:
        evidence = {"replica": v.replica, "seen_from": v.seen_from, "verdict": v.verdict,
                    "lag_ms": None if v.lag_ms is None else round(v.lag_ms, 1), "lag_bytes": v.lag_bytes}
        bytes_text = f", {v.lag_bytes:,} bytes behind" if v.lag_bytes else ""
        if v.verdict == RECEIVER_DOWN:
            out.append(Finding(
                code="R104", title=f"{v.replica}: WAL receiver down ({v.detail})", object=v.replica,
                detail=(f"Seen from {v.seen_from}: {v.detail}{bytes_text}. Nothing is replicated while it is down, "
                        "whatever its lag time shows."),
                fix=("Check the standby's log and its connection to the primary (primary_conninfo, pg_hba.conf, "
                     "the network); if it is gone for good, drop its slot on the primary."),
                evidence=evidence | {"reason": v.detail}))
        elif v.verdict == REPLAY_PAUSED:
            sev = Severity.error if (v.lag_ms or 0) > th.replica_lag_critical_ms else Severity.warning
            out.append(Finding(
                code="R105", severity=sev,
                title=f"{v.replica}: replay paused, lag {v.lag_ms or 0:,.0f} ms{bytes_text}", object=v.replica,
                detail=(f"{v.detail}. The lag is real even while it looks small: nothing is applied until replay "
                        f"resumes (error past {th.replica_lag_critical_ms:,.0f} ms)."),
                fix="SELECT pg_wal_replay_resume();   -- on the standby",
                evidence=evidence | {"replay_bytes": v.lag_bytes}))
        elif v.verdict == LAGGING:
            sev = _severity(v, th) or Severity.warning
            out.append(Finding(
                code="R101", severity=sev, title=f"{v.replica}: replica lag {v.lag_ms or 0:,.0f} ms{bytes_text}",
                object=v.replica,
                detail=(f"Seen from {v.seen_from}: {v.detail}. Healthy below {th.replica_lag_warning_ms:,.0f} ms, "
                        f"alert above {th.replica_lag_critical_ms:,.0f} ms: reads from the replica see stale data."),
                fix=("Look at the standby's I/O and replay conflicts (pg_stat_database_conflicts), long queries "
                     "on it, and the network; route read-your-writes traffic to the primary meanwhile."),
                evidence=evidence))
    return out


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:,.1f} h" if seconds >= 3600 else f"{seconds / 60:,.0f} min"


def forecast(slot: Slot) -> str:
    """'grows 1.2 GiB/h; lost in ≈ 3.4 h' from two samples (empty without them)."""
    rate = slot.growth_bytes_per_s
    if rate is None:
        return ""
    if rate <= 0:
        return "not growing"
    text = f"grows {rate * 3600 / 1024 ** 2:,.1f} MiB/h"
    if slot.safe_wal_size is not None:
        text += f"; max_slot_wal_keep_size reached (slot lost) in ≈ {_hours(max(slot.safe_wal_size, 0) / rate)}"
    else:
        text += "; no max_slot_wal_keep_size: pg_wal grows until the disk is full"
    return text


def slot_findings(slots: list[Slot], th: Thresholds, *, prefix: str = "") -> list[Finding]:
    """R102: an inactive slot retaining ≥ slot_retained_warning_bytes, or one whose WAL is at risk
    (wal_status unreserved: warning; lost: error)."""
    out = []
    for s in slots:
        retained = s.retained_bytes or 0
        at_risk = s.wal_status in ("unreserved", "lost")
        if not at_risk and (s.active or retained < th.slot_retained_warning_bytes):
            continue
        fc = forecast(s)
        out.append(Finding(
            code="R102", severity=Severity.error if s.wal_status == "lost" else Severity.warning,
            title=(f"{prefix}{'inactive ' if not s.active else ''}replication slot {s.slot_name} holds "
                   f"{retained / 1024 ** 2:,.1f} MiB of WAL" + (f" ({fc})" if fc else "")),
            object=s.slot_name,
            detail=(f"{s.slot_type} slot, wal_status {s.wal_status}, safe_wal_size "
                    f"{'unlimited' if s.safe_wal_size is None else f'{s.safe_wal_size:,} bytes'}; flagged from "
                    f"{th.slot_retained_warning_bytes:,} bytes (thresholds.slot_retained_warning_bytes). An inactive "
                    "slot keeps every WAL segment since its consumer left, until the disk fills."
                    + ("" if fc else " Run with --interval SECONDS for a fill forecast.")),
            fix=statement_text("fix_drop_replication_slot", {"slot": s.slot_name})
            + "   -- only if its consumer is gone for good",
            evidence={"retained_bytes": retained, "wal_status": s.wal_status, "safe_wal_size": s.safe_wal_size,
                      "active": s.active,
                      "growth_bytes_per_s": None if s.growth_bytes_per_s is None else round(s.growth_bytes_per_s, 1)},
        ))
    return out


def replicas_report(states: list[ReplicationState], th: Thresholds) -> Report:
    """Pure: verdicts, standbys, slots and their findings for one host or a fleet."""
    vs = verdicts(states, th)
    findings = verdict_findings(vs, th)
    fleet = len(states) > 1
    slot_rows, standby_rows = [], []
    for s in states:
        if s.error is None:
            findings += slot_findings(s.slots, th, prefix=f"{s.host}: " if fleet else "")
        for st in s.standbys:
            standby_rows.append({"host": s.host, "standby": st.application_name, "client_addr": st.client_addr,
                                 "state": st.state, "sync_state": st.sync_state, "write_lag_ms": st.write_lag_ms,
                                 "flush_lag_ms": st.flush_lag_ms, "replay_lag_ms": st.replay_lag_ms,
                                 "replay_bytes": st.replay_bytes, "slot": st.slot_name})
        for sl in s.slots:
            slot_rows.append({"host": s.host, "slot": sl.slot_name, "type": sl.slot_type, "active": sl.active,
                              "wal_status": sl.wal_status, "retained_bytes": sl.retained_bytes,
                              "safe_wal_size": sl.safe_wal_size, "xmin_age": sl.xmin_age, "forecast": forecast(sl)})
    unreachable = [s for s in states if s.error is not None and s.role != "replica"]
    for s in unreachable:
        findings.append(Finding(code="R103", title=f"host {s.host} could not be analysed", object=s.host,
                                detail=f"{s.host} ({s.role}) failed: {s.error}. The report covers the others only.",
                                fix=f"Check that {s.host} is up and reachable from here.",
                                evidence={"host": s.host, "role": s.role, "error": s.error}))
    findings.sort(key=lambda f: (-f.severity.rank, f.code, f.object))
    hosts = [{"host": s.host, "role": "unreachable" if s.error else ("standby" if s.in_recovery else "primary"),
              "standbys": len(s.standbys), "slots": len(s.slots), "error": s.error or ""} for s in states]
    sections = [
        Section("verdicts", "Lag verdict per replica", [
            Column("replica", "replica"), Column("verdict", "verdict"), Column("lag_ms", "lag", "ms"),
            Column("lag_bytes", "behind", "bytes"), Column("state", "state"), Column("sync_state", "sync"),
            Column("seen_from", "seen from"), Column("detail", "detail")],
            [{"replica": v.replica, "verdict": v.verdict, "lag_ms": v.lag_ms, "lag_bytes": v.lag_bytes,
              "state": v.state, "sync_state": v.sync_state, "seen_from": v.seen_from, "detail": v.detail} for v in vs],
            note="primary idle = everything received is replayed (lag 0, however long ago the last commit was)."),
        Section("standbys", "Standbys streaming from each host (pg_stat_replication)", [
            Column("host", "host"), Column("standby", "standby"), Column("client_addr", "client"),
            Column("state", "state"), Column("sync_state", "sync"), Column("write_lag_ms", "write lag", "ms"),
            Column("flush_lag_ms", "flush lag", "ms"), Column("replay_lag_ms", "replay lag", "ms"),
            Column("replay_bytes", "replay behind", "bytes"), Column("slot", "slot")], standby_rows),
        Section("slots", "Replication slots", [
            Column("host", "host"), Column("slot", "slot"), Column("type", "type"), Column("active", "active"),
            Column("wal_status", "wal_status"), Column("retained_bytes", "retained", "bytes"),
            Column("safe_wal_size", "safe_wal_size", "bytes"), Column("xmin_age", "xmin age", "int"),
            Column("forecast", "forecast")], slot_rows),
    ]
    if fleet:
        sections.insert(0, Section("hosts", "Hosts", [
            Column("host", "host"), Column("role", "role"), Column("standbys", "standbys", "int"),
            Column("slots", "slots", "int"), Column("error", "error")], hosts))
    lead = next((s for s in states if s.info is not None and not s.in_recovery), None) or \
        next((s for s in states if s.info is not None), None)
    server = lead.info.as_dict() if lead and lead.info else {}
    if fleet:
        server["hosts"] = [s.host for s in states]
    return Report(command="replicas", server=server, sections=sections, findings=findings,
                  data={"verdicts": [v.__dict__ for v in vs], "metrics": replicas_metrics(states, vs),
                        "perfdata": replicas_perfdata(states, vs, th)})


def _metric(name: str, help_: str, value: float, **labels: Any) -> dict[str, Any]:
    return {"name": name, "help": help_, "labels": {k: "" if v is None else str(v) for k, v in labels.items()},
            "value": value}


def replicas_metrics(states: list[ReplicationState], vs: list[Verdict]) -> list[dict[str, Any]]:
    """Prometheus samples named as postgres_exporter names them where the meaning is the same."""
    out = []
    for s in states:
        if s.error is not None:
            continue
        out.append(_metric("pg_replication_is_replica", "1 when the server is in recovery", int(s.in_recovery),
                           host=s.host))
        for st in s.standbys:
            labels = {"application_name": st.application_name, "client_addr": st.client_addr, "state": st.state,
                      "sync_state": st.sync_state, "slot_name": st.slot_name, "host": s.host}
            out.append(_metric("pg_stat_replication_pg_wal_lsn_diff", "Bytes the standby's replay is behind",
                               st.replay_bytes or 0, **labels))
            out.append(_metric("perftool_stat_replication_replay_lag_seconds", "replay_lag of pg_stat_replication "
                               "(0 when NULL: caught up)", (st.replay_lag_ms or 0) / 1000, **labels))
        for sl in s.slots:
            labels = {"slot_name": sl.slot_name, "slot_type": sl.slot_type, "host": s.host}
            out.append(_metric("pg_replication_slot_slot_is_active", "1 when the slot has a consumer", int(sl.active),
                               **labels))
            out.append(_metric("perftool_replication_slot_retained_bytes", "WAL retained by the slot",
                               sl.retained_bytes or 0, **labels))
            if sl.safe_wal_size is not None:
                out.append(_metric("pg_replication_slot_safe_wal_size_bytes", "WAL that can still be written before "
                                   "the slot is lost", sl.safe_wal_size, **labels))
    for v in vs:
        out.append(_metric("pg_replication_lag_seconds", "Replication lag of the replica, seconds (0 when it has "
                           "replayed all it received)", (v.lag_ms or 0) / 1000, replica=v.replica, verdict=v.verdict))
        out.append(_metric("perftool_replica_up", "1 when the replica's WAL receiver streams",
                           int(v.verdict != RECEIVER_DOWN), replica=v.replica))
    return out


def replicas_perfdata(states: list[ReplicationState], vs: list[Verdict], th: Thresholds) -> list[dict[str, Any]]:
    out = []
    for v in vs:
        label = re.sub(r"[^A-Za-z0-9_.-]", "_", v.replica)
        out.append({"label": f"{label}_lag_ms", "value": round(v.lag_ms or 0, 1), "uom": "ms",
                    "warn": th.replica_lag_warning_ms, "crit": th.replica_lag_critical_ms, "min": 0, "max": None})
        out.append({"label": f"{label}_behind", "value": v.lag_bytes or 0, "uom": "B", "warn": None, "crit": None,
                    "min": 0, "max": None})
    for s in states:
        for sl in s.slots:
            out.append({"label": f"slot_{sl.slot_name}_retained", "value": sl.retained_bytes or 0, "uom": "B",
                        "warn": th.slot_retained_warning_bytes if not sl.active else None, "crit": None, "min": 0,
                        "max": None})
    return out


def read_hosts(hosts: list[HostConfig], *, interval: float | None = None) -> list[ReplicationState]:
    """Each host's replication state, hosts reached in parallel; a host that cannot be read is a
    state with `error` set (one masked line), unless it is the only one (then its error stops the
    run). With `interval`, two samples that far apart give each slot's growth."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from perftool.db.connect import connect, redact, server_info
    from perftool.db.errors import PerftoolError

    def one(h: HostConfig) -> ReplicationState:
        try:
            with connect(h.dsn) as conn:
                info = server_info(conn)
                name = h.name if h.name != "default" else f"{info.host}:{info.port}"
                first = collect_replication(conn, host=name, info=info, role=h.role)
                if interval:
                    time.sleep(interval)
                    first = with_growth(first, collect_replication(conn, host=name, info=info, role=h.role))
                return first
        except PerftoolError as exc:
            if len(hosts) == 1 or exc.exit_code != 3:
                raise
            return ReplicationState(host=h.name, in_recovery=h.role == "replica", wal_position=0, taken_at=0,
                                    role=h.role, error=redact(exc.one_line(), h.dsn), slot=h.slot)

    with ThreadPoolExecutor(max_workers=min(8, max(len(hosts), 1))) as pool:
        states = list(pool.map(one, hosts))
    if states and all(s.error for s in states):
        from perftool.db.errors import ConnectionFailed

        raise ConnectionFailed(f"no host could be read: {'; '.join(f'{s.host}: {s.error}' for s in states)}")
    return states


def run_replicas(hosts: list[HostConfig], th: Thresholds, *, interval: float | None = None,
                 previous: list[ReplicationState] | None = None) -> tuple[Report, list[ReplicationState]]:
    """Read every host (in parallel), add growth from `previous` (the last --watch sample) when
    there is no `interval`, and report; the states are returned for the next sample."""
    if interval is not None and not 0 < interval <= 3600:
        from perftool.db.errors import UsageError

        raise UsageError(f"--interval must be more than 0 and at most 3600 seconds, not {interval:g}")
    states = read_hosts(hosts, interval=interval)
    if previous and not interval:
        before = {s.host: s for s in previous if s.error is None}
        states = [with_growth(before[s.host], s) if s.host in before and s.error is None else s for s in states]
    return replicas_report(states, th), states
