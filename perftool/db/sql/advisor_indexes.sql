-- Existing indexes of the given tables: key columns in order (NULL for an expression), INCLUDE
-- columns, DESC flags, access method, uniqueness, partial predicate, validity and size.
SELECT i.indrelid::bigint                                                   AS table_oid,
       ic.relname                                                           AS name,
       am.amname                                                            AS method,
       i.indisunique                                                        AS is_unique,
       i.indisprimary                                                       AS is_primary,
       i.indisvalid                                                         AS is_valid,
       i.indnkeyatts                                                        AS key_count,
       ARRAY(SELECT a.attname::text
             FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
             LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0
             ORDER BY k.ord)                                                AS columns,
       ARRAY(SELECT (o.opt::int & 1) = 1
             FROM unnest(i.indoption::int2[]) WITH ORDINALITY AS o(opt, ord)
             ORDER BY o.ord)                                                AS descending,
       -- plain: every key column with its type's default operator class, its own collation and
       -- NULLS in the default place, so the index serves what a plain candidate would
       NOT EXISTS (SELECT 1
                   FROM unnest(i.indclass::oid[], i.indcollation::oid[], i.indoption::int2[], i.indkey::int2[])
                        WITH ORDINALITY AS k(opclass, coll, opt, attnum, ord)
                   LEFT JOIN pg_catalog.pg_opclass oc ON oc.oid = k.opclass
                   LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                   WHERE k.ord <= i.indnkeyatts
                     AND (NOT coalesce(oc.opcdefault, false)
                          OR (k.coll <> 0 AND k.coll IS DISTINCT FROM a.attcollation)
                          OR ((k.opt::int & 2) = 2) <> ((k.opt::int & 1) = 1)))  AS plain,
       pg_catalog.pg_get_expr(i.indpred, i.indrelid)                        AS predicate,
       pg_catalog.pg_get_indexdef(i.indexrelid)                             AS definition,
       pg_catalog.pg_relation_size(i.indexrelid)::bigint                    AS size_bytes
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_am am ON am.oid = ic.relam
WHERE i.indrelid = ANY (%(oids)s::oid[])
ORDER BY i.indrelid, ic.relname;
