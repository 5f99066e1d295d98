-- For the catalog reads of one collection (inside its transaction only): no JIT, no parallel
-- workers, only hash joins, room for the sorts. The catalog queries are cheap per row but costed
-- high on large schemas (per-row functions and subplans), so the server would JIT-compile them —
-- seconds of LLVM work for queries that run in milliseconds — and start workers that cost more
-- than they save. Their scopes are arrays of thousands of oids, which the planner misestimates:
-- a nested loop over them is rows × rows, and a merge join sorts tens of thousands of wide rows
-- first (20 % of the columns query); every join here is a bulk hash join (catalog_nestloop.sql
-- allows nested loops again for catalog_column_stats.sql's index lookups). The sorts and hashes of
-- 70,000 columns fit in memory (at the default 4 MB they spill to disk). PostgreSQL 15+: the
-- statistics counters read as one snapshot, taken at the first read (stats_fetch_consistency):
-- one pass over the shared statistics instead of a lookup and copy per table and index (a
-- quarter of the tables query on 10,000 tables), and counters consistent with one another.
SELECT pg_catalog.set_config('jit', 'off', true),
       pg_catalog.set_config('max_parallel_workers_per_gather', '0', true),
       pg_catalog.set_config('enable_nestloop', 'off', true),
       pg_catalog.set_config('enable_mergejoin', 'off', true),
       pg_catalog.set_config('work_mem', '64MB', true),
       pg_catalog.set_config('stats_fetch_consistency', 'snapshot', true);
