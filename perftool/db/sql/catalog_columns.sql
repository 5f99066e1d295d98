-- Columns of the given tables: type, its category (A array, B boolean) through domains, whether a
-- btree can index it (a default btree operator class for the base type, an array or an enum, or a
-- binary-coercible type), NOT NULL, collation, the planner's statistics (null fraction, distinct
-- values, average width, physical-order correlation), and the name quoted as pg_get_indexdef prints it (index columns are
-- matched by attnum to these rows).
-- stats_visible: pg_stats' own condition — it shows a column only to a role that may SELECT it
-- (and not under row security), so NULL statistics are "hidden", not "never analysed".
-- Set-based: the privilege and row-security tests once per table (the column test only where the
-- table test fails), format_type once per distinct type, pg_stats matched to the tables by name
-- once (it has no oids) and then to the columns by table oid and name.
WITH rels AS MATERIALIZED (
    SELECT c.oid, n.nspname, c.relname, c.relkind,
           pg_catalog.has_table_privilege(c.oid, 'SELECT')                  AS can_select,
           (c.relrowsecurity AND pg_catalog.row_security_active(c.oid))      AS row_security
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = ANY (%(oids)s::oid[])
), cols AS MATERIALIZED (
    SELECT a.attrelid, a.attnum, a.attname, a.atttypid, a.atttypmod, a.attnotnull, a.attcollation
    FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = ANY (%(oids)s::oid[])
      AND a.attnum > 0
      AND NOT a.attisdropped
), types AS MATERIALIZED (   -- btree_ok once per type, not per column
    SELECT u.atttypid, u.atttypmod,
           pg_catalog.format_type(u.atttypid, u.atttypmod)               AS type,
           bt.typname::text                                              AS base_type,
           bt.typcategory::text                                          AS category,
           (bt.typcategory = 'A' OR bt.typtype = 'e' OR EXISTS (
                SELECT 1
                FROM pg_catalog.pg_opclass oc
                JOIN pg_catalog.pg_am am ON am.oid = oc.opcmethod AND am.amname = 'btree'
                WHERE oc.opcdefault
                  AND (oc.opcintype = bt.oid
                       OR EXISTS (SELECT 1 FROM pg_catalog.pg_cast ca
                                  WHERE ca.castsource = bt.oid AND ca.casttarget = oc.opcintype
                                    AND ca.castmethod = 'b'))))    AS btree_ok
    FROM (SELECT DISTINCT atttypid, atttypmod FROM cols) u
    JOIN pg_catalog.pg_type t ON t.oid = u.atttypid
    JOIN pg_catalog.pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
), stats AS MATERIALIZED (
    SELECT r.oid AS attrelid, s.attname, s.null_frac, s.n_distinct, s.avg_width, s.correlation
    FROM pg_catalog.pg_stats s
    JOIN rels r ON r.nspname = s.schemaname AND r.relname = s.tablename AND s.inherited = (r.relkind = 'p')
)
SELECT a.attrelid::bigint                                        AS table_oid,
       a.attnum::int                                             AS attnum,
       a.attname                                                 AS name,
       ty.type                                                   AS type,
       ty.base_type                                              AS base_type,
       ty.category                                               AS category,
       a.attnotnull                                              AS not_null,
       coalesce(cl.collname, '')::text                           AS collation,
       s.null_frac::float8                                       AS null_frac,
       s.n_distinct::float8                                      AS n_distinct,
       s.avg_width::int                                          AS avg_width,
       s.correlation::float8                                     AS correlation,
       ((r.can_select OR pg_catalog.has_column_privilege(a.attrelid, a.attnum, 'SELECT'))
        AND NOT r.row_security)                                  AS stats_visible,
       ty.btree_ok                                               AS btree_ok,
       pg_catalog.quote_ident(a.attname)                         AS quoted
FROM cols a
JOIN rels r ON r.oid = a.attrelid
JOIN types ty ON ty.atttypid = a.atttypid AND ty.atttypmod = a.atttypmod
LEFT JOIN pg_catalog.pg_collation cl ON cl.oid = a.attcollation
LEFT JOIN stats s ON s.attrelid = a.attrelid AND s.attname = a.attname
ORDER BY a.attrelid, a.attnum;
