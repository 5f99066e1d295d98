"""Each P1xx tip fires on a sandbox scenario built to trigger it and stays silent on a near miss;
index tips are proven with HypoPG (a hypothetical index turns the Seq Scan into an index scan)."""

from __future__ import annotations

import pytest

from perftool.db.connect import connect, use_workload_search_path
from perftool.plans.explain import ExplainRequest, explain_report
from perftool.plans.run import ExplainOptions, explain_statement
from perftool.plans.tips import plan_tips
from perftool.workload.sources import WorkloadStatement
from tests.conftest import run_sql

SETUP = """
CREATE TABLE big (id int PRIMARY KEY, grp int, val int, note text) WITH (autovacuum_enabled = off);
INSERT INTO big SELECT g, g % 100, (g * 7919) % 100000, md5(g::text) FROM generate_series(1, 100000) g;
CREATE TABLE corr (a int, b int) WITH (autovacuum_enabled = off);
INSERT INTO corr SELECT g % 100, g % 100 FROM generate_series(1, 100000) g;
CREATE TABLE small (id int, ref int) WITH (autovacuum_enabled = off);
INSERT INTO small SELECT g, g * 3 FROM generate_series(1, 2000) g;
CREATE TABLE few (id int, ref int) WITH (autovacuum_enabled = off);
INSERT INTO few SELECT g, g * 3 FROM generate_series(1, 500) g;
CREATE TABLE ios (id int, v int) WITH (autovacuum_enabled = off);
CREATE INDEX ios_id_v ON ios (id, v);
INSERT INTO ios SELECT g, g FROM generate_series(1, 20000) g;
ANALYZE big, corr, small, few, ios;
"""


@pytest.fixture(scope="module")
def scenario(sandbox):
    """One database for the tip scenarios (serial plans: parallelism has its own database)."""
    name = "t_explain_tips"
    dsn = sandbox.create_database(name)
    run_sql(dsn, SETUP)
    run_sql(dsn, f"ALTER DATABASE {name} SET max_parallel_workers_per_gather = 0")
    yield dsn
    sandbox.drop_database(name)


@pytest.fixture(scope="module")
def settings_db(sandbox, scenario):
    """A database factory: the scenario's tables, with database-level settings."""
    made = []

    def make(suffix: str, settings: dict[str, str], setup: str = SETUP) -> str:
        name = f"t_explain_tips_{suffix}"
        dsn = sandbox.create_database(name)
        run_sql(dsn, setup)
        for k, v in settings.items():
            run_sql(dsn, f"ALTER DATABASE {name} SET {k} = '{v}'")
        made.append(name)
        return dsn

    yield make
    for name in made:
        sandbox.drop_database(name)


def tips(dsn: str, text: str, **options) -> list:
    with connect(dsn) as conn:
        use_workload_search_path(conn)
        return plan_tips(explain_statement(conn, text, ExplainOptions(**options)).plan)


def codes(found) -> set[str]:
    return {f.code for f in found}


def test_p101_share_of_time(scenario):
    found = [f for f in tips(scenario, "SELECT count(*) FROM big WHERE val % 7 = 3") if f.code == "P101"]
    scan = next(f for f in found if "Seq Scan" in f.title)
    assert scan.severity.value in ("warning", "error") and scan.evidence["share"] >= 0.40
    assert "P101" not in codes(tips(scenario, "SELECT id FROM big WHERE id = 5"))     # under 1 ms


def test_p102_estimate_off_on_correlated_columns(scenario):
    found = [f for f in tips(scenario, "SELECT * FROM corr WHERE a = 1 AND b = 1") if f.code == "P102"]
    assert found and found[0].evidence["factor"] >= 50 and found[0].evidence["direction"] == "under"
    assert found[0].evidence["columns"] == ["a", "b"]
    assert "CREATE STATISTICS ON \"a\", \"b\"" in found[0].fix
    assert "P102" not in codes(tips(scenario, "SELECT * FROM corr WHERE a = 1"))


def test_p103_filter_on_seq_scan_is_proven_with_a_hypothetical_index(scenario):
    report = explain_report(scenario, ExplainRequest(statements=[WorkloadStatement(text="SELECT * FROM big WHERE grp = 3")]),
                            ExplainOptions())
    tip = next(f for f in report.findings if f.code == "P103")
    assert tip.severity.value == "warning" and tip.evidence["columns"] == ["grp"]
    proof = tip.evidence["proof"]
    assert tip.evidence["verified"] and proof["after_cost"] < proof["before_cost"]
    assert any(c["before"].startswith("Seq Scan on public.big")
               and ("Index Scan" in c["after"] or "Bitmap Heap Scan" in c["after"]) for c in proof["changes"])
    assert "grp" in tip.fix and "CREATE INDEX" in tip.fix
    assert report.section("whatif").rows[0]["source"] == "advisor"
    assert "P103" not in codes(tips(scenario, "SELECT * FROM big WHERE grp < 60"))   # removes 40 %


def test_with_index_turns_the_seq_scan_into_an_index_scan(scenario):
    report = explain_report(scenario, ExplainRequest(
        statements=[WorkloadStatement(text="SELECT * FROM big WHERE val = 42")],
        with_indexes=["CREATE INDEX ON big (val)"], prove=True), ExplainOptions())
    proof = next(p for p in report.data["statements"][0]["proofs"] if p["source"] == "--with-index")
    assert proof["after_cost"] < proof["before_cost"]
    assert [(c["before"].split(" on ")[0], c["after"].split(" using ")[0]) for c in proof["changes"]] == \
        [("Seq Scan", "Index Scan")]
    with connect(scenario) as conn:       # the hypothetical index did not outlive the proof
        assert conn.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'big'").fetchone()[0] == 1


def test_p104_sort_on_disk_and_the_work_mem_that_fits(scenario):
    found = [f for f in tips(scenario, "SELECT * FROM big ORDER BY note") if f.code == "P104"]
    assert found and found[0].evidence["kind"] == "sort" and found[0].evidence["work_mem_fit_kb"] >= 8192
    assert "SET LOCAL work_mem" in found[0].fix
    assert "P104" not in codes(tips(scenario, "SELECT * FROM big ORDER BY note LIMIT 10"))   # top-N in memory


def test_p105_lossy_bitmap(settings_db):
    wide = ("CREATE TABLE wide (id int, pad text) WITH (autovacuum_enabled = off);"
            "INSERT INTO wide SELECT g, repeat('x', 200) FROM generate_series(1, 60000) g;"  # ~2000 pages
            "CREATE INDEX wide_id ON wide (id); ANALYZE wide;")
    dsn = settings_db("lossy", {"work_mem": "64kB", "enable_seqscan": "off", "enable_indexscan": "off",
                                "max_parallel_workers_per_gather": "0"}, setup=wide)
    found = [f for f in tips(dsn, "SELECT count(*) FROM wide WHERE id > 100") if f.code == "P105"]
    assert found and found[0].evidence["lossy_blocks"] > 0 and found[0].evidence["removed_by_recheck"] >= 0
    assert "P105" not in codes(tips(dsn, "SELECT count(*) FROM wide WHERE id BETWEEN 1000 AND 1100"))


def test_p106_heap_fetches_until_vacuum(settings_db):
    dsn = settings_db("ios", {"enable_seqscan": "off", "enable_bitmapscan": "off",
                              "max_parallel_workers_per_gather": "0"})
    query = "SELECT id, v FROM ios WHERE id < 5000"
    found = [f for f in tips(dsn, query) if f.code == "P106"]
    assert found and found[0].evidence["heap_fetches"] > 0 and "VACUUM (ANALYZE)" in found[0].fix
    run_sql(dsn, "VACUUM ios")
    assert "P106" not in codes(tips(dsn, query))


def test_p107_nested_loop_with_many_loops(settings_db):
    dsn = settings_db("loops", {"enable_hashjoin": "off", "enable_mergejoin": "off",
                                "max_parallel_workers_per_gather": "0"})
    found = [f for f in tips(dsn, "SELECT * FROM small s JOIN big b ON b.id = s.ref") if f.code == "P107"]
    assert found and found[0].evidence["loops"] == 2000 and found[0].severity.value == "warning"
    assert "P107" not in codes(tips(dsn, "SELECT * FROM few s JOIN big b ON b.id = s.ref"))     # 500 loops


def test_p108_workers_planned_not_launched(settings_db):
    planned = {"parallel_setup_cost": "0", "parallel_tuple_cost": "0", "min_parallel_table_scan_size": "0",
               "max_parallel_workers_per_gather": "2"}
    starved = settings_db("noworkers", {**planned, "max_parallel_workers": "0"})
    found = [f for f in tips(starved, "SELECT count(*) FROM big") if f.code == "P108"]
    assert found and found[0].evidence["launched"] == 0 and found[0].evidence["planned"] == 2
    fed = settings_db("workers", planned)
    assert "P108" not in codes(tips(fed, "SELECT count(*) FROM big"))


def test_p109_jit_dominates(settings_db):
    jit = {"jit": "on", "jit_above_cost": "0", "jit_inline_above_cost": "0", "jit_optimize_above_cost": "0",
           "max_parallel_workers_per_gather": "0"}
    dsn = settings_db("jit", jit)
    found = [f for f in tips(dsn, "SELECT sum(val), avg(grp) FROM big WHERE id < 2000") if f.code == "P109"]
    if not found:
        with connect(dsn) as conn:
            if conn.execute("SELECT pg_jit_available()").fetchone()[0] is False:
                pytest.skip("this server has no JIT (llvmjit not installed)")
    assert found and found[0].evidence["jit_ms"] >= 10
    off = settings_db("nojit", {**jit, "jit": "off"})
    assert "P109" not in codes(tips(off, "SELECT sum(val), avg(grp) FROM big WHERE id < 2000"))


def test_p110_planning_much_longer_than_execution(settings_db):
    dsn = settings_db("planning", {"join_collapse_limit": "12", "from_collapse_limit": "12", "geqo_threshold": "20"},
                      setup=SETUP + "CREATE TABLE empty_t (id int); ANALYZE empty_t;")
    # 9 tables, all joined on one key to an empty one: one equivalence class, so every pair joins and
    # the planner weighs every join order (~45 ms here, 0.1 ms to execute). A chain of 12 plans in
    # under 1 ms (PLANNING_MIN_MS) on a fast machine.
    joins = "SELECT * FROM empty_t e" + "".join(f" JOIN big a{i} ON a{i}.id = e.id" for i in range(1, 9))
    tips(dsn, joins)                      # the first run also warms the caches its execution reads
    found = [f for f in tips(dsn, joins) if f.code == "P110"]
    assert found and found[0].evidence["factor"] >= 3
    assert "P110" not in codes(tips(dsn, "SELECT count(*) FROM big"))


def test_p111_offset_pagination(scenario):
    found = [f for f in tips(scenario, "SELECT * FROM big ORDER BY id OFFSET 5000 LIMIT 10") if f.code == "P111"]
    assert found and found[0].evidence["skipped"] == 5000
    assert "P111" not in codes(tips(scenario, "SELECT * FROM big ORDER BY id OFFSET 500 LIMIT 10"))


def explained(dsn: str, text: str):
    return explain_report(dsn, ExplainRequest(statements=[WorkloadStatement(text=text)]), ExplainOptions())


def test_p113_filtered_materialised_cte_is_proven_by_inlining(scenario):
    report = explained(scenario, "WITH c AS MATERIALIZED (SELECT * FROM big) SELECT * FROM c WHERE id = 5")
    tip = next(f for f in report.findings if f.code == "P113")
    assert tip.evidence["cte"] == "c" and tip.evidence["tables"] == ["public.big"] and tip.evidence["verified"]
    proof = tip.evidence["proof"]
    assert "AS NOT MATERIALIZED (SELECT" in proof["rewrite"] and proof["after_cost"] < proof["before_cost"]
    assert any(c["after"].startswith("Index Scan using big_pkey") for c in proof["changes"])
    # near misses: a filter that keeps most rows; a recursive CTE; a CTE scanned without a filter
    assert "P113" not in codes(tips(scenario, "WITH c AS MATERIALIZED (SELECT * FROM big) "
                                              "SELECT count(*) FROM c WHERE id > 5"))
    assert "P113" not in codes(tips(scenario, "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r "
                                              "WHERE n < 5000) SELECT * FROM r WHERE n = 7"))
    assert "P113" not in codes(tips(scenario, "WITH c AS MATERIALIZED (SELECT * FROM big) SELECT count(*) FROM c"))


def test_p113_inlined_cte_with_the_advisors_index(scenario):
    """Inlining alone still scans the table: the advisor's index for the inlined statement proves it."""
    report = explained(scenario, "WITH c AS MATERIALIZED (SELECT * FROM big) SELECT * FROM c WHERE val = 4242")
    tip = next(f for f in report.findings if f.code == "P113")
    proof = tip.evidence["proof"]
    assert tip.evidence["verified"] and proof["indexes"] and "val" in proof["indexes"][0]
    assert "CREATE INDEX" in tip.fix and any("Scan" in c["after"] and "Seq" not in c["after"] for c in proof["changes"])


def test_p114_function_in_the_filter_is_proven_with_an_expression_index(scenario):
    report = explained(scenario, "SELECT * FROM big WHERE lower(note) = 'c4ca4238a0b923820dcc509a6f75849b'")
    tip = next(f for f in report.findings if f.code == "P114")
    assert tip.evidence["expression"] == "lower(note)" and tip.evidence["verified"]
    assert '((lower(note)))' in tip.fix and tip.fix.startswith("CREATE INDEX")
    assert any(c["before"] == "Seq Scan on public.big" and "Seq Scan" not in c["after"]
               for c in tip.evidence["proof"]["changes"])
    # near misses: the function on the constant side; a bare column
    assert "P114" not in codes(tips(scenario, "SELECT * FROM big WHERE note = lower('C4CA4238A0B923820DCC509A6F75849B')"))
    assert "P114" not in codes(tips(scenario, "SELECT * FROM big WHERE grp = 3"))


def test_p114_casts_and_an_unprovable_expression(scenario):
    run_sql(scenario, "CREATE TABLE IF NOT EXISTS stamped (id int, at timestamp, atz timestamptz);"
                      "TRUNCATE stamped; INSERT INTO stamped SELECT g, timestamp '2024-01-01' + g * interval '1 minute',"
                      " timestamptz '2024-01-01' + g * interval '1 minute' FROM generate_series(1, 20000) g;"
                      "ANALYZE stamped;")
    report = explained(scenario, "SELECT * FROM stamped WHERE at::date = '2024-01-03'")
    tip = next(f for f in report.findings if f.code == "P114")
    assert tip.evidence["expression"] == "(at)::date" and tip.evidence["verified"]
    # timestamptz::date depends on TimeZone: not IMMUTABLE, HypoPG refuses it, the tip says so
    report = explained(scenario, "SELECT * FROM stamped WHERE atz::date = '2024-01-03'")
    tip = next(f for f in report.findings if f.code == "P114")
    assert not tip.evidence["verified"] and "Unverified" in tip.detail and "IMMUTABLE" in tip.detail
    assert "P114" not in codes(tips(scenario, "SELECT * FROM stamped WHERE at >= '2024-01-03' AND at < '2024-01-04'"))
