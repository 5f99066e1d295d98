-- The direct partitions of the tables a migration indexes (pairs of schema and table names), with their
-- kind (r: a table, p: partitioned again), for ON ONLY parent + each partition CONCURRENTLY + ATTACH.
SELECT w.schema_name, w.table_name, pc.relkind::text AS parent_kind, cn.nspname AS partition_schema,
       c.relname AS partition_name, c.relkind::text AS kind
  FROM unnest(%(schemas)s::text[], %(tables)s::text[]) AS w(schema_name, table_name)  -- the FROM-only form
  JOIN pg_catalog.pg_namespace pn ON pn.nspname = w.schema_name
  JOIN pg_catalog.pg_class pc ON pc.relnamespace = pn.oid AND pc.relname = w.table_name
  LEFT JOIN pg_catalog.pg_inherits i ON i.inhparent = pc.oid
  LEFT JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
  LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace
 WHERE pc.relkind = 'p'
 ORDER BY 1, 2, 4, 5
