-- The database: name, block size, and when its statistics were last reset (NULL: never, i.e.
-- since the cluster was created), for reading idx_scan counters.
SELECT current_database()                                  AS database,
       current_setting('block_size')::int                  AS block_size,
       d.stats_reset                                       AS stats_reset,
       now() - coalesce(d.stats_reset, pg_catalog.pg_postmaster_start_time()) AS stats_age
FROM pg_catalog.pg_stat_database d
WHERE d.datname = current_database();
