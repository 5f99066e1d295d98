-- Relations a workload names (tables, partitioned tables, views, materialized views, foreign
-- tables), with the session's search-path position to resolve unqualified names, view texts to
-- inline, and size estimates. %(names)s: relation names (case as stored). can_select: the session
-- may read it (EXPLAIN needs that, and pg_stats shows its columns only then).
SELECT c.oid::bigint                                                  AS oid,
       n.nspname                                                      AS schema,
       c.relname                                                      AS name,
       c.relkind::text                                                AS kind,
       greatest(c.reltuples, 0)::float8                               AS reltuples,
       c.relpages::bigint                                             AS relpages,
       c.relispartition                                               AS is_partition,
       CASE WHEN c.relkind = 'v' THEN pg_catalog.pg_get_viewdef(c.oid) END AS view_sql,
       array_position(pg_catalog.current_schemas(true), n.nspname)    AS search_position,
       (pg_catalog.has_schema_privilege(n.oid, 'USAGE')
        AND pg_catalog.has_table_privilege(c.oid, 'SELECT'))          AS can_select
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname = ANY (%(names)s)
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
ORDER BY n.nspname, c.relname;
