-- Columns of the given relations: type, whether a btree can index it (a default btree operator
-- class for the type, its domain base type, an array or an enum, or a binary-coercible type),
-- the collation (LIKE 'prefix%%' needs a pattern operator class unless it is C), and planner
-- statistics (distinct values, most common values) for partial-index candidates.
SELECT a.attrelid::bigint                                          AS oid,
       a.attname                                                   AS name,
       a.attnum                                                    AS position,
       pg_catalog.format_type(a.atttypid, a.atttypmod)             AS type,
       bt.typname                                                  AS base_type,
       a.attnotnull                                                AS not_null,
       coalesce(cl.collname, '')                                   AS collation,
       (bt.typcategory = 'A' OR bt.typtype = 'e' OR EXISTS (
            SELECT 1
            FROM pg_catalog.pg_opclass oc
            JOIN pg_catalog.pg_am am ON am.oid = oc.opcmethod AND am.amname = 'btree'
            WHERE oc.opcdefault
              AND (oc.opcintype = bt.oid
                   OR EXISTS (SELECT 1 FROM pg_catalog.pg_cast ca
                              WHERE ca.castsource = bt.oid AND ca.casttarget = oc.opcintype
                                AND ca.castmethod = 'b'))))        AS btree_ok,
       s.n_distinct::float8                                        AS n_distinct,
       s.null_frac::float8                                         AS null_frac,
       s.most_common_vals::text                                    AS most_common_vals,
       s.most_common_freqs::float8[]                               AS most_common_freqs,
       s.avg_width                                                 AS avg_width
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
JOIN pg_catalog.pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
LEFT JOIN pg_catalog.pg_collation cl ON cl.oid = a.attcollation
LEFT JOIN pg_catalog.pg_stats s
       ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname
      AND s.inherited = (c.relkind = 'p')   -- a partitioned parent has only inherited stats
WHERE a.attrelid = ANY (%(oids)s::oid[])
  AND a.attnum > 0
  AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum;
