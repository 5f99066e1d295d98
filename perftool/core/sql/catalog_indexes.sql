-- Indexes of the given tables, one row each: every key column with its definition (a column name
-- or an expression as pg_get_indexdef prints it), operator class (and whether it is the type's
-- default), collation, DESC / NULLS FIRST flags; INCLUDE columns; the partial-index predicate;
-- validity; the constraint it backs; size and scans (summed over a partitioned index's tree).
SELECT i.indexrelid::bigint                                                  AS oid,
       i.indrelid::bigint                                                    AS table_oid,
       n.nspname                                                             AS schema,
       t.relname                                                             AS table,
       ic.relname                                                            AS name,
       ic.relkind::text                                                      AS kind,
       am.amname::text                                                       AS method,
       i.indisunique                                                         AS is_unique,
       i.indisprimary                                                        AS is_primary,
       i.indisexclusion                                                      AS is_exclusion,
       i.indisvalid                                                          AS is_valid,
       i.indisready                                                          AS is_ready,
       i.indnkeyatts::int                                                    AS key_count,
       i.indkey::int2[]                                                      AS attnums,
       ARRAY(SELECT pg_catalog.pg_get_indexdef(i.indexrelid, k, true)
             FROM generate_series(1, i.indnatts) AS k ORDER BY k)            AS column_defs,
       ARRAY(SELECT coalesce(a.attname::text, '')
             FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS u(attnum, ord)
             LEFT JOIN pg_catalog.pg_attribute a
                    ON a.attrelid = i.indrelid AND a.attnum = u.attnum AND u.attnum > 0
             ORDER BY u.ord)                                                 AS column_names,
       ARRAY(SELECT coalesce(oc.opcname::text, '')
             FROM unnest(i.indclass::oid[]) WITH ORDINALITY AS u(opc, ord)
             LEFT JOIN pg_catalog.pg_opclass oc ON oc.oid = u.opc
             ORDER BY u.ord)                                                 AS opclasses,
       ARRAY(SELECT coalesce(oc.opcdefault, true)
             FROM unnest(i.indclass::oid[]) WITH ORDINALITY AS u(opc, ord)
             LEFT JOIN pg_catalog.pg_opclass oc ON oc.oid = u.opc
             ORDER BY u.ord)                                                 AS opclass_defaults,
       ARRAY(SELECT coalesce(co.collname::text, '')
             FROM unnest(i.indcollation::oid[]) WITH ORDINALITY AS u(coll, ord)
             LEFT JOIN pg_catalog.pg_collation co ON co.oid = u.coll
             ORDER BY u.ord)                                                 AS collations,
       ARRAY(SELECT coalesce(cc.collname::text, '')
             FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS u(attnum, ord)
             LEFT JOIN pg_catalog.pg_attribute a
                    ON a.attrelid = i.indrelid AND a.attnum = u.attnum AND u.attnum > 0
             LEFT JOIN pg_catalog.pg_collation cc ON cc.oid = a.attcollation
             ORDER BY u.ord)                                                 AS column_collations,
       ARRAY(SELECT (u.opt::int & 1) = 1
             FROM unnest(i.indoption::int2[]) WITH ORDINALITY AS u(opt, ord)
             ORDER BY u.ord)                                                 AS descending,
       ARRAY(SELECT (u.opt::int & 2) = 2
             FROM unnest(i.indoption::int2[]) WITH ORDINALITY AS u(opt, ord)
             ORDER BY u.ord)                                                 AS nulls_first,
       pg_catalog.pg_get_expr(i.indpred, i.indrelid, true)                   AS predicate,
       pg_catalog.pg_get_indexdef(i.indexrelid)                              AS definition,
       CASE WHEN ic.relkind = 'I'
            THEN (SELECT coalesce(sum(pg_catalog.pg_relation_size(p.relid)), 0)
                  FROM pg_catalog.pg_partition_tree(i.indexrelid) AS p)
            ELSE pg_catalog.pg_relation_size(i.indexrelid) END::bigint       AS size_bytes,
       CASE WHEN ic.relkind = 'I'
            THEN (SELECT coalesce(sum(s.idx_scan), 0)
                  FROM pg_catalog.pg_partition_tree(i.indexrelid) AS p
                  JOIN pg_catalog.pg_stat_user_indexes s ON s.indexrelid = p.relid)
            ELSE (SELECT coalesce(s.idx_scan, 0) FROM pg_catalog.pg_stat_user_indexes s
                  WHERE s.indexrelid = i.indexrelid) END::bigint             AS idx_scan,
       k.contype::text                                                       AS constraint_type,
       k.conname::text                                                       AS constraint_name,
       EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h
               WHERE h.inhrelid = i.indexrelid)                              AS is_attached
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
JOIN pg_catalog.pg_am am ON am.oid = ic.relam
LEFT JOIN pg_catalog.pg_constraint k
       ON k.conindid = i.indexrelid AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x')
WHERE i.indrelid = ANY (%(oids)s::oid[])
ORDER BY n.nspname, t.relname, ic.relname;
