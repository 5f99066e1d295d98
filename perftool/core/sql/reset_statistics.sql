-- Forget earlier numbers so the demo's statistics describe its workload only (sandbox only).
SELECT pg_stat_statements_reset(), pg_stat_reset();
