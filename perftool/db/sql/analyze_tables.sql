-- Per-table usage, I/O, vacuum state and primary-key presence (user tables of this database).
-- table_bytes: pg_table_size, or the page counts of pg_class (heap + TOAST, as of the last VACUUM
-- or ANALYZE) when the database holds more than EXACT_SIZES_MAX (catalog/schema.py) tables and indexes (the
-- catalog reader's rule: pg_table_size opens every table, its TOAST table and TOAST index).
SELECT s.relid,
       s.schemaname                                AS schema,
       s.relname                                   AS table,
       s.seq_scan,
       s.seq_tup_read,
       coalesce(s.idx_scan, 0)                     AS idx_scan,
       coalesce(s.idx_tup_fetch, 0)                AS idx_tup_fetch,
       s.n_tup_ins,
       s.n_tup_upd,
       s.n_tup_del,
       s.n_tup_hot_upd,
       s.n_live_tup,
       s.n_dead_tup,
       s.n_mod_since_analyze,
       s.last_vacuum,
       s.last_autovacuum,
       s.last_analyze,
       s.last_autoanalyze,
       s.autovacuum_count,
       coalesce(io.heap_blks_read, 0)              AS heap_blks_read,
       coalesce(io.heap_blks_hit, 0)               AS heap_blks_hit,
       coalesce(io.idx_blks_read, 0)               AS idx_blks_read,
       coalesce(io.idx_blks_hit, 0)                AS idx_blks_hit,
       CASE WHEN (SELECT count(*) FROM pg_class k
                   WHERE k.relkind IN ('r', 'p', 'i', 'I')
                     AND k.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace,
                                                'pg_toast'::regnamespace)) > %(exact_sizes_max)s
            THEN (greatest(c.relpages, 0) + coalesce(tc.relpages, 0))::bigint * current_setting('block_size')::bigint
            ELSE pg_table_size(s.relid) END        AS table_bytes,
       c.reltuples::bigint                         AS reltuples,
       c.relkind,
       EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = s.relid AND k.contype = 'p') AS has_pk,
       coalesce((SELECT option_value::float FROM pg_options_to_table(c.reloptions)
                 WHERE option_name = 'autovacuum_vacuum_scale_factor'),
                current_setting('autovacuum_vacuum_scale_factor')::float)            AS vacuum_scale_factor,
       coalesce((SELECT option_value::bigint FROM pg_options_to_table(c.reloptions)
                 WHERE option_name = 'autovacuum_vacuum_threshold'),
                current_setting('autovacuum_vacuum_threshold')::bigint)              AS vacuum_threshold,
       coalesce((SELECT option_value::boolean FROM pg_options_to_table(c.reloptions)
                 WHERE option_name = 'autovacuum_enabled'),
                current_setting('autovacuum')::boolean)                              AS autovacuum_enabled
FROM pg_stat_user_tables s
JOIN pg_class c ON c.oid = s.relid
LEFT JOIN pg_class tc ON tc.oid = c.reltoastrelid
LEFT JOIN pg_statio_user_tables io ON io.relid = s.relid
ORDER BY s.schemaname, s.relname;
