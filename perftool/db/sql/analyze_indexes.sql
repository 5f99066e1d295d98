-- Per-index scans and buffer hits (user indexes of this database): the columns of
-- pg_stat_user_indexes and pg_statio_user_indexes, from the pg_stat_get_* functions those views
-- call, in one pass (joining the two views joins pg_class and pg_index twice).
SELECT i.indexrelid,
       n.nspname                                                   AS schema,
       c.relname                                                   AS table,
       ic.relname                                                  AS index,
       pg_catalog.pg_stat_get_numscans(i.indexrelid)               AS idx_scan,
       pg_catalog.pg_stat_get_blocks_fetched(i.indexrelid)
           - pg_catalog.pg_stat_get_blocks_hit(i.indexrelid)       AS idx_blks_read,
       pg_catalog.pg_stat_get_blocks_hit(i.indexrelid)             AS idx_blks_hit
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_index i ON c.oid = i.indrelid
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 't', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_toast'
ORDER BY n.nspname, c.relname, ic.relname;
