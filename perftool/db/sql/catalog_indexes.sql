-- Indexes of the given tables, one row each, set-based (no per-column subqueries): the key and
-- INCLUDE columns as attribute numbers (0: an expression), operator class and collation oids
-- (names from catalog_names.sql, column names from catalog_columns.sql) and DESC / NULLS FIRST
-- options; pg_get_indexdef per column only for indexes with expressions; the partial-index
-- predicate; validity; the constraint it backs; size and scans (summed over a partitioned index's
-- tree). The full definition (pg_get_indexdef, costly) only for invalid indexes, or for every
-- index with %(definitions)s. size_bytes: pg_relation_size, or with %(estimate_sizes)s the
-- catalog's page count (as of the last VACUUM, ANALYZE, CREATE INDEX or REINDEX), which does not
-- open every index of a very large schema.
SELECT i.indexrelid::bigint                                                  AS oid,
       i.indrelid::bigint                                                    AS table_oid,
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
       i.indclass::oid[]                                                     AS opclass_oids,
       i.indcollation::oid[]                                                 AS collation_oids,
       i.indoption::int2[]                                                   AS options,
       CASE WHEN i.indexprs IS NOT NULL
            THEN ARRAY(SELECT pg_catalog.pg_get_indexdef(i.indexrelid, k.k, true)
                       FROM pg_catalog.generate_series(1, i.indnatts::int) AS k(k)
                       ORDER BY k.k) END                                     AS expression_defs,
       pg_catalog.pg_get_expr(i.indpred, i.indrelid, true)                   AS predicate,
       CASE WHEN %(definitions)s OR NOT i.indisvalid
            THEN pg_catalog.pg_get_indexdef(i.indexrelid) END                AS definition,
       CASE WHEN NOT %(estimate_sizes)s
            THEN CASE WHEN ic.relkind = 'I'
                      THEN (SELECT coalesce(sum(pg_catalog.pg_relation_size(p.relid)), 0)
                            FROM pg_catalog.pg_partition_tree(i.indexrelid) AS p)
                      ELSE pg_catalog.pg_relation_size(i.indexrelid) END
            ELSE (CASE WHEN ic.relkind = 'I'
                       THEN (SELECT coalesce(sum(greatest(pc.relpages, 0)), 0)
                             FROM pg_catalog.pg_partition_tree(i.indexrelid) AS p
                             JOIN pg_catalog.pg_class pc ON pc.oid = p.relid)
                       ELSE greatest(ic.relpages, 0) END
                  * pg_catalog.current_setting('block_size')::bigint) END::bigint AS size_bytes,
       CASE WHEN ic.relkind = 'I'
            THEN (SELECT coalesce(sum(pg_catalog.pg_stat_get_numscans(p.relid)), 0)
                  FROM pg_catalog.pg_partition_tree(i.indexrelid) AS p)
            ELSE coalesce(pg_catalog.pg_stat_get_numscans(i.indexrelid), 0) END::bigint AS idx_scan,
       k.contype::text                                                       AS constraint_type,
       k.conname::text                                                       AS constraint_name,
       EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h
               WHERE h.inhrelid = i.indexrelid)                              AS is_attached
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_am am ON am.oid = ic.relam
LEFT JOIN pg_catalog.pg_constraint k
       ON k.conindid = i.indexrelid AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x')
WHERE i.indrelid = ANY (%(oids)s::oid[])
ORDER BY i.indrelid, ic.relname;
