-- The database: name, block size, when its statistics were last reset (NULL: never, i.e.
-- since the cluster was created), for reading idx_scan counters; and how many tables and indexes
-- it holds (exact sizes open every relation: on very large schemas the page counts are used);
-- the session's search path (to resolve a workload's unqualified names) and the database's
-- default collation (LIKE 'prefix%%' can use a plain btree only under C / POSIX).
SELECT current_database()                                  AS database,
       (SELECT count(*) FROM pg_catalog.pg_class c
         WHERE c.relkind IN ('r', 'p', 'i', 'I')
           AND c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace,
                                      'pg_toast'::regnamespace))::bigint AS relations,
       current_setting('block_size')::int                  AS block_size,
       d.stats_reset                                       AS stats_reset,
       now() - coalesce(d.stats_reset, pg_catalog.pg_postmaster_start_time()) AS stats_age,
       pg_catalog.current_schemas(true)::text[]            AS search_path,
       (SELECT db.datcollate FROM pg_catalog.pg_database db
         WHERE db.datname = current_database())::text      AS collate
FROM pg_catalog.pg_stat_database d
WHERE d.datname = current_database();
