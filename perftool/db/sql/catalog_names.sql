-- Operator classes (name, whether the type's default) and collations by oid: the index query
-- returns oids, and the few hundred names are looked up once instead of joined per index column.
SELECT 'opclass' AS kind, oc.oid::bigint AS oid, oc.opcname::text AS name, oc.opcdefault AS is_default
FROM pg_catalog.pg_opclass oc
UNION ALL
SELECT 'collation', co.oid::bigint, co.collname::text, true
FROM pg_catalog.pg_collation co;
