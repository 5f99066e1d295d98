-- Foreign keys declared on the given tables (not the copies PostgreSQL makes on each partition):
-- referencing columns in key order and the referenced table and columns. Run with nested loops
-- allowed (catalog_nestloop.sql): the keys, a few per thousand tables, find their tables in
-- pg_class by index, where bulk hash joins read all of pg_class twice (2,500 tables of a
-- 10,000-table schema, as catalog_parts reads them: 34 → 11 ms; the whole schema: the same).
SELECT k.oid::bigint                                                AS oid,
       k.conname::text                                              AS name,
       k.conrelid::bigint                                           AS table_oid,
       n.nspname                                                    AS schema,
       c.relname                                                    AS table,
       k.conkey::int2[]                                             AS attnums,
       ARRAY(SELECT a.attname::text
             FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, ord)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum
             ORDER BY u.ord)                                        AS columns,
       rn.nspname                                                   AS ref_schema,
       rc.relname                                                   AS ref_table,
       ARRAY(SELECT a.attname::text
             FROM unnest(k.confkey) WITH ORDINALITY AS u(attnum, ord)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum
             ORDER BY u.ord)                                        AS ref_columns
FROM pg_catalog.pg_constraint k
JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_class rc ON rc.oid = k.confrelid
JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
WHERE k.contype = 'f'
  AND k.conparentid = 0
  AND k.conrelid = ANY (%(oids)s::oid[])
ORDER BY n.nspname, c.relname, k.conname;
