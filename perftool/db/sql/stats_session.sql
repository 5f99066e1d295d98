-- For a statistics snapshot (inside its transaction only): no JIT. The snapshot's queries read the
-- counters of every table and index through per-row functions, which the planner costs high on a
-- schema of thousands of tables, so it would JIT-compile them: 160 ms of LLVM work on a query of
-- 400 ms for 10,000 tables. (Not a larger work_mem for the sorts, as the catalog's reads have:
-- analyze_database reports the server's work_mem from inside this transaction.)
SELECT pg_catalog.set_config('jit', 'off', true);
