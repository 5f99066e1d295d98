-- Seconds covered by the table counters (pg_stat_database.stats_reset of this database) and by
-- pg_stat_statements (no reset time before PG14): the write-cost term scales one to the other.
SELECT extract(epoch FROM now() - d.stats_reset)::float8 AS tables_seconds,
       NULL::float8                                       AS statements_seconds
FROM pg_catalog.pg_stat_database d
WHERE d.datname = current_database();
