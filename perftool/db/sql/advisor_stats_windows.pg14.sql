-- Seconds covered by the table counters (pg_stat_database.stats_reset of this database) and by
-- pg_stat_statements (pg_stat_statements_info.stats_reset): the write-cost term scales one to the other.
SELECT extract(epoch FROM now() - d.stats_reset)::float8                                 AS tables_seconds,
       (SELECT extract(epoch FROM now() - i.stats_reset)::float8 FROM pg_stat_statements_info i) AS statements_seconds
FROM pg_catalog.pg_stat_database d
WHERE d.datname = current_database();
