-- Pre-flight of indexes apply: size and write counters of the tables to be indexed (pairs of schema and
-- table names); two samples give the write rate.
SELECT w.schema_name, w.table_name, pg_catalog.pg_total_relation_size(c.oid) AS total_bytes,
       pg_catalog.pg_relation_size(c.oid) AS heap_bytes,
       COALESCE(s.n_tup_ins + s.n_tup_upd + s.n_tup_del, 0) AS writes, COALESCE(s.n_live_tup, 0) AS live_rows
  FROM unnest(%(schemas)s::text[], %(tables)s::text[]) AS w(schema_name, table_name)  -- the FROM-only form
  JOIN pg_catalog.pg_namespace n ON n.nspname = w.schema_name
  JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = w.table_name
  LEFT JOIN pg_catalog.pg_stat_user_tables s ON s.relid = c.oid
