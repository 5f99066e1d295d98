-- An index by schema and name for indexes apply (perftool.migrations.apply): does it exist, is it valid,
-- is it a partitioned index (relkind I), its size.
SELECT i.indisvalid AS valid, c.relkind::text AS kind, pg_catalog.pg_relation_size(c.oid) AS size_bytes
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = %(schema)s AND c.relname = %(name)s
