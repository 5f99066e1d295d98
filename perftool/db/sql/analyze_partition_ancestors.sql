-- The partitioned tables each partition belongs to, nearest first (analyze's T201 on a partition:
-- the statements name the partitioned table, and the index advisor recommends on it).
SELECT n.nspname AS schema, c.relname AS "table", an.nspname AS ancestor_schema, a.relname AS ancestor
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL pg_catalog.pg_partition_ancestors(c.oid) WITH ORDINALITY AS x(relid, depth)
JOIN pg_catalog.pg_class a ON a.oid = x.relid
JOIN pg_catalog.pg_namespace an ON an.oid = a.relnamespace
WHERE c.relispartition AND x.relid <> c.oid
ORDER BY 1, 2, x.depth;
