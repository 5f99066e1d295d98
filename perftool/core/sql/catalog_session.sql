-- For the catalog reads of one collection (inside its transaction only): no JIT and no parallel
-- workers. The catalog queries are cheap per row but costed high on large schemas (per-row
-- functions and subplans), so the server would JIT-compile them — seconds of LLVM work for
-- queries that run in milliseconds — and start workers that cost more than they save.
SELECT pg_catalog.set_config('jit', 'off', true),
       pg_catalog.set_config('max_parallel_workers_per_gather', '0', true);
