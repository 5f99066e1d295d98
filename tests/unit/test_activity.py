"""Pure analysis of `pool` and `replicas` on model objects: lock trees, verdicts, pgbouncer rows,
the nagios renderer."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perftool.activity.connections import Backend, ConnectionUse, session_findings
from perftool.activity.locks import lock_trees, tree_rows
from perftool.activity.pgbouncer import bouncer_findings, bouncer_from_rows
from perftool.activity.replication import (
    HEALTHY,
    LAGGING,
    PRIMARY_IDLE,
    RECEIVER_DOWN,
    REPLAY_PAUSED,
    Receiver,
    ReplicationState,
    Slot,
    StandbyStat,
    forecast,
    replicas_report,
    standby_verdict,
    verdicts,
)
from perftool.config import Thresholds
from perftool.report.model import Finding, Report
from perftool.report.nagios_format import exit_code, perfdata, status_line

TH = Thresholds()


def b(pid, blocked_by=(), state="active", **kw):
    return Backend(pid=pid, blocked_by=list(blocked_by), state=state, **kw)


def test_lock_tree_chain_and_two_blockers():
    trees = lock_trees([b(1, state="idle in transaction"), b(2, [1]), b(3, [2]), b(4, [3])])
    assert [t.pid for t in trees] == [1] and trees[0].descendants() == {2, 3, 4}
    trees = lock_trees([b(1), b(2), b(3, [1, 2]), b(4, [3])])
    assert [t.pid for t in trees] == [1, 2]
    assert all([w.pid for w in t.waiters] == [3] and t.descendants() == {3, 4} for t in trees)
    rows = tree_rows(trees)
    assert [(r["root"], r["depth"]) for r in rows] == [(1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)]


def test_lock_tree_cycle_and_unknown_blocker():
    trees = lock_trees([b(1, [2]), b(2, [1])])               # a deadlock not broken yet
    assert [t.pid for t in trees] == [1] and trees[0].descendants() == {2}
    trees = lock_trees([b(5, [99])])                          # the blocker is not in the list (other server user)
    assert [t.pid for t in trees] == [99] and trees[0].backend.backend_type == "unknown"


@given(st.dictionaries(st.integers(1, 12), st.lists(st.integers(1, 12), max_size=3), max_size=12))
def test_lock_tree_never_fails_and_every_waiter_is_under_each_blocker(raw):
    graph = {p: [q for q in blocked if q < p] for p, blocked in raw.items()}   # no cycle: test_lock_tree_cycle…
    backends = [b(p, blocked) for p, blocked in graph.items()]
    trees = lock_trees(backends)
    below: dict[int, set[int]] = {}

    def walk(node):
        for w in node.waiters:
            below.setdefault(node.pid, set()).add(w.pid)
            walk(w)

    for t in trees:
        walk(t)
    roots = {t.pid for t in trees}
    for p, blocked in graph.items():
        for q in set(blocked) - {p}:
            assert p in below.get(q, set()) and p not in roots   # under each of its blockers, and no root


def test_session_findings_thresholds_and_own_session():
    sessions = [b(1, state="idle in transaction", xact_age_s=61), b(2, state="idle in transaction", xact_age_s=301),
                b(3, state="active", query_age_s=59), b(4, state="active", query_age_s=400),
                b(5, state="idle in transaction", xact_age_s=999, own=True)]
    found = {(f.code, f.evidence["pid"], f.severity.value) for f in session_findings(sessions, TH)}
    assert found == {("C102", 1, "warning"), ("C102", 2, "error"), ("C103", 4, "error")}
    use = ConnectionUse.from_backends(100, 3, sessions)
    assert (use.used, use.usable, use.idle_in_transaction, use.oldest_idle_tx_s) == (5, 97, 2, 301)


def standby(**receiver):
    return ReplicationState(host="s1", in_recovery=True, wal_position=0, taken_at=0,
                            receiver=Receiver(**{"receiver_status": "streaming", **receiver}))


@pytest.mark.parametrize(("receiver", "verdict", "lag"), [
    ({"replay_bytes": 0, "last_replay_age_s": 3600}, PRIMARY_IDLE, 0),        # idle primary: no lag
    ({"replay_bytes": 0, "last_replay_age_s": 0.2}, HEALTHY, 0),
    ({"replay_bytes": 500, "last_replay_age_s": 0.5}, HEALTHY, 500),
    ({"replay_bytes": 500, "last_replay_age_s": 2}, LAGGING, 2000),
    ({"replay_bytes": 500, "last_replay_age_s": 0.1, "pause_state": "paused"}, REPLAY_PAUSED, 100),
    ({"receiver_status": None, "replay_bytes": None, "last_replay_age_s": 0.1}, RECEIVER_DOWN, 0),
    ({"receiver_status": "waiting", "replay_bytes": 0}, RECEIVER_DOWN, 0),
])
def test_standby_verdicts(receiver, verdict, lag):
    v = standby_verdict(standby(**receiver), TH)
    assert v.verdict == verdict and v.lag_ms == pytest.approx(lag)


def test_one_finding_per_replica_with_the_right_code():
    cases = {REPLAY_PAUSED: "R105", RECEIVER_DOWN: "R104", LAGGING: "R101"}
    for receiver, code, severity in (
        ({"replay_bytes": 1, "last_replay_age_s": 0.1, "pause_state": "paused"}, "R105", "warning"),
        ({"replay_bytes": 1, "last_replay_age_s": 6, "pause_state": "paused"}, "R105", "error"),
        ({"receiver_status": None}, "R104", "error"),
        ({"replay_bytes": 1, "last_replay_age_s": 2}, "R101", "warning"),
        ({"replay_bytes": 1, "last_replay_age_s": 6}, "R101", "error"),
    ):
        report = replicas_report([standby(**receiver)], TH)
        assert [(f.code, f.severity.value) for f in report.findings] == [(code, severity)], receiver
    assert set(cases.values()) == {"R101", "R104", "R105"}


def test_primary_view_inactive_slot_is_receiver_down_and_standby_view_wins():
    primary = ReplicationState(host="p", in_recovery=False, wal_position=10, taken_at=0, standbys=[
        StandbyStat(pid=1, application_name="s1", state="streaming", replay_bytes=0, replay_lag_ms=None, slot_name="s1")],
        slots=[Slot("s1", "physical", active=True), Slot("gone", "physical", active=False, retained_bytes=10),
               Slot("cdc", "logical", active=False)])
    vs = verdicts([primary], TH)
    assert [(v.replica, v.verdict) for v in vs] == [("s1", HEALTHY), ("slot gone", RECEIVER_DOWN)]
    own = standby(replay_bytes=0, last_replay_age_s=1, slot_name="s1")
    vs = verdicts([primary, own], TH)
    assert [(v.replica, v.seen_from) for v in vs] == [("s1", "s1"), ("slot gone", "p")]
    down = ReplicationState(host="r2", in_recovery=True, wal_position=0, taken_at=0, role="replica",
                            error="cannot connect")
    assert [v.verdict for v in verdicts([down], TH)] == [RECEIVER_DOWN]


def test_a_down_replica_with_its_slot_in_perftool_yaml_is_one_verdict():
    primary = ReplicationState(host="p", in_recovery=False, wal_position=10, taken_at=0,
                               slots=[Slot("r2_slot", "physical", active=False, retained_bytes=10)])
    down = ReplicationState(host="r2", in_recovery=True, wal_position=0, taken_at=0, role="replica",
                            error="cannot connect")
    # without the link the two views cannot be told to be one replica: both are reported
    assert [v.replica for v in verdicts([primary, down], TH)] == ["r2", "slot r2_slot"]
    linked = replace(down, slot="r2_slot")
    (only,) = verdicts([primary, linked], TH)
    assert (only.replica, only.verdict, only.slot_name) == ("r2", RECEIVER_DOWN, "r2_slot")


def test_perftool_yaml_slot_key(tmp_path):
    from perftool.config import load_config
    from perftool.db.errors import InputError

    f = tmp_path / "perftool.yaml"
    f.write_text("hosts:\n  r2:\n    dsn: postgresql://h/db\n    role: replica\n    slot: r2_slot\n")
    assert load_config(f).hosts["r2"].slot == "r2_slot"
    f.write_text("hosts:\n  r2:\n    dsn: postgresql://h/db\n    slot: [1]\n")
    with pytest.raises(InputError, match="slot must be"):
        load_config(f)


def test_forecast():
    assert forecast(Slot("a", "physical")) == ""
    assert forecast(Slot("a", "physical", growth_bytes_per_s=0)) == "not growing"
    text = forecast(Slot("a", "physical", growth_bytes_per_s=1024 ** 2 / 3600, safe_wal_size=2 * 1024 ** 2))
    assert text == "grows 1.0 MiB/h; max_slot_wal_keep_size reached (slot lost) in ≈ 2.0 h"


def test_pgbouncer_rows_and_findings():
    data = {
        "pools": [{"database": "app", "user": "u", "cl_active": 5, "cl_waiting": 3, "sv_active": 5, "sv_idle": 0,
                   "sv_used": 0, "maxwait": 6, "maxwait_us": 500000, "pool_mode": "transaction"},
                  {"database": "pgbouncer", "user": "pgbouncer", "cl_active": 1}],
        "databases": [{"name": "app", "pool_size": 5}],
        "config": [{"key": "max_client_conn", "value": "10"}, {"key": "default_pool_size", "value": "20"}],
        "clients": [{}] * 9, "stats": [{"database": "app", "avg_wait_time": 100}],
    }
    bouncer = bouncer_from_rows(data)
    assert [p.database for p in bouncer.pools] == ["app"] and bouncer.pools[0].maxwait_s == 6.5
    found = {(f.code, f.severity.value) for f in bouncer_findings(bouncer, TH)}
    assert found == {("C106", "error"), ("C107", "error"), ("C108", "warning")}
    quiet = replace(bouncer.pools[0], cl_waiting=0, sv_active=1)
    assert bouncer_findings(replace(bouncer, pools=[quiet], clients=1), TH) == []


def test_nagios_status_perfdata_and_exit_codes():
    r = Report(command="replicas", data={"perfdata": [
        {"label": "s1_lag_ms", "value": 12.5, "uom": "ms", "warn": 1000.0, "crit": 5000.0, "min": 0, "max": None},
        {"label": "odd label", "value": 3, "uom": "", "warn": None, "crit": None, "min": None, "max": None}]})
    assert exit_code(r) == 0
    assert status_line(r, 0) == "PERFTOOL REPLICAS OK - no problems found | s1_lag_ms=12.5ms;1000;5000;0 'odd label'=3"
    r.findings = [Finding("R101", severity="warning", title="s1: replica lag 1,200 ms | x"),
                  Finding("R104", title="s2: down")]
    assert exit_code(r) == 2
    line = status_line(r, 2)
    assert line.startswith("PERFTOOL REPLICAS CRITICAL - s2: down (+1 more) | ")
    assert perfdata(r).count("|") == 0
    r.findings = [Finding("R101", severity="info", title="x")]
    assert exit_code(r) == 0
