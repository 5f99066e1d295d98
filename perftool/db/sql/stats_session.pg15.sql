-- For a statistics snapshot (inside its transaction only): no JIT. The snapshot's queries read the
-- counters of every table and index through per-row functions, which the planner costs high on a
-- schema of thousands of tables, so it would JIT-compile them: 160 ms of LLVM work on a query of
-- 400 ms for 10,000 tables. PostgreSQL 15+: the counters read as one snapshot, taken at the first
-- read (stats_fetch_consistency): every table's and index's counters as of one moment, and one
-- pass over the shared statistics instead of a lookup and copy per table and index (a quarter of
-- the tables query on 10,000 tables).
SELECT pg_catalog.set_config('jit', 'off', true),
       pg_catalog.set_config('stats_fetch_consistency', 'snapshot', true);
