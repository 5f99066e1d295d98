-- Which of these (schema, name) pairs already name a relation (an index, even an invalid one, a
-- table, a sequence …): a recommended index must not reuse one.
SELECT n.nspname::text AS schema, c.relname::text AS name
FROM unnest(%(schemas)s::text[], %(names)s::text[]) AS w(schema, name)
JOIN pg_catalog.pg_namespace n ON n.nspname = w.schema
JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = w.name;
