-- Estimated bloat of the given tables from the planner's statistics (no table is read): the pages
-- the live rows would need at the table's fillfactor, from average row widths and null fractions,
-- against the pages the table has. The method of ioguix/pgsql-bloat-estimation (table_bloat.sql).
-- `is_na`: the estimate is unreliable (a column without statistics, or of type name).
WITH const AS (
    SELECT current_setting('block_size')::numeric AS bs,
           24                                     AS page_hdr,
           CASE WHEN version() ~ 'mingw32|64-bit|x86_64|ppc64|ia64|amd64|aarch64|arm64' THEN 8 ELSE 4 END AS ma
), cols AS (
    SELECT c.oid                                                             AS oid,
           n.nspname                                                         AS schema,
           c.relname                                                         AS tbl,
           c.reltuples                                                       AS reltuples,
           c.relpages                                                        AS heappages,
           coalesce(toast.relpages, 0)                                       AS toastpages,
           coalesce(toast.reltuples, 0)                                      AS toasttuples,
           coalesce(substring(array_to_string(c.reloptions, ' ') FROM 'fillfactor=([0-9]+)')::smallint, 100) AS fillfactor,
           23 + CASE WHEN max(coalesce(s.null_frac, 0)) > 0 THEN (7 + count(*)) / 8 ELSE 0 END AS tpl_hdr_size,
           sum((1 - coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 0))   AS tpl_data_size,
           bool_or(a.atttypid = 'pg_catalog.name'::regtype) OR count(*) <> count(s.attname) AS is_na
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_catalog.pg_stats s
           ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname AND NOT s.inherited
    LEFT JOIN pg_catalog.pg_class toast ON toast.oid = c.reltoastrelid
    WHERE a.attnum > 0
      AND NOT a.attisdropped
      AND c.relkind = 'r'
      AND c.oid = ANY (%(oids)s::oid[])
    GROUP BY c.oid, n.nspname, c.relname, c.reltuples, c.relpages, toast.relpages, toast.reltuples, c.reloptions
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
ORDER BY schema, tbl;
