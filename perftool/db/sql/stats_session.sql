-- For a statistics snapshot (inside its transaction only): no JIT. The snapshot's queries read the
-- counters of every table and index through per-row functions, which the planner costs high on a
-- schema of thousands of tables, so it would JIT-compile them: 160 ms of LLVM work on a query of
-- 400 ms for 10,000 tables. Room for the sorts: the 30,000 index rows of such a schema spill to disk
-- at the default 4 MB (analyze_indexes: 73 → 65 ms).
SELECT pg_catalog.set_config('jit', 'off', true),
       pg_catalog.set_config('work_mem', '64MB', true);
