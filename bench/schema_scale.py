"""The schema reader at scale: `perftool indexes health` and `perftool analyze` on a database of
10 000 tables with 30 000 indexes (and 2 500 / 7 500 for the slope).

Target (issue #16): each ≤ 2 s wall and ≤ 100 MB peak RSS, whole process. The database is built
once in the sandbox (server-side DDL, one round trip per size) and kept between runs; a version
comment on the database says whether it is current. The mix per table: a bigint primary key, an
index on `created_at`, and one of: a multicolumn index, a partial index, an expression index, a
unique index, an index serving a foreign key, a single-column index, a text_pattern_ops index or a
GIN index on an array; every 100th table has a foreign key without an index (I105), a few tables
hold rows (statistics, I106/I108 material) and the database is ANALYZEd.

Before each run of a command, the database's pg_stat_statements entries are reset and a fixed
workload runs (`run_workload`): on the 30 tables with rows, filters no index serves (seq-scan heavy tables:
`analyze` runs the index advisor for T201's fixes) and primary-key lookups; on 970 empty tables a
`created_at` range. So `analyze` always sees the same 1,060 statements, whatever else ran in the
sandbox (the build's own 30,000 DDL statements would otherwise be the workload, as far as
pg_stat_statements has kept them).

Printed: median wall time and peak RSS of each command (3 runs), against two baselines measured in
the same run: a bare Python process that connects with psycopg and runs `SELECT 1`, and one that
fetches the plain catalog join of pg_index, pg_class and pg_stat_user_indexes (what any schema
reader must at least do). Then the server-side time of each catalog query perftool sends
(EXPLAIN ANALYZE), so a slow one is named.

Run: `make bench` (all benchmarks) or `python -m bench schema -- --tables N` (one size).
"""

from __future__ import annotations

import os
import sys
import time

import psycopg

from bench.analyze_scale import measure
from perftool.sandbox import Sandbox

SIZES = (2500, 10000)
INDEXES_PER_TABLE = 3
SCHEMAS = 10
VERSION = "perftool bench schema v1"
TARGET_S, TARGET_MB = 2.0, 100.0

# One DO block per database: tables in SCHEMAS schemas, committed every 100 tables (each CREATE
# holds locks until commit; 10 000 in one transaction would exhaust the lock table).
BUILD = r"""
DO $build$
DECLARE
    n int := %(tables)s;
    s text;
    t text;
    third text;
BEGIN
    FOR k IN 0 .. %(schemas)s - 1 LOOP
        EXECUTE format('CREATE SCHEMA IF NOT EXISTS %%I', 'app' || k);
    END LOOP;
    FOR i IN 0 .. n - 1 LOOP
        s := 'app' || (i %% %(schemas)s);
        t := 't' || i;
        EXECUTE format('CREATE TABLE %%I.%%I (id bigint PRIMARY KEY, parent_id bigint, name text, '
                       'status int NOT NULL DEFAULT 0, created_at timestamptz, flag boolean, tags int[]%%s)',
                       s, t,
                       CASE WHEN i > 0 AND (i %% 8 = 4 OR i %% 100 = 7)
                            THEN format(', FOREIGN KEY (parent_id) REFERENCES %%I.%%I (id)',
                                        'app' || ((i - 1) %% %(schemas)s), 't' || (i - 1))
                            ELSE '' END);
        EXECUTE format('CREATE INDEX %%I ON %%I.%%I (created_at)', t || '_created_at_idx', s, t);
        third := CASE i %% 8
            WHEN 0 THEN '(status, created_at)'
            WHEN 1 THEN '(created_at) WHERE status = 1'
            WHEN 2 THEN '(lower(name))'
            WHEN 3 THEN '(name)'
            WHEN 4 THEN '(parent_id)'
            WHEN 5 THEN '(status)'
            WHEN 6 THEN '(name text_pattern_ops)'
            ELSE 'USING gin (tags)' END;
        EXECUTE format('CREATE %%s INDEX %%I ON %%I.%%I %%s', CASE WHEN i %% 8 = 3 THEN 'UNIQUE' ELSE '' END,
                       t || '_x_idx', s, t, third);
        IF i %% 1000 < 3 THEN
            EXECUTE format('INSERT INTO %%I.%%I SELECT g, NULL, ''n'' || g, g %%%% 3, now() - g * interval ''1 min'', '
                           'g %%%% 2 = 0, ARRAY[g %%%% 5] FROM generate_series(1, 20000) g', s, t);
        END IF;
        IF i %% 100 = 99 THEN
            COMMIT;
        END IF;
    END LOOP;
END
$build$
"""

CONNECT_BASELINE = ("import sys, psycopg\n"
                    "with psycopg.connect(sys.argv[1]) as c:\n"
                    "    c.execute('SELECT 1').fetchall()\n")
CATALOG_JOIN = ("SELECT i.indexrelid, i.indrelid, c.relname, s.idx_scan FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid "
                "JOIN pg_stat_user_indexes s ON s.indexrelid = i.indexrelid")
CATALOG_BASELINE = ("import sys, psycopg\n"
                    "with psycopg.connect(sys.argv[1]) as c:\n"
                    f"    c.execute({CATALOG_JOIN!r}).fetchall()\n")


def database_name(tables: int) -> str:
    return f"bench_schema_{tables}"


def ensure_database(sb: Sandbox, tables: int) -> str:
    """The DSN of the benchmark database with `tables` tables, built unless it is already current."""
    name = database_name(tables)
    stamp = f"{VERSION} tables={tables}"
    with psycopg.connect(sb.url("postgres"), autocommit=True) as conn:
        row = conn.execute("SELECT pg_catalog.shobj_description(oid, 'pg_database') FROM pg_database "
                           "WHERE datname = %s", (name,)).fetchone()
    if row and row[0] == stamp:
        return sb.url(name)
    print(f"building {name}: {tables:,} tables, {tables * INDEXES_PER_TABLE:,} indexes …", flush=True)
    t0 = time.perf_counter()
    dsn = sb.create_database(name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(BUILD % {"tables": int(tables), "schemas": SCHEMAS})
        conn.execute("ANALYZE")
        conn.execute(psycopg.sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            psycopg.sql.Identifier(name), psycopg.sql.Literal(stamp)))
    print(f"built {name} in {time.perf_counter() - t0:.0f} s", flush=True)
    return dsn


def catalog_queries(dsn: str) -> list[tuple[str, float]]:
    """Server-side milliseconds (EXPLAIN ANALYZE) of each catalog query perftool sends for
    `indexes health` and `analyze`, with the parameters and session settings they get."""
    from perftool.db.sql import load

    with psycopg.connect(dsn) as conn:   # one transaction, as collect_catalog reads
        conn.execute(load("catalog_session"))
        oids = [r[0] for r in conn.execute(
            "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND n.nspname LIKE 'app%'").fetchall()]
        major = conn.info.server_version // 10000
        from perftool.catalog.schema import EXACT_SIZES_MAX

        rels = conn.execute("SELECT DISTINCT n.nspname::text, c.relname::text FROM pg_class c "
                            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ANY(%s)", (oids,)).fetchall()
        params = {"oids": oids, "schemas": sorted({r[0] for r in rels}), "tables": sorted({r[1] for r in rels}),
                  "all_columns": False,   # as indexes health and analyze read them
                  "schema": None, "table": None, "names": None, "definitions": False,
                  "estimate_sizes": len(oids) * (1 + INDEXES_PER_TABLE) > EXACT_SIZES_MAX,
                  "exact_sizes_max": EXACT_SIZES_MAX}
        # the bloat estimates get only the relations of at least bloat_min_bytes (collect_catalog's rule)
        from perftool.config import Thresholds

        big = [r[0] for r in conn.execute(
            "SELECT c.oid FROM pg_class c WHERE c.oid = ANY(%s) AND (c.relpages::bigint * 8192 >= %s OR EXISTS ("
            "SELECT 1 FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid WHERE i.indrelid = c.oid "
            "AND x.relpages::bigint * 8192 >= %s))",
            (oids, Thresholds().bloat_min_bytes, Thresholds().bloat_min_bytes)).fetchall()]
        out = []
        names = ["catalog_tables", "catalog_names", "catalog_columns", "catalog_column_stats", "catalog_indexes",
                 "catalog_foreign_keys", "chk_table_bloat", "chk_index_bloat", "catalog_sequences", "analyze_tables",
                 "analyze_indexes"]
        for name in names:
            text = load(name, major)
            if name == "analyze_tables":    # the snapshot's queries run in their own session settings
                conn.rollback()
                conn.execute(load("stats_session"))
            nestloop = name in ("catalog_column_stats", "catalog_foreign_keys")   # as collect_catalog runs them
            if nestloop:
                conn.execute(load("catalog_nestloop"), {"on": "on"})
            args = {**params, "oids": big} if name.startswith("chk_") else params
            plan = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + text, args).fetchone()[0]
            if nestloop:
                conn.execute(load("catalog_nestloop"), {"on": "off"})
            out.append((name, float(plan[0]["Planning Time"]) + float(plan[0]["Execution Time"])))
        plan = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + CATALOG_JOIN).fetchone()[0]
        out.append(("(plain catalog join)", float(plan[0]["Planning Time"]) + float(plan[0]["Execution Time"])))
    return out


WITH_ROWS = 3          # of every 1,000 tables (BUILD: `i % 1000 < 3`)
EMPTY_QUERIED = 970


def run_workload(dsn: str, tables: int) -> int:
    """Reset this database's pg_stat_statements entries and run the fixed workload; the number of
    distinct statements."""
    from psycopg import sql

    def name(i: int) -> sql.Composable:
        return sql.Identifier(f"app{i % SCHEMAS}", f"t{i}")

    full = [i for i in range(tables) if i % 1000 < WITH_ROWS]
    empty = [i for i in range(tables) if i % 1000 >= WITH_ROWS][:: max(1, (tables - len(full)) // EMPTY_QUERIED)]
    empty = empty[:EMPTY_QUERIED]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database "
                     "WHERE datname = current_database()), 0)")
        distinct = 0
        for i in full:
            for q, args in (("SELECT id, name FROM {} WHERE flag AND status = %s", (2,)),
                            ("SELECT count(*) FROM {} WHERE name LIKE %s", ("%7%",)),
                            ("SELECT * FROM {} WHERE id = %s", (i,))):
                for _ in range(3):
                    conn.execute(sql.SQL(q).format(name(i)), args).fetchall()
                distinct += 1
        for i in empty:
            conn.execute(sql.SQL("SELECT * FROM {} WHERE created_at > now() - %s::interval ORDER BY created_at "
                                 "LIMIT 10").format(name(i)), ("1 day",)).fetchall()
            distinct += 1
    return distinct


def run(sb: Sandbox, tables: int) -> dict[str, tuple[float, float]]:
    dsn = ensure_database(sb, tables)
    statements = run_workload(dsn, tables)      # (and again before each run)
    py = sys.executable
    commands = {
        "indexes health": [py, "-m", "perftool", "indexes", "health", "--dsn", dsn, "--format", "json",
                           "-o", os.devnull],
        "analyze": [py, "-m", "perftool", "analyze", "--dsn", dsn, "--format", "json", "-o", os.devnull],
        # the same without T201's index advisor over the workload (its cost grows with the statements)
        "analyze --no-index-advice": [py, "-m", "perftool", "analyze", "--no-index-advice", "--dsn", dsn,
                                      "--format", "json", "-o", os.devnull],
        "baseline: connect + SELECT 1": [py, "-c", CONNECT_BASELINE, dsn],
        "baseline: plain catalog join": [py, "-c", CATALOG_BASELINE, dsn],
    }
    results = {label: measure(argv, before=lambda: run_workload(dsn, tables)) for label, argv in commands.items()}
    # other databases' statements can evict these (pg_stat_statements.max): the count after the last run
    with psycopg.connect(dsn) as conn:
        kept = conn.execute("SELECT count(*) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database "
                            "WHERE datname = current_database())").fetchone()[0]
    base_s, base_mb = results["baseline: connect + SELECT 1"]
    print(f"\n{tables:,} tables, {tables * INDEXES_PER_TABLE:,} indexes, {statements:,} statements in "
          f"pg_stat_statements ({kept:,} after the runs; whole process, median of 3; peak RSS)")
    print(f"{'command':<30}  {'wall s':>7}  {'× connect':>9}  {'peak MiB':>8}  {'× connect':>9}")
    for label, (s, mb) in results.items():
        print(f"{label:<30}  {s:>7.2f}  {s / base_s:>9.1f}  {mb:>8.1f}  {mb / base_mb:>9.1f}")
    print(f"{'server-side query':<30}  {'ms':>7}")
    for name, ms in catalog_queries(dsn):
        print(f"{name:<30}  {ms:>7.0f}")
    return results


def main(argv: list[str]) -> None:
    sizes = SIZES
    if "--tables" in argv:
        sizes = (int(argv[argv.index("--tables") + 1]),)
    sb = Sandbox.default()
    sb.start()
    verdicts = []
    for tables in sizes:
        results = run(sb, tables)
        if tables == max(SIZES):
            for label in ("indexes health", "analyze"):
                s, mb = results[label]
                ok = s <= TARGET_S and mb <= TARGET_MB
                verdicts.append(f"{label}: {s:.2f} s, {mb:.0f} MiB ({'met' if ok else 'MISSED'})")
    if verdicts:
        print(f"\n{max(SIZES):,} tables, target ≤ {TARGET_S:g} s and ≤ {TARGET_MB:g} MB each: " + "; ".join(verdicts))


if __name__ == "__main__":
    main(sys.argv[1:])
