-- Columns of the given tables: type, its category (A array, B boolean) through domains, whether a
-- btree can index it (a default btree operator class for the base type, an array or an enum, or a
-- binary-coercible type), NOT NULL, collation oid (named through catalog_names.sql), and the name
-- quoted as pg_get_indexdef prints it when that differs from the name (index columns are matched
-- by attnum to these rows). The planner's statistics come from catalog_column_stats.sql.
-- stats_visible: pg_stats' own condition — it shows a column only to a role that may SELECT it
-- (and not under row security), so NULL statistics are "hidden", not "never analysed".
-- Every column, or with %(all_columns)s false only those the health checks look at: the key and
-- INCLUDE columns of an index, the columns of a foreign key, and every column of a table without a
-- primary key (T102 looks for a NOT NULL unique key and names a new one) — on a schema of 10,000
-- tables, a third of the rows.
-- Set-based: the privilege and row-security tests once per table (the column test only where the
-- table test fails), format_type and btree_ok once per distinct type, whose pg_type rows are found
-- by oid (LATERAL … OFFSET 0: not a hash join over pg_type, which holds a row type and an array
-- type per table: 20,000 rows read twice on a schema of 10,000 tables, 10 ms a catalog part).
WITH rels AS MATERIALIZED (
    SELECT c.oid,
           pg_catalog.has_table_privilege(c.oid, 'SELECT')                  AS can_select,
           (c.relrowsecurity AND pg_catalog.row_security_active(c.oid))      AS row_security
    FROM pg_catalog.pg_class c
    WHERE c.oid = ANY (%(oids)s::oid[])
), used AS MATERIALIZED (   -- the columns the checks need (when not %(all_columns)s)
    SELECT i.indrelid AS attrelid, k.attnum
    FROM pg_catalog.pg_index i, pg_catalog.unnest(i.indkey::int2[]) AS k(attnum)
    WHERE NOT %(all_columns)s AND i.indrelid = ANY (%(oids)s::oid[])
    UNION
    SELECT f.conrelid, k.attnum
    FROM pg_catalog.pg_constraint f, pg_catalog.unnest(f.conkey) AS k(attnum)
    WHERE NOT %(all_columns)s AND f.contype = 'f' AND f.conrelid = ANY (%(oids)s::oid[])
), keyless AS MATERIALIZED (   -- tables without a primary key: all their columns
    SELECT r.oid FROM rels r
    WHERE NOT %(all_columns)s
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint p WHERE p.conrelid = r.oid AND p.contype = 'p')
), cols AS MATERIALIZED (
    SELECT a.attrelid, a.attnum, a.attname, a.atttypid, a.atttypmod, a.attnotnull, a.attcollation
    FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = ANY (%(oids)s::oid[])
      AND a.attnum > 0
      AND NOT a.attisdropped
      AND (%(all_columns)s
           OR (a.attrelid, a.attnum) IN (SELECT u.attrelid, u.attnum FROM used u)
           OR a.attrelid IN (SELECT k.oid FROM keyless k))
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
    CROSS JOIN LATERAL (SELECT CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END AS oid
                        FROM pg_catalog.pg_type t WHERE t.oid = u.atttypid OFFSET 0) b
    CROSS JOIN LATERAL (SELECT * FROM pg_catalog.pg_type x WHERE x.oid = b.oid OFFSET 0) bt
)
SELECT a.attrelid::bigint                                        AS table_oid,
       a.attnum::int                                             AS attnum,
       a.attname::text                                           AS name,
       ty.type                                                   AS type,
       ty.base_type                                              AS base_type,
       ty.category                                               AS category,
       a.attnotnull                                              AS not_null,
       a.attcollation::bigint                                    AS collation_oid,
       ((r.can_select OR pg_catalog.has_column_privilege(a.attrelid, a.attnum, 'SELECT'))
        AND NOT r.row_security)                                  AS stats_visible,
       ty.btree_ok                                               AS btree_ok,
       CASE WHEN pg_catalog.quote_ident(a.attname) <> a.attname
            THEN pg_catalog.quote_ident(a.attname) END            AS quoted
FROM cols a
JOIN rels r ON r.oid = a.attrelid
JOIN types ty ON ty.atttypid = a.atttypid AND ty.atttypmod = a.atttypmod
ORDER BY a.attrelid, a.attnum;
