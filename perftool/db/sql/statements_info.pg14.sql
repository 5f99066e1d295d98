-- PG14+: how many entries pg_stat_statements evicted, and when it was last reset.
SELECT dealloc, stats_reset FROM pg_stat_statements_info;
