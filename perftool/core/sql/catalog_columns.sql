-- Columns of the given tables: type, its category (A array, B boolean) through domains, NOT NULL,
-- collation, and the planner's statistics (null fraction, distinct values, average width).
-- stats_visible: pg_stats' own condition — it shows a column only to a role that may SELECT it
-- (and not under row security), so NULL statistics are "hidden", not "never analysed".
SELECT a.attrelid::bigint                                        AS table_oid,
       a.attnum::int                                             AS attnum,
       a.attname                                                 AS name,
       pg_catalog.format_type(a.atttypid, a.atttypmod)           AS type,
       bt.typname::text                                          AS base_type,
       bt.typcategory::text                                      AS category,
       a.attnotnull                                              AS not_null,
       coalesce(cl.collname, '')::text                           AS collation,
       s.null_frac::float8                                       AS null_frac,
       s.n_distinct::float8                                      AS n_distinct,
       s.avg_width::int                                          AS avg_width,
       (pg_catalog.has_column_privilege(c.oid, a.attnum, 'SELECT')
        AND NOT (c.relrowsecurity AND pg_catalog.row_security_active(c.oid))) AS stats_visible
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
JOIN pg_catalog.pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
LEFT JOIN pg_catalog.pg_collation cl ON cl.oid = a.attcollation
LEFT JOIN pg_catalog.pg_stats s
       ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname
      AND s.inherited = (c.relkind = 'p')
WHERE a.attrelid = ANY (%(oids)s::oid[])
  AND a.attnum > 0
  AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum;
