"""Health checks on a real server: one mixed fixture schema with, per check, the scenario that must
fire and near-misses that must not; expected findings per check over the whole schema, then one
test per check for its details (fix SQL, evidence)."""

import time

import psycopg
import pytest

from perftool.config import Thresholds
from perftool.db.errors import UsageError
from perftool.health.checks import all_checks, run_health_checks

# small bloat floor so a test-sized table counts; every other threshold is the default
THRESHOLDS = Thresholds(bloat_min_bytes=256 * 1024, unused_index_min_stats_days=0)  # I104: fresh counters

SCHEMA = """
-- I101: see CONCURRENTLY below (a unique build that fails leaves inv_v_uniq INVALID)
CREATE TABLE inv (id int PRIMARY KEY, v int);
INSERT INTO inv SELECT g, g % 10 FROM generate_series(1, 100) g;
CREATE INDEX inv_v_ok ON inv (v);

-- I102 duplicates
CREATE TABLE dup (id int PRIMARY KEY, email text, status text, a int, b int);
CREATE UNIQUE INDEX dup_email_key ON dup (email);
CREATE INDEX dup_email_idx ON dup (email);                              -- fires: same as the unique index
CREATE INDEX dup_id_idx ON dup (id);                                    -- fires: same as the primary key
CREATE INDEX dup_lower_a ON dup (lower(email));
CREATE INDEX dup_lower_b ON dup (lower(email));                         -- fires: same expression
CREATE INDEX dup_upper ON dup (upper(email));                           -- near miss: another expression
CREATE INDEX dup_p1 ON dup (status) WHERE a > 1;
CREATE INDEX dup_p2 ON dup (status) WHERE a > 2;                        -- near miss: another predicate
CREATE INDEX dup_b_hash ON dup USING hash (b);
CREATE INDEX dup_b ON dup (b);                                          -- near miss: another method
CREATE INDEX dup_a_desc ON dup (a DESC);
CREATE INDEX dup_a_pattern ON dup (email text_pattern_ops);             -- near miss: another opclass

-- I103 overlapping
CREATE TABLE ovl (id int PRIMARY KEY, a int, b int, c int);
CREATE INDEX ovl_a ON ovl (a);                                          -- fires: prefix of ovl_a_b
CREATE INDEX ovl_a_b ON ovl (a, b);
CREATE UNIQUE INDEX ovl_b_u ON ovl (b);                                 -- near miss: the shorter is unique
CREATE INDEX ovl_b_c ON ovl (b, c);
CREATE INDEX ovl_c_p ON ovl (c) WHERE a > 0;                            -- near miss: predicate differs
CREATE INDEX ovl_c_a ON ovl (c, a);
CREATE INDEX ovl_id_inc ON ovl (id) INCLUDE (c);                        -- near miss: pk is unique

-- I104 unused (indexes above 1 MB need rows) and I105 foreign keys
CREATE TABLE par (id int PRIMARY KEY);
INSERT INTO par SELECT g FROM generate_series(1, 100) g;
CREATE TABLE unu (id int PRIMARY KEY, a int, b int, parent_id int REFERENCES par (id), code text);
INSERT INTO unu SELECT g, 60001 - g, g, 1 + g % 100, 'c' || g FROM generate_series(1, 60000) g;
CREATE INDEX unu_a ON unu (a);                                          -- fires: never scanned
CREATE INDEX unu_b ON unu (b);                                          -- near miss: scanned 60 times
CREATE UNIQUE INDEX unu_code ON unu (code);                             -- near miss: unique
CREATE INDEX unu_parent ON unu (parent_id);                             -- near miss: the FK's only index
CREATE TABLE fk_child (id int PRIMARY KEY, par_id int REFERENCES par (id), other int);      -- fires
CREATE TABLE fk_lead (id int PRIMARY KEY, par_id int REFERENCES par (id), at int);
CREATE INDEX fk_lead_idx ON fk_lead (par_id, at);                       -- near miss: leading column
CREATE TABLE fk_wrong (id int PRIMARY KEY, par_id int REFERENCES par (id), at int);
CREATE INDEX fk_wrong_idx ON fk_wrong (at, par_id);                     -- fires: not leading
CREATE TABLE fk_multi (a int, b int, PRIMARY KEY (a, b));
CREATE TABLE fk_multi_child (id int PRIMARY KEY, b int, a int, FOREIGN KEY (a, b) REFERENCES fk_multi);
CREATE INDEX fk_multi_child_idx ON fk_multi_child (b, a);               -- near miss: any order
CREATE TABLE fk_partial (id int PRIMARY KEY, par_id int REFERENCES par (id));
CREATE INDEX fk_partial_idx ON fk_partial (par_id) WHERE par_id > 0;    -- fires: a partial index does not serve it

-- I106 low cardinality (tables of >= 10,000 rows)
CREATE TABLE card (id int PRIMARY KEY, flag boolean, kind int, score int, grp int);
INSERT INTO card SELECT g, g % 2 = 0, g % 3, g, g % 4 FROM generate_series(1, 10000) g;
CREATE INDEX card_flag ON card (flag);                                  -- fires
CREATE INDEX card_kind ON card (kind);                                  -- fires
CREATE INDEX card_grp_score ON card (grp, score);                       -- near miss: composite
CREATE INDEX card_flag_partial ON card (flag) WHERE flag;               -- near miss: partial
CREATE INDEX card_score ON card (score);                                -- near miss: distinct values

-- I107 arrays
CREATE TABLE arr (id int PRIMARY KEY, tags text[]);
INSERT INTO arr SELECT g, ARRAY['t' || g % 7] FROM generate_series(1, 100) g;
CREATE INDEX arr_tags ON arr (tags);                                    -- fires
CREATE INDEX arr_tags_gin ON arr USING gin (tags);                      -- near miss: gin

-- I108 mostly NULL
CREATE TABLE nul (id int PRIMARY KEY, ref int, half int);
INSERT INTO nul SELECT g, CASE WHEN g % 5 = 0 THEN g END, CASE WHEN g % 10 < 3 THEN NULL ELSE g END
FROM generate_series(1, 10000) g;
CREATE INDEX nul_ref ON nul (ref);                                      -- fires: 80 % NULL
CREATE INDEX nul_ref_nn ON nul (ref) WHERE ref IS NOT NULL;             -- near miss: partial
CREATE INDEX nul_half ON nul (half);                                    -- near miss: 30 % NULL

-- I109 / T101 bloat: 80 % of the rows deleted, vacuumed (space reusable, files unchanged)
CREATE TABLE bloat (id int PRIMARY KEY, pad text);
INSERT INTO bloat SELECT g, repeat('x', 40) FROM generate_series(1, 60000) g;
DELETE FROM bloat WHERE id % 5 <> 0;
CREATE TABLE fresh (id int PRIMARY KEY, pad text);                      -- near miss: not bloated
INSERT INTO fresh SELECT g, repeat('x', 40) FROM generate_series(1, 60000) g;

-- T102 primary keys
CREATE TABLE nopk (a int, b int);                                       -- fires
CREATE TABLE nopk_u (a int NOT NULL UNIQUE, b int);                     -- fires, with a promotable index
CREATE TABLE logs (at date NOT NULL, msg text) PARTITION BY RANGE (at); -- fires once (not per partition)
CREATE TABLE logs_2024 PARTITION OF logs FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE ev (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);   -- near miss
CREATE TABLE ev_2024 PARTITION OF ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');

-- S101 sequences
CREATE SEQUENCE seq_hot AS smallint;           SELECT setval('seq_hot', 30000);                -- error, 92 %
CREATE SEQUENCE seq_warm AS integer;           SELECT setval('seq_warm', 1717986918);         -- warning, 80 %
CREATE SEQUENCE seq_cool AS integer;           SELECT setval('seq_cool', 1000);                -- near miss
CREATE SEQUENCE seq_cycle AS smallint CYCLE;   SELECT setval('seq_cycle', 32000);              -- near miss: cycles
CREATE TABLE narrow (id int PRIMARY KEY);
CREATE SEQUENCE narrow_seq AS bigint OWNED BY narrow.id; SELECT setval('narrow_seq', 2000000000); -- error: int column
CREATE TABLE wide (id bigint PRIMARY KEY);
CREATE SEQUENCE wide_seq AS bigint OWNED BY wide.id;     SELECT setval('wide_seq', 2000000000);   -- near miss
"""

EXPECTED = {
    "I101": {"public.inv_v_uniq"},
    "I102": {"public.dup_email_idx", "public.dup_id_idx", "public.dup_lower_b"},
    "I103": {"public.ovl_a"},
    "I104": {"public.unu_a"},
    "I105": {"public.fk_child.fk_child_par_id_fkey", "public.fk_wrong.fk_wrong_par_id_fkey",
             "public.fk_partial.fk_partial_par_id_fkey"},
    "I106": {"public.card_flag", "public.card_kind"},
    "I107": {"public.arr_tags"},
    "I108": {"public.nul_ref"},
    "I109": {"public.bloat_pkey"},
    "T101": {"public.bloat"},
    "T102": {"public.nopk", "public.nopk_u", "public.logs"},
    "S101": {"public.seq_hot", "public.seq_warm", "public.narrow_seq"},
}


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
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SCHEMA)
        try:
            conn.execute("CREATE UNIQUE INDEX CONCURRENTLY inv_v_uniq ON inv (v)")
        except psycopg.errors.UniqueViolation:
            pass  # the point: a failed concurrent build leaves an INVALID index behind
        conn.execute("VACUUM ANALYZE")
    with psycopg.connect(dsn, autocommit=True) as conn:  # 60 scans of unu_b, in a backend that then exits
        conn.execute("SET enable_seqscan = off")
        for i in range(60):
            conn.execute("SELECT id FROM unu WHERE b = %s", (i + 1,)).fetchall()
    assert _wait_for_scans(dsn, "unu_b", 60) >= 60


@pytest.fixture(scope="module")
def mixed(sandbox_dsn_factory):
    dsn = sandbox_dsn_factory("t_checks_mixed")
    build_mixed(dsn)
    from perftool.db.connect import connect

    with connect(dsn) as conn:
        findings = run_health_checks(conn, thresholds=THRESHOLDS)
    return {"dsn": dsn, "findings": findings}


def by_code(findings):
    out = {}
    for f in findings:
        out.setdefault(f.code, {})[f.object] = f
    return out


def test_every_health_check_is_exercised():
    health = {c.code for c in all_checks() if not c.needs_index_set}
    assert health == set(EXPECTED)


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
