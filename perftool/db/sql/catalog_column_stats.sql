-- The planner's statistics of the columns of the given tables (by schema and table name: pg_stats
-- has no oids; the reader keeps the pairs it asked for), as pg_stats shows them: only columns the
-- role may SELECT. Run with nested loops allowed (catalog_nestloop.sql): each pg_statistic row is
-- found in pg_class and pg_attribute by index, where bulk joins would scan every attribute of the
-- database (274,000 rows for a schema of 10,000 tables).
SELECT s.schemaname::text                                        AS schema,
       s.tablename::text                                         AS table,
       s.attname::text                                           AS name,
       s.inherited                                               AS inherited,
       s.null_frac::float8                                       AS null_frac,
       s.n_distinct::float8                                      AS n_distinct,
       s.avg_width::int                                          AS avg_width,
       s.correlation::float8                                     AS correlation
FROM pg_catalog.pg_stats s
WHERE s.schemaname = ANY (%(schemas)s::name[])
  AND s.tablename = ANY (%(tables)s::name[]);   -- name = name: a hashed lookup, not a scan of the array
