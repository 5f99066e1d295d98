"""Fixes that compose (issue #10): every fix SQL of one report applied together, in the order the
fixes' notes give, succeeds — on real scenarios where the checks' fixes used to collide."""

import psycopg
import pytest

from perftool.config import Thresholds
from perftool.health.reports import GateOptions, HealthOptions, gate_report, health_report

NOW = Thresholds(unused_index_min_stats_days=0)   # the sandbox's counters are minutes old


def apply_all(dsn, findings):
    """Run every fix (comment lines left out), a fix after the one its `-- run after` note names."""
    done, order = set(), []

    def place(f):
        if id(f) in done:
            return
        for ln in f.fix.splitlines():
            if ln.startswith("-- run after the fix of "):
                code, obj = ln.removeprefix("-- run after the fix of ").split(":")[0].split(" ", 1)
                place(next(g for g in findings if (g.code, g.object) == (code, obj)))
        done.add(id(f))
        order.append(f)

    for f in findings:
        place(f)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for f in order:
            for statement in f.fix.split(";\n"):
                text = "\n".join(ln for ln in statement.splitlines() if not ln.lstrip().startswith("--")).strip()
                if text:
                    conn.execute(text)
    return order


def indexes_on(dsn, table):
    with psycopg.connect(dsn, autocommit=True) as conn:
        return {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", (table,))}


LONG = "customer_order_line_item_allocation_history_archive_2024_q1_xy"   # 62 characters


def test_long_table_two_fk_indexes_get_two_names(fresh_db, sql):
    assert len(LONG) == 62
    sql(fresh_db, f"""
        CREATE TABLE pa (id int PRIMARY KEY); CREATE TABLE pb (id int PRIMARY KEY);
        CREATE TABLE "{LONG}" (id int PRIMARY KEY, pa_id int REFERENCES pa, pb_id int REFERENCES pb);
        CREATE TABLE kid (id int PRIMARY KEY, pa_id int REFERENCES pa);
        CREATE SEQUENCE kid_pa_id_idx;   -- takes the name perftool would give kid's FK index
    """)
    report = health_report(fresh_db, HealthOptions(only=["I105"]))
    fixes = {f.object: f.fix for f in report.findings}
    long_fixes = [v for k, v in fixes.items() if LONG in k]
    assert len(long_fixes) == 2
    names = [fx.split('"')[1] for fx in long_fixes]
    assert names[0] != names[1] and all(len(n.encode()) <= 63 and n.endswith("_idx") for n in names)
    assert fixes["public.kid.kid_pa_id_fkey"].startswith('CREATE INDEX CONCURRENTLY "kid_pa_id2_idx"')
    apply_all(fresh_db, report.findings)
    assert set(names) <= indexes_on(fresh_db, LONG) and "kid_pa_id2_idx" in indexes_on(fresh_db, "kid")
    assert health_report(fresh_db, HealthOptions(only=["I105"])).findings == []


def test_duplicate_flagged_by_i104_and_i106_keeps_one_copy(fresh_db, sql):
    """I102 drops the younger copy; I106 (boolean) and I104 (unused) flag both copies. Applied
    together they used to leave no index on the column."""
    sql(fresh_db, """
        CREATE TABLE flags (id int PRIMARY KEY, active boolean, v int);
        INSERT INTO flags SELECT g, g % 7 = 0, g FROM generate_series(1, 20000) g;
        CREATE INDEX flags_active_a ON flags (active);
        CREATE INDEX flags_active_b ON flags (active);
        ANALYZE flags;
    """)
    report = health_report(fresh_db, HealthOptions(thresholds=NOW))
    codes = {(f.code, f.object) for f in report.findings}
    assert {("I102", "public.flags_active_b"), ("I106", "public.flags_active_a"), ("I106", "public.flags_active_b"),
            ("I104", "public.flags_active_a"), ("I104", "public.flags_active_b")} <= codes
    by = {(f.code, f.object): f for f in report.findings}
    for code in ("I104", "I106"):
        kept = by[(code, "public.flags_active_a")].fix
        assert "DROP INDEX" not in "\n".join(ln for ln in kept.splitlines() if not ln.startswith("--"))
        assert "-- not dropped: public.flags_active_a is the copy kept when the fix of I102 " \
               "public.flags_active_b drops its duplicate" in kept
    apply_all(fresh_db, report.findings)
    assert indexes_on(fresh_db, "flags") == {"flags_pkey", "flags_active_a"}


def test_duplicate_whose_kept_copy_is_undeclared_keeps_the_declared_one(fresh_db, sql, tmp_path):
    """The index set declares the younger copy; I202 drops the older (undeclared) one, which I102
    keeps: I102 then drops the older copy too, and the declared one stays."""
    sql(fresh_db, """
        CREATE TABLE ev (id int PRIMARY KEY, kind int);
        CREATE INDEX ev_kind_old ON ev (kind);
        CREATE INDEX ev_kind_new ON ev (kind);
    """)
    (tmp_path / "ev.yaml").write_text("version: 1\nschema: public\ntables:\n  ev:\n"
                                      "    - {columns: [id], primary: true, name: ev_pkey}\n"
                                      "    - {columns: [kind], name: ev_kind_new}\n")
    options = GateOptions(sets=[str(tmp_path / "ev.yaml")], table="ev", fail_on="info")
    report = gate_report(fresh_db, options)
    by = {(f.code, f.object): f for f in report.findings}
    assert by[("I202", "public.ev_kind_old")]
    i102 = by[("I102", "public.ev_kind_new")].fix
    assert i102.startswith("-- drops public.ev_kind_old rather than public.ev_kind_new: I202 flag(s) "
                           "public.ev_kind_old too, and one copy must stay")
    assert i102.endswith('DROP INDEX CONCURRENTLY IF EXISTS "public"."ev_kind_old";')
    apply_all(fresh_db, report.findings)
    assert indexes_on(fresh_db, "ev") == {"ev_pkey", "ev_kind_new"}
    assert gate_report(fresh_db, options).findings == []


def test_declared_index_on_the_column_t102_adds_runs_after_it(fresh_db, sql, tmp_path):
    sql(fresh_db, "CREATE TABLE log (at timestamptz, msg text); INSERT INTO log SELECT now(), 'x' FROM "
                  "generate_series(1, 100)")
    (tmp_path / "log.yaml").write_text("version: 1\nschema: public\ntables:\n  log:\n"
                                       "    - {columns: [id, at], name: log_id_at_idx}\n")
    options = GateOptions(sets=[str(tmp_path / "log.yaml")], table="log")
    report = gate_report(fresh_db, options)
    by = {(f.code, f.object): f for f in report.findings}
    t102, i201 = by[("T102", "public.log")], by[("I201", "public.log_id_at_idx")]
    assert 'ADD COLUMN "id" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;' in t102.fix  # no declared key
    assert i201.fix.splitlines()[0] == '-- run after the fix of T102 public.log: it adds the column "id" this needs'
    assert report.findings.index(i201) < report.findings.index(t102)  # errors first: the note orders them
    order = apply_all(fresh_db, report.findings)
    assert order.index(t102) < order.index(i201)
    assert {"log_pkey", "log_id_at_idx"} <= indexes_on(fresh_db, "log")


@pytest.mark.parametrize("repeat", [1, 2])
def test_compose_is_repeatable_after_filtering(fresh_db, sql, repeat):
    """Composing again (after ignores/baselines drop findings) starts from the checks' own fixes."""
    from perftool.health.checks.fix_compose import compose_fixes

    sql(fresh_db, "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p);"
                  "CREATE INDEX c_p_id_idx ON c (id)")   # the name I105 would pick is taken
    report = health_report(fresh_db, HealthOptions(only=["I105"]))
    (f,) = report.findings
    first = f.fix
    for _ in range(repeat):
        compose_fixes(report.findings, {("public", "c_p_id_idx")})
    assert f.fix == first and first.startswith('CREATE INDEX CONCURRENTLY "c_p_id2_idx"')
