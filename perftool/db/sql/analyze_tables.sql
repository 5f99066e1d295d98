-- Per-table usage, I/O, vacuum state and primary-key presence (user tables of this database).
-- table_bytes: pg_table_size, or the page counts of pg_class (heap + TOAST, as of the last VACUUM
-- or ANALYZE) when the database holds more than EXACT_SIZES_MAX (catalog/schema.py) tables and indexes (the
-- catalog reader's rule: pg_table_size opens every table, its TOAST table and TOAST index).
-- The columns of pg_stat_user_tables and pg_statio_user_tables, read straight from the
-- pg_stat_get_* functions those views call, in one pass: joining the two views groups every
-- table's indexes twice and joins pg_class four times (0.48 s instead of 0.32 s for 10,000 tables);
-- storage options read only for the tables that have any. Only the counters a section reads (each
-- is a function call per table, or per index for the sums). The index sums per table by its own
-- indexes (LATERAL, by pg_index's indrelid index): grouping all of pg_index summed the indexes of
-- every TOAST table too (a 10,000-table schema: 126 → 82 ms).
SELECT c.oid                                                       AS relid,
       n.nspname                                                   AS schema,
       c.relname                                                   AS table,
       pg_catalog.pg_stat_get_numscans(c.oid)                      AS seq_scan,
       pg_catalog.pg_stat_get_tuples_returned(c.oid)               AS seq_tup_read,
       coalesce(ix.idx_scan, 0)                                    AS idx_scan,
       pg_catalog.pg_stat_get_tuples_inserted(c.oid)               AS n_tup_ins,
       pg_catalog.pg_stat_get_tuples_updated(c.oid)                AS n_tup_upd,
       pg_catalog.pg_stat_get_tuples_deleted(c.oid)                AS n_tup_del,
       pg_catalog.pg_stat_get_tuples_hot_updated(c.oid)            AS n_tup_hot_upd,
       pg_catalog.pg_stat_get_live_tuples(c.oid)                   AS n_live_tup,
       pg_catalog.pg_stat_get_dead_tuples(c.oid)                   AS n_dead_tup,
       pg_catalog.pg_stat_get_last_autovacuum_time(c.oid)          AS last_autovacuum,
       pg_catalog.pg_stat_get_autovacuum_count(c.oid)              AS autovacuum_count,
       coalesce(pg_catalog.pg_stat_get_blocks_fetched(c.oid)
                - pg_catalog.pg_stat_get_blocks_hit(c.oid), 0)     AS heap_blks_read,
       coalesce(pg_catalog.pg_stat_get_blocks_hit(c.oid), 0)       AS heap_blks_hit,
       coalesce(ix.idx_blks_read, 0)                               AS idx_blks_read,
       coalesce(ix.idx_blks_hit, 0)                                AS idx_blks_hit,
       CASE WHEN (SELECT count(*) FROM pg_class k
                   WHERE k.relkind IN ('r', 'p', 'i', 'I')
                     AND k.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace,
                                                'pg_toast'::regnamespace)) > %(exact_sizes_max)s
            THEN (greatest(c.relpages, 0) + coalesce(tc.relpages, 0))::bigint * current_setting('block_size')::bigint
            ELSE pg_table_size(c.oid) END          AS table_bytes,
       c.reltuples::bigint                         AS reltuples,
       EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p') AS has_pk,
       coalesce(CASE WHEN c.reloptions IS NOT NULL THEN (SELECT option_value::float FROM pg_options_to_table(c.reloptions)
                 WHERE option_name = 'autovacuum_vacuum_scale_factor') END,
                current_setting('autovacuum_vacuum_scale_factor')::float)            AS vacuum_scale_factor,
       coalesce(CASE WHEN c.reloptions IS NOT NULL THEN (SELECT option_value::bigint FROM pg_options_to_table(c.reloptions)
                 WHERE option_name = 'autovacuum_vacuum_threshold') END,
                current_setting('autovacuum_vacuum_threshold')::bigint)              AS vacuum_threshold,
       coalesce(CASE WHEN c.reloptions IS NOT NULL THEN (SELECT option_value::boolean FROM pg_options_to_table(c.reloptions)
                 WHERE option_name = 'autovacuum_enabled') END,
                current_setting('autovacuum')::boolean)                              AS autovacuum_enabled
FROM pg_catalog.pg_class c
LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN LATERAL (
    SELECT sum(pg_catalog.pg_stat_get_numscans(i.indexrelid))::bigint                  AS idx_scan,
           sum(pg_catalog.pg_stat_get_blocks_fetched(i.indexrelid)
               - pg_catalog.pg_stat_get_blocks_hit(i.indexrelid))::bigint              AS idx_blks_read,
           sum(pg_catalog.pg_stat_get_blocks_hit(i.indexrelid))::bigint                AS idx_blks_hit
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = c.oid
) ix ON true
LEFT JOIN pg_class tc ON tc.oid = c.reltoastrelid
WHERE c.relkind IN ('r', 't', 'm', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_toast'
ORDER BY n.nspname, c.relname;
