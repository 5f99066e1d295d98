-- Estimated bloat of the given tables from the planner's statistics (no table is read): the pages
-- the live rows would need at the table's fillfactor, from average row widths and null fractions,
-- against the pages the table has. The method of ioguix/pgsql-bloat-estimation (table_bloat.sql).
-- `is_na`: the estimate is unreliable (a column without statistics, or of type name). Set-based:
-- columns and statistics aggregated per table, then joined by table oid.
WITH const AS MATERIALIZED (   -- once, not per row (an inlined CTE repeats version() ~ … per use)
    SELECT current_setting('block_size')::numeric AS bs,
           24                                     AS page_hdr,
           CASE WHEN version() ~ 'mingw32|64-bit|x86_64|ppc64|ia64|amd64|aarch64|arm64' THEN 8 ELSE 4 END AS ma
), rels AS MATERIALIZED (
    SELECT c.oid, n.nspname, c.relname, c.reltuples, c.relpages, c.reloptions, c.reltoastrelid
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r'
      AND c.oid = ANY (%(oids)s::oid[])
), atts AS (      -- per table: its columns, and whether one is of type name
    SELECT a.attrelid                                                        AS oid,
           count(*)                                                          AS ncols,
           bool_or(a.atttypid = 'pg_catalog.name'::regtype)                  AS has_name
    FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = ANY (%(oids)s::oid[])
      AND a.attnum > 0
      AND NOT a.attisdropped
    GROUP BY a.attrelid
), st AS (        -- per table: its columns' statistics, matched by name once per table (not per column)
    SELECT r.oid,
           max(coalesce(s.null_frac, 0))                                     AS max_null_frac,
           sum((1 - coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 0))   AS data_size,
           count(*)                                                          AS nstats
    FROM pg_catalog.pg_stats s
    JOIN rels r ON r.nspname = s.schemaname AND r.relname = s.tablename
    WHERE NOT s.inherited
    GROUP BY r.oid
), cols AS (
    SELECT r.oid                                                             AS oid,
           r.nspname                                                         AS schema,
           r.relname                                                         AS tbl,
           r.reltuples                                                       AS reltuples,
           r.relpages                                                        AS heappages,
           coalesce(toast.relpages, 0)                                       AS toastpages,
           coalesce(toast.reltuples, 0)                                      AS toasttuples,
           coalesce(substring(array_to_string(r.reloptions, ' ') FROM 'fillfactor=([0-9]+)')::smallint, 100) AS fillfactor,
           23 + CASE WHEN coalesce(st.max_null_frac, 0) > 0 THEN (7 + at.ncols) / 8 ELSE 0 END AS tpl_hdr_size,
           coalesce(st.data_size, 0)                                         AS tpl_data_size,
           at.has_name OR at.ncols <> coalesce(st.nstats, 0)                 AS is_na
    FROM rels r
    JOIN atts at ON at.oid = r.oid
    LEFT JOIN st ON st.oid = r.oid
    LEFT JOIN pg_catalog.pg_class toast ON toast.oid = r.reltoastrelid
), sizes AS (
    SELECT cols.*, const.*,
           heappages + toastpages AS tblpages,
           (4 + tpl_hdr_size + tpl_data_size + 2 * ma
              - CASE WHEN mod(tpl_hdr_size, ma) = 0 THEN ma ELSE mod(tpl_hdr_size, ma) END
              - CASE WHEN mod(ceil(tpl_data_size)::int, ma) = 0 THEN ma ELSE mod(ceil(tpl_data_size)::int, ma) END
           )::numeric AS tpl_size
    FROM cols CROSS JOIN const
), est AS (
    SELECT sizes.*,
           ceil(greatest(reltuples, 0) / ((bs - page_hdr) * fillfactor / (tpl_size * 100)))
             + ceil(toasttuples / 4) AS est_pages_ff
    FROM sizes
)
SELECT oid::bigint                                                           AS oid,
       schema,
       tbl                                                                   AS table,
       NULL::text                                                            AS index,
       (tblpages * bs)::bigint                                               AS real_bytes,
       (greatest(tblpages - est_pages_ff, 0) * bs)::bigint                   AS bloat_bytes,
       (CASE WHEN tblpages > 0 THEN greatest(tblpages - est_pages_ff, 0) / tblpages ELSE 0 END)::float8 AS bloat_ratio,
       fillfactor::int                                                       AS fillfactor,
       (is_na OR reltuples < 0)                                              AS is_na
FROM est
WHERE tblpages > est_pages_ff          -- only tables with some bloat: the rest tell a check nothing
ORDER BY schema, tbl;
