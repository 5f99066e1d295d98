-- Per-index scans and buffer hits (user indexes of this database).
SELECT s.indexrelid,
       s.schemaname                      AS schema,
       s.relname                         AS table,
       s.indexrelname                    AS index,
       s.idx_scan,
       s.idx_tup_read,
       s.idx_tup_fetch,
       coalesce(io.idx_blks_read, 0)     AS idx_blks_read,
       coalesce(io.idx_blks_hit, 0)      AS idx_blks_hit
FROM pg_stat_user_indexes s
LEFT JOIN pg_statio_user_indexes io ON io.indexrelid = s.indexrelid
ORDER BY s.schemaname, s.relname, s.indexrelname;
