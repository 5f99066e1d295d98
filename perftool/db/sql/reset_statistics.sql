-- Forget earlier numbers so the demo's statistics describe its workload only (sandbox only).
-- pg_stat_reset() also zeroes n_live_tup/n_dead_tup: the caller runs ANALYZE afterwards.
SELECT pg_stat_statements_reset(), pg_stat_reset();
