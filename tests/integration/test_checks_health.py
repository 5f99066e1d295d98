"""Health checks on a real server: rule tests as data. Each file in cases/ is one scenario — setup
SQL with the objects that must fire and the near misses that must not (commented), and the expected
findings per code (object → severity); all cases are built into one mixed schema and checked by
one parametrized test (`test_case`). The tests below it assert what a case cannot say: fix SQL,
evidence, details."""

import time
from pathlib import Path

import psycopg
import pytest
import yaml

from perftool.catalog.schema import collect_catalog
from perftool.config import Thresholds
from perftool.db.connect import connect
from perftool.db.errors import UsageError
from perftool.health.checks import CheckContext, all_checks, analyze_catalog, run_health_checks, select_checks
from perftool.health.index_sets import IndexSet, load_index_set_text

# small bloat floor so a test-sized table counts; every other threshold is the default
THRESHOLDS = Thresholds(bloat_min_bytes=256 * 1024, unused_index_min_stats_days=0)  # I104: fresh counters

CASES = {p.stem: yaml.safe_load(p.read_text(encoding="utf-8"))
         for p in sorted((Path(__file__).parent / "cases").glob("*.yaml"))}
CASE_KEYS = {"setup", "failing", "scans", "index_set", "severities", "expect"}

# every finding per health check on the mixed schema (I104: its warnings; see found_per_code)
EXPECTED = {code: set(objects) for case in CASES.values() if "index_set" not in case
            for code, objects in case["expect"].items()}


def _wait_for_scans(dsn, index, at_least, seconds=15.0):
    deadline = time.monotonic() + seconds
    with psycopg.connect(dsn, autocommit=True) as conn:
        while True:
            conn.execute("SELECT pg_stat_clear_snapshot()")
            (n,) = conn.execute("SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = %s",
                                (index,)).fetchone()
            if n >= at_least or time.monotonic() > deadline:
                return n
            time.sleep(0.1)


def build_mixed(dsn):
    """Every case's setup in one database, then its statements that must fail, VACUUM ANALYZE, and
    its index scans (each in a backend that then exits, so the counters are flushed)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for case in CASES.values():
            conn.execute(case["setup"])
        for name, case in CASES.items():
            for statement in case.get("failing", []):
                with pytest.raises(psycopg.Error):   # e.g. a failed concurrent build leaves an INVALID index
                    conn.execute(statement)
                    pytest.fail(f"{name}: {statement} was expected to fail")
        conn.execute("VACUUM ANALYZE")
    for case in CASES.values():
        for scan in case.get("scans", []):
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("SET enable_seqscan = off")
                for _ in range(scan["times"]):
                    conn.execute(scan["query"]).fetchall()
            assert _wait_for_scans(dsn, scan["index"], scan["times"]) >= scan["times"]


@pytest.fixture(scope="module")
def mixed(sandbox_dsn_factory):
    """The health checks' findings on the mixed schema, and the drift checks' against the cases'
    index sets (merged)."""
    dsn = sandbox_dsn_factory("t_checks_mixed")
    build_mixed(dsn)
    index_set = IndexSet()
    for name, case in CASES.items():
        if "index_set" in case:
            index_set.merge(load_index_set_text(case["index_set"], f"cases/{name}.yaml"))
    with connect(dsn) as conn:
        findings = run_health_checks(conn, thresholds=THRESHOLDS)
        catalog = collect_catalog(conn, definitions=True)
    drift = analyze_catalog(CheckContext(catalog, thresholds=THRESHOLDS, index_set=index_set),
                            select_checks(["I2*"], index_set=True))
    return {"dsn": dsn, "findings": findings, "drift": drift}


def by_code(findings):
    out = {}
    for f in findings:
        out.setdefault(f.code, {})[f.object] = f
    return out


def test_every_check_has_a_case():
    assert {c.code for c in all_checks() if not c.needs_index_set} == set(EXPECTED)
    assert {c.code for c in all_checks()} == {code for case in CASES.values() for code in case["expect"]}
    for name, case in CASES.items():
        assert set(case) <= CASE_KEYS, f"cases/{name}.yaml: unknown keys {set(case) - CASE_KEYS}"
        assert case["setup"].strip() and case["expect"], name


@pytest.mark.parametrize("name", sorted(CASES))
def test_case(mixed, name):
    """cases/<name>.yaml: exactly its expected findings, at their severities, for each of its codes."""
    case = CASES[name]
    severities = case.get("severities")
    for code, expected in case["expect"].items():
        found = {f.object: f.severity.value for f in mixed["findings"] + mixed["drift"]
                 if f.code == code and (severities is None or f.severity.value in severities)}
        assert found == expected, f"cases/{name}.yaml, {code}"


def found_per_code(findings):
    """{code: objects}, without I104's info findings: I104 reports every unused index, those under
    1 MB as info (tested in test_i104_unused_but_not_used_unique_or_fk), left out of EXPECTED."""
    return {code: set(objs) for code, objs in by_code(
        [f for f in findings if not (f.code == "I104" and f.severity == "info")]).items()}


def test_expected_findings_per_check_on_the_mixed_schema(mixed):
    assert found_per_code(mixed["findings"]) == EXPECTED


def test_findings_are_sorted_worst_first(mixed):
    ranks = [f.severity.rank for f in mixed["findings"]]
    assert ranks == sorted(ranks, reverse=True)


def test_i101_invalid_index(mixed):
    f = by_code(mixed["findings"])["I101"]["public.inv_v_uniq"]
    assert f.severity.value == "error"
    assert f.fix.splitlines() == ['DROP INDEX CONCURRENTLY IF EXISTS "public"."inv_v_uniq";',
                                  "CREATE UNIQUE INDEX CONCURRENTLY inv_v_uniq ON public.inv USING btree (v);"]
    assert f.evidence["table"] == "public.inv"


def test_i102_duplicates_keep_the_constraint_and_compare_expressions(mixed):
    found = by_code(mixed["findings"])["I102"]
    assert found["public.dup_email_idx"].evidence["duplicate_of"] == "public.dup_email_key"
    assert found["public.dup_id_idx"].evidence["duplicate_of"] == "public.dup_pkey"
    assert found["public.dup_lower_b"].evidence["duplicate_of"] == "public.dup_lower_a"
    assert found["public.dup_email_idx"].fix == 'DROP INDEX CONCURRENTLY IF EXISTS "public"."dup_email_idx";'
    assert "size_bytes" in found["public.dup_email_idx"].evidence
    # near misses: another expression, predicate, method, operator class
    assert not {"public.dup_upper", "public.dup_p1", "public.dup_p2", "public.dup_b", "public.dup_b_hash",
                "public.dup_a_pattern", "public.dup_email_key", "public.dup_lower_a"} & set(found)


def test_i103_prefix_but_not_unique_or_other_predicate(mixed):
    found = by_code(mixed["findings"])["I103"]
    assert found["public.ovl_a"].evidence["covered_by"] == "public.ovl_a_b"
    assert not {"public.ovl_b_u", "public.ovl_c_p", "public.ovl_pkey", "public.ovl_id_inc"} & set(found)


def test_i104_unused_but_not_used_unique_or_fk(mixed):
    f = by_code(mixed["findings"])["I104"]["public.unu_a"]
    assert f.evidence["size_bytes"] > 1024 * 1024
    assert list(f.evidence["idx_scan"].values()) == [0]
    assert f.fix == 'DROP INDEX CONCURRENTLY IF EXISTS "public"."unu_a";'
    assert f.severity == "warning"
    found = by_code(mixed["findings"])["I104"]
    # small unused indexes are reported too, as info (DOMAIN.md: any size; warning from 1 MB)
    small = found["public.card_kind"]
    assert small.severity == "info" and small.evidence["size_bytes"] < 1024 * 1024
    assert {f.severity.value for o, f in found.items() if o != "public.unu_a"} == {"info"}
    # never: scanned 60 times, unique, the FK's only index
    assert not {"public.unu_b", "public.unu_code", "public.unu_parent"} & set(found)


def test_i104_silent_until_the_statistics_window_is_long_enough(mixed):
    """The sandbox's counters are minutes old: with the default window (7 days) I104 says nothing
    and notes why, once; a window shorter than the counters' age reports them."""
    from perftool.db.connect import connect

    with connect(mixed["dsn"]) as conn:
        notes: list[str] = []
        silent = run_health_checks(conn, only=["I104"], notes=notes)
        assert Thresholds().unused_index_min_stats_days == 7
        assert silent == [] and len(notes) == 1
        assert "I104 (unused index) silent" in notes[0] and "7 days" in notes[0]
        notes = []
        loud = run_health_checks(conn, only=["I104"], thresholds=Thresholds(unused_index_min_stats_days=1 / 86400),
                                 notes=notes)
    assert "public.unu_a" in {f.object for f in loud} and notes == []


def test_i104_several_hosts_unused_only_if_unused_everywhere(mixed, sandbox_dsn_factory):
    """A second database with the same schema plays the replica: unu_a is scanned there."""
    replica = sandbox_dsn_factory("t_checks_replica")
    with psycopg.connect(replica, autocommit=True) as conn:
        conn.execute("CREATE TABLE unu (id int PRIMARY KEY, a int)")
        conn.execute("CREATE INDEX unu_a ON unu (a)")
        conn.execute("SET enable_seqscan = off")
        for i in range(51):
            conn.execute("SELECT id FROM unu WHERE a = %s", (i,)).fetchall()
    assert _wait_for_scans(replica, "unu_a", 51) >= 51
    from perftool.db.connect import connect

    with connect(mixed["dsn"]) as conn:
        alone = run_health_checks(conn, only=["I104"], thresholds=THRESHOLDS, table="unu")
        both = run_health_checks(conn, only=["I104"], thresholds=THRESHOLDS, extra_hosts={"replica1": replica},
                                 host_name="primary", table="unu")
        quiet = run_health_checks(conn, only=["I104"], thresholds=THRESHOLDS, extra_hosts=[replica],
                                  table="unu")
    assert [f.object for f in alone] == ["public.unu_a"]
    assert both == [] and quiet == []
    # a replica that cannot be reached stops the check: "unused" must hold on every host
    from perftool.db.errors import ConnectionFailed

    with connect(mixed["dsn"]) as conn, pytest.raises(ConnectionFailed, match="host gone"):
        run_health_checks(conn, only=["I104"], extra_hosts={"gone": "postgresql://127.0.0.1:1/x?connect_timeout=2"})


def test_i105_foreign_keys(mixed):
    found = by_code(mixed["findings"])["I105"]
    f = found["public.fk_child.fk_child_par_id_fkey"]
    assert f.fix == 'CREATE INDEX CONCURRENTLY "fk_child_par_id_idx" ON "public"."fk_child" USING btree ("par_id");'
    assert f.evidence["references"] == "public.par" and f.evidence["columns"] == ["par_id"]


def test_i106_low_cardinality_single_column_only(mixed):
    found = by_code(mixed["findings"])["I106"]
    assert found["public.card_flag"].evidence["type"] == "boolean"
    assert found["public.card_kind"].evidence["distinct"] == 3
    assert found["public.card_kind"].fix.endswith('DROP INDEX CONCURRENTLY IF EXISTS "public"."card_kind";')


def test_i107_array_btree(mixed):
    f = by_code(mixed["findings"])["I107"]["public.arr_tags"]
    assert 'USING gin ("tags")' in f.fix and f.evidence["types"] == ["text[]"]


def test_i108_mostly_null(mixed):
    f = by_code(mixed["findings"])["I108"]["public.nul_ref"]
    assert 0.75 < f.evidence["null_frac"] < 0.85
    assert f.fix.splitlines()[0] == ('CREATE INDEX CONCURRENTLY "nul_ref_notnull_idx" ON "public"."nul" '
                                     'USING btree ("ref") WHERE ref IS NOT NULL;')


def test_i109_and_t101_bloat(mixed):
    codes = by_code(mixed["findings"])
    ix, tbl = codes["I109"]["public.bloat_pkey"], codes["T101"]["public.bloat"]
    assert ix.severity.value == "error" and ix.evidence["bloat_ratio"] > 0.5
    assert ix.fix == 'REINDEX INDEX CONCURRENTLY "public"."bloat_pkey";'
    assert tbl.severity.value == "error" and tbl.evidence["bloat_ratio"] > 0.5
    assert tbl.fix.endswith('VACUUM (FULL, ANALYZE) "public"."bloat";')


def test_t102_primary_keys(mixed):
    found = by_code(mixed["findings"])["T102"]
    assert 'ADD CONSTRAINT "nopk_u_pkey" PRIMARY KEY USING INDEX "nopk_u_a_key"' in found["public.nopk_u"].fix
    assert "GENERATED ALWAYS AS IDENTITY PRIMARY KEY" in found["public.nopk"].fix
    assert "public.logs_2024" not in found and "public.ev" not in found


def test_s101_sequences(mixed):
    found = by_code(mixed["findings"])["S101"]
    assert found["public.seq_hot"].severity.value == "error"
    assert found["public.seq_warm"].severity.value == "warning"
    narrow = found["public.narrow_seq"]
    assert narrow.severity.value == "error" and narrow.evidence["limited_by"] == "column"
    assert narrow.fix.splitlines()[1] == 'ALTER TABLE "public"."narrow" ALTER COLUMN "id" TYPE bigint;'


def test_only_exclude_schema_and_table(mixed):
    from perftool.db.connect import connect

    with connect(mixed["dsn"]) as conn:
        dup = run_health_checks(conn, table="dup", thresholds=THRESHOLDS)
        only = run_health_checks(conn, only=["I10*"], exclude=["I104", "I105,I106"], thresholds=THRESHOLDS)
        with pytest.raises(UsageError, match="schema 'nope' does not exist"):  # a typo is no empty pass
            run_health_checks(conn, schema="nope")
    assert {f.object for f in dup if f.code != "I104"} == EXPECTED["I102"]  # (its small copies: I104 info)
    assert {f.code for f in only} == {"I101", "I102", "I103", "I107", "I108", "I109"}


def test_analyze_reports_the_health_checks(mixed):
    from perftool.analyze.options import AnalyzeOptions
    from perftool.analyze.run import analyze_report

    report = analyze_report(mixed["dsn"], AnalyzeOptions(sections=["indexes"]))
    rows = {r["code"]: r["count"] for r in report.section("index_health").rows}
    assert rows["I102"] == 3 and rows["T102"] == 3
