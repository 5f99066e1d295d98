-- The database: name, block size, when its statistics were last reset (NULL: never, i.e.
-- since the cluster was created), for reading idx_scan counters; and how many tables and indexes
-- it holds (exact sizes open every relation: on very large schemas the page counts are used).
SELECT current_database()                                  AS database,
       (SELECT count(*) FROM pg_catalog.pg_class c
         WHERE c.relkind IN ('r', 'p', 'i', 'I')
           AND c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace,
                                      'pg_toast'::regnamespace))::bigint AS relations,
       current_setting('block_size')::int                  AS block_size,
       d.stats_reset                                       AS stats_reset,
       now() - coalesce(d.stats_reset, pg_catalog.pg_postmaster_start_time()) AS stats_age
FROM pg_catalog.pg_stat_database d
WHERE d.datname = current_database();
