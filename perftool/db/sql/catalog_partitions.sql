-- Leaf partitions of the given partitioned tables (the advisor writes an index statement per partition).
SELECT p.oid::bigint AS parent_oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS kind
FROM unnest(%(oids)s::oid[]) AS p(oid)
CROSS JOIN LATERAL pg_catalog.pg_partition_tree(p.oid) AS t
JOIN pg_catalog.pg_class c ON c.oid = t.relid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE t.relid <> p.oid AND t.isleaf
ORDER BY 1, 2, 3;
