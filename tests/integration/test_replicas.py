"""`perftool replicas` on a real primary and its real streaming standby (the `standby` fixture)."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import replace

import pytest

from perftool.activity.replication import (
    PRIMARY_IDLE,
    RECEIVER_DOWN,
    REPLAY_PAUSED,
    collect_replication,
    replicas_report,
    verdicts,
    with_growth,
)
from perftool.config import Thresholds
from perftool.db.connect import connect, server_info
from tests.conftest import CASCADE_NAME, STANDBY_NAME, run_sql, wait_streaming

TH = replace(Thresholds(), replica_lag_warning_ms=300.0, replica_lag_critical_ms=1500.0)


def state(dsn, host="h"):
    with connect(dsn) as conn:
        return collect_replication(conn, host=host, info=server_info(conn))


def standby_verdict_of(sb, host="cascade"):
    return verdicts([state(sb.url(), host)], TH)[0]


def cli(*args, config=None):
    cmd = [sys.executable, "-m", "perftool", *(["--config", str(config)] if config else []), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.fixture
def thresholds_file(tmp_path):
    p = tmp_path / "perftool.yaml"
    p.write_text("thresholds:\n  replica_lag_warning_ms: 300\n  replica_lag_critical_ms: 5000\n")
    return p


def test_idle_primary_is_no_lag(sandbox, standby):
    wait_streaming(sandbox, standby)
    run_sql(sandbox.url(), "SELECT txid_current()")          # one commit to replay
    deadline = time.monotonic() + 20
    while True:
        s = state(standby.url(), "standby")
        v = verdicts([s], TH)[0]
        if v.verdict == PRIMARY_IDLE:
            break
        assert time.monotonic() < deadline, v
        time.sleep(0.2)
    # the last replayed commit is older than the warning threshold, yet nothing is behind: lag 0
    assert s.receiver.last_replay_age_s * 1000 > TH.replica_lag_warning_ms
    assert v.lag_ms == 0 and v.lag_bytes == 0 and s.receiver.receiver_status == "streaming"
    assert not [f for f in replicas_report([s], TH).findings if f.code.startswith("R")]
    metrics = {(m["name"], m["labels"].get("replica")): m for m in replicas_report([s], TH).data["metrics"]}
    assert metrics[("pg_replication_lag_seconds", "standby")]["value"] == 0
    assert metrics[("pg_replication_lag_seconds", "standby")]["labels"]["verdict"] == PRIMARY_IDLE
    assert metrics[("perftool_replica_up", "standby")]["value"] == 1
    # analyze's replication section judges with the same verdicts
    r = cli("analyze", "--dsn", standby.url(), "--section", "replication", "-f", "json")
    import json

    summary = {row["area"]: row["summary"] for row in json.loads(r.stdout)["health"]}
    assert r.returncode == 0, r.stderr
    assert summary["Replication"] in ("standby, primary idle, replay lag 0 ms", "standby, healthy, replay lag 0 ms")
    # the primary's view of the same standby: caught up
    p = state(sandbox.url(), "primary")
    mine = [x for x in verdicts([p], TH) if x.replica == STANDBY_NAME]
    assert len(mine) == 1 and mine[0].lag_ms == 0 and mine[0].slot_name == STANDBY_NAME


def test_paused_replay_lag_grows_and_nagios_exits_1_then_2(sandbox, standby, sql, thresholds_file):
    wait_streaming(sandbox, standby)
    sql(sandbox.url(), "CREATE TABLE IF NOT EXISTS replicas_writes (v int)")
    wait_streaming(sandbox, standby)       # the last replayed commit is now: the lag starts from 0
    sql(standby.url(), "SELECT pg_wal_replay_pause()")
    seen = []
    try:
        deadline = time.monotonic() + 60
        while len(seen) < 2 or seen[-1][0] != 2:
            sql(sandbox.url(), "INSERT INTO replicas_writes SELECT generate_series(1, 100)")
            r = cli("replicas", "--dsn", standby.url(), "--format", "nagios", config=thresholds_file)
            lag = float(r.stdout.split("lag_ms=")[1].split("ms")[0])
            seen.append((r.returncode, lag, r.stdout.strip()))
            assert time.monotonic() < deadline, seen
            time.sleep(0.1)
        codes = [c for c, _, _ in seen]
        assert set(codes) <= {1, 2} and codes[-1] == 2 and 1 in codes, seen
        assert codes == sorted(codes), seen                           # 1 … then 2, never back
        assert all(lag > 5000 for c, lag, _ in seen if c == 2) and all(lag <= 5000 for c, lag, _ in seen if c == 1)
        assert any(lag > 300 for c, lag, _ in seen if c == 1)        # past the warning, before critical
        assert seen[-1][2].startswith("PERFTOOL REPLICAS CRITICAL") and "replay paused" in seen[-1][2]
        # seen from the primary, the paused standby is behind in bytes
        p = [v for v in verdicts([state(sandbox.url())], TH) if v.replica == STANDBY_NAME]
        assert p and p[0].lag_bytes > 0
    finally:
        sql(standby.url(), "SELECT pg_wal_replay_resume()")
        wait_streaming(sandbox, standby)
    s = state(standby.url())
    assert verdicts([s], TH)[0].verdict != REPLAY_PAUSED


def test_stopped_standby_is_receiver_down(sandbox, standby, cascade, thresholds_file, tmp_path):
    wait_streaming(sandbox, standby)
    wait_streaming(standby, cascade, name=CASCADE_NAME)
    standby.stop()
    try:
        p = state(sandbox.url(), "primary")
        down = [v for v in verdicts([p], TH) if v.slot_name == STANDBY_NAME]
        assert [v.verdict for v in down] == [RECEIVER_DOWN]
        # the cascaded standby, whose upstream is gone, says so itself
        deadline = time.monotonic() + 20
        while (leaf := standby_verdict_of(cascade)).verdict != RECEIVER_DOWN:
            assert time.monotonic() < deadline, leaf
            time.sleep(0.2)
        assert leaf.seen_from == "cascade"
        # the fleet: the stopped host is receiver down, the others are still reported
        cfg = tmp_path / "fleet.yaml"
        cfg.write_text("thresholds:\n  replica_lag_warning_ms: 300\n  replica_lag_critical_ms: 5000\n"
                       f"hosts:\n  primary: {{dsn: '{sandbox.url()}', role: primary}}\n"
                       f"  replica1: {{dsn: 'postgresql://postgres@127.0.0.1:{standby.port}/postgres', role: replica}}\n")
        fleet = cli("replicas", "--all-hosts", "--format", "nagios", config=cfg)
        assert fleet.returncode == 2 and "ERROR R104 replica1: WAL receiver down (host does not answer" in fleet.stdout
        # with its slot named in perftool.yaml the down replica is one verdict, not two (host + slot)
        linked = tmp_path / "linked.yaml"
        linked.write_text(cfg.read_text().replace("role: replica}", f"role: replica, slot: {STANDBY_NAME}}}"))
        for config, objects in ((cfg, ["replica1", f"slot {STANDBY_NAME}"]), (linked, ["replica1"])):
            doc = __import__("json").loads(cli("replicas", "--all-hosts", "--format", "json", config=config).stdout)
            assert sorted(f["object"] for f in doc["findings"] if f["code"] == "R104") == objects
        r = cli("replicas", "--dsn", sandbox.url(), "--format", "nagios", config=thresholds_file)
        assert r.returncode == 2 and "receiver down" in r.stdout, r
        j = cli("replicas", "--dsn", sandbox.url(), "--format", "json", config=thresholds_file)
        import json

        out = json.loads(j.stdout)
        r104 = [f for f in out["findings"] if f["code"] == "R104"]
        assert [f["object"] for f in r104] == [f"slot {STANDBY_NAME}"] and r104[0]["severity"] == "error"
    finally:
        standby.start()
        wait_streaming(sandbox, standby)


def test_fleet_with_a_cascade_one_verdict_per_replica(sandbox, standby, cascade, tmp_path):
    wait_streaming(sandbox, standby)
    wait_streaming(standby, cascade, name=CASCADE_NAME)
    # the standby sees its cascaded standby in its own pg_stat_replication
    mid = state(standby.url(), "replica1")
    assert [s.application_name for s in mid.standbys] == [CASCADE_NAME] and mid.standbys[0].state == "streaming"
    assert [v.replica for v in verdicts([mid], TH)] == ["replica1", CASCADE_NAME]
    leaf = state(cascade.url(), "replica2")
    assert leaf.receiver.receiver_status == "streaming" and leaf.receiver.sender_port == standby.port
    cfg = tmp_path / "perftool.yaml"
    cfg.write_text(f"hosts:\n  primary: {{dsn: '{sandbox.url()}', role: primary}}\n"
                   f"  replica1: {{dsn: '{standby.url()}', role: replica}}\n"
                   f"  replica2: {{dsn: '{cascade.url()}', role: replica}}\n")
    r = cli("replicas", "--all-hosts", "--format", "json", config=cfg)
    assert r.returncode == 0, r.stderr
    import json

    out = json.loads(r.stdout)
    mine = [v for v in out["verdicts"] if v["replica"] in ("replica1", "replica2", STANDBY_NAME, CASCADE_NAME)]
    assert [(v["replica"], v["seen_from"]) for v in mine] == [("replica1", "replica1"), ("replica2", "replica2")]
    assert {h["host"]: h["role"] for h in out["hosts"]} == {"primary": "primary", "replica1": "standby",
                                                            "replica2": "standby"}


def test_inactive_slot_retaining_wal_is_flagged_with_a_forecast(sandbox, sql):
    slot = "perftool_test_inactive"
    sql(sandbox.url(), "SELECT pg_create_physical_replication_slot(%s, true)", (slot,))
    try:
        sql(sandbox.url(), "CREATE TABLE IF NOT EXISTS slot_writes (v text)")
        first = state(sandbox.url())
        sql(sandbox.url(), "INSERT INTO slot_writes SELECT repeat('x', 100) FROM generate_series(1, 20000)")
        time.sleep(0.5)
        second = with_growth(first, state(sandbox.url()))
        mine = next(s for s in second.slots if s.slot_name == slot)
        assert not mine.active and mine.retained_bytes > 1_000_000 and mine.growth_bytes_per_s > 0
        th = replace(TH, slot_retained_warning_bytes=1_000_000)
        report = replicas_report([second], th)
        r102 = [f for f in report.findings if f.code == "R102" and f.object == slot]
        assert len(r102) == 1 and "grows" in r102[0].title and "MiB/h" in r102[0].title
        assert r102[0].fix.startswith(f"SELECT pg_drop_replication_slot('{slot}')")
        # one sample: flagged, but no forecast
        single = [f for f in replicas_report([state(sandbox.url())], th).findings if f.object == slot]
        assert single and "--interval" in single[0].detail
        # a slot under the threshold is not flagged
        assert not [f for f in replicas_report([second], TH).findings if f.code == "R102" and f.object == slot]
    finally:
        sql(sandbox.url(), "SELECT pg_drop_replication_slot(%s)", (slot,))
