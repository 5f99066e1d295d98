-- For the catalog reads of one collection (inside its transaction only): no JIT, no parallel
-- workers, no nested-loop joins. The catalog queries are cheap per row but costed high on large
-- schemas (per-row functions and subplans), so the server would JIT-compile them — seconds of
-- LLVM work for queries that run in milliseconds — and start workers that cost more than they
-- save; and pg_stats is estimated at a handful of rows whatever its size, which turns its joins
-- into nested loops of every column × every statistics row. Every join here is a bulk join; and
-- the sorts and hashes of 70,000 columns fit in memory (at the default 4 MB they spill to disk).
SELECT pg_catalog.set_config('jit', 'off', true),
       pg_catalog.set_config('max_parallel_workers_per_gather', '0', true),
       pg_catalog.set_config('enable_nestloop', 'off', true),
       pg_catalog.set_config('work_mem', '64MB', true);
