-- The relations of one collection scope, with rows, pages, sizes, scans and whether a primary key
-- exists. Two scopes:
-- * %(names)s NULL — the tables and partitioned tables of this database outside the system schemas
--   and extensions (the health checks); %(schema)s / %(table)s narrow it when not NULL;
-- * %(names)s a list — the relations of any kind (tables, partitioned tables, views, materialized
--   views, foreign tables) and in any schema called so: the names a workload uses (the advisor;
--   a statement may join pg_catalog relations too). view_sql: a view's text, to inline it.
-- can_select: the session may read it (EXPLAIN needs that, and pg_stats shows its columns only then).
-- Counters straight from the pg_stat_get_* functions (the columns of pg_stat_user_tables, without
-- that view's GROUP BY over every table and index of the database). A table's idx_scan and whether
-- it has a primary key come from its indexes (catalog_indexes.sql: the sum of its indexes' scans,
-- one with indisprimary), not from a grouped pass over pg_index here (a third of this query's time
-- on 10,000 tables); table_bytes: pg_table_size,
-- or with %(estimate_sizes)s the catalog's page counts (heap and TOAST as of the last VACUUM,
-- ANALYZE or CREATE INDEX): pg_table_size opens every table, its TOAST table and TOAST index, which
-- costs seconds on schemas of many thousand tables.
SELECT c.oid::bigint                                                      AS oid,
       n.nspname                                                          AS schema,
       c.relname                                                          AS name,
       c.relkind::text                                                    AS kind,
       c.relispartition                                                   AS is_partition,
       greatest(c.reltuples, 0)::float8                                   AS reltuples,
       c.relpages::bigint                                                 AS relpages,
       coalesce(pg_catalog.pg_stat_get_live_tuples(c.oid), 0)::bigint     AS n_live_tup,
       coalesce(pg_catalog.pg_stat_get_dead_tuples(c.oid), 0)::bigint     AS n_dead_tup,
       coalesce(pg_catalog.pg_stat_get_numscans(c.oid), 0)::bigint        AS seq_scan,
       CASE WHEN %(estimate_sizes)s
            THEN ((greatest(c.relpages, 0)
                   + coalesce((SELECT tc.relpages FROM pg_catalog.pg_class tc WHERE tc.oid = c.reltoastrelid), 0))
                  * pg_catalog.current_setting('block_size')::bigint)::bigint
            WHEN c.relkind IN ('r', 'p', 'm') THEN pg_catalog.pg_table_size(c.oid)
            ELSE 0 END                                                     AS table_bytes,
       c.relreplident::text                                               AS replica_identity,
       CASE WHEN c.relkind = 'v' THEN pg_catalog.pg_get_viewdef(c.oid) END AS view_sql,
       (pg_catalog.has_schema_privilege(n.oid, 'USAGE')
        AND pg_catalog.has_table_privilege(c.oid, 'SELECT'))              AS can_select
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE CASE WHEN %(names)s::text[] IS NULL
           THEN c.relkind IN ('r', 'p')
                AND c.relpersistence <> 't'
                AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                AND n.nspname !~ '^pg_(toast|temp_)'
                AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                                WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                                  AND d.deptype = 'e')
                AND (%(schema)s::text IS NULL OR n.nspname = %(schema)s::text)
                AND (%(table)s::text IS NULL OR c.relname = %(table)s::text)
           ELSE c.relname = ANY (%(names)s::text[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'f') END
ORDER BY n.nspname, c.relname;
