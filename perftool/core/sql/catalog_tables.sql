-- Tables and partitioned tables of this database outside the system schemas and extensions:
-- rows, pages, sizes, scans and whether a primary key exists. %(schema)s / %(table)s narrow the
-- scope when not NULL.
SELECT c.oid::bigint                                                      AS oid,
       n.nspname                                                          AS schema,
       c.relname                                                          AS name,
       c.relkind::text                                                    AS kind,
       c.relispartition                                                   AS is_partition,
       greatest(c.reltuples, 0)::float8                                   AS reltuples,
       c.relpages::bigint                                                 AS relpages,
       coalesce(s.n_live_tup, 0)::bigint                                  AS n_live_tup,
       coalesce(s.n_dead_tup, 0)::bigint                                  AS n_dead_tup,
       coalesce(s.seq_scan, 0)::bigint                                    AS seq_scan,
       coalesce(s.idx_scan, 0)::bigint                                    AS idx_scan,
       pg_catalog.pg_table_size(c.oid)::bigint                            AS table_bytes,
       EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k
               WHERE k.conrelid = c.oid AND k.contype = 'p')              AS has_pk,
       c.relreplident::text                                               AS replica_identity
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_stat_user_tables s ON s.relid = c.oid
WHERE c.relkind IN ('r', 'p')
  AND c.relpersistence <> 't'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_)'
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                  WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
  AND (%(schema)s::text IS NULL OR n.nspname = %(schema)s::text)
  AND (%(table)s::text IS NULL OR c.relname = %(table)s::text)
ORDER BY n.nspname, c.relname;
