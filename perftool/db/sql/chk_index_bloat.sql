-- Estimated bloat of the btree indexes of the given tables from the planner's statistics (no index
-- is read): the leaf pages the index's tuples would need at its fillfactor, from the average width
-- and null fraction of each column (an expression's own statistics for expression columns), against
-- the pages it has. The method of ioguix/pgsql-bloat-estimation (btree_bloat.sql). Deduplication
-- (PG 13+) makes indexes smaller than this estimate, and a variable-width column counts one byte
-- more than pg_stats' avg_width (an integer, rounded down), so it errs towards "no bloat".
WITH const AS MATERIALIZED (   -- once, not per row (an inlined CTE repeats version() ~ … per use)
    SELECT current_setting('block_size')::numeric AS bs,
           24                                     AS pagehdr,
           16                                     AS pageopqdata,
           CASE WHEN version() ~ 'mingw32|64-bit|x86_64|ppc64|ia64|amd64|aarch64|arm64' THEN 8 ELSE 4 END AS ma
), idx AS (
    SELECT i.indexrelid,
           i.indrelid,
           n.nspname                                                         AS schema,
           t.relname                                                         AS tbl,
           ic.relname                                                        AS idx,
           ic.reltuples,
           ic.relpages,
           coalesce(substring(array_to_string(ic.reloptions, ' ') FROM 'fillfactor=([0-9]+)')::smallint, 90) AS fillfactor,
           i.indkey::int2[]                                                  AS indkey
    FROM pg_catalog.pg_index i
    JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
    JOIN pg_catalog.pg_am am ON am.oid = ic.relam AND am.amname = 'btree'
    WHERE ic.relkind = 'i'
      AND ic.relpages > 0
      AND i.indisvalid
      AND i.indrelid = ANY (%(oids)s::oid[])
), cols AS (
    SELECT idx.indexrelid,
           s.null_frac,
           s.avg_width + CASE WHEN ty.typlen = -1 THEN 1 ELSE 0 END          AS avg_width,
           a.atttypid,
           s.attname IS NULL                                                 AS no_stats
    FROM idx
    CROSS JOIN LATERAL unnest(idx.indkey) WITH ORDINALITY AS u(attnum, ord)
    LEFT JOIN pg_catalog.pg_attribute a
           ON a.attrelid = CASE WHEN u.attnum <> 0 THEN idx.indrelid ELSE idx.indexrelid END
          AND a.attnum = CASE WHEN u.attnum <> 0 THEN u.attnum ELSE u.ord::int2 END
    LEFT JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid
    LEFT JOIN pg_catalog.pg_class ac ON ac.oid = a.attrelid
    LEFT JOIN pg_catalog.pg_namespace an ON an.oid = ac.relnamespace
    LEFT JOIN pg_catalog.pg_stats s
           ON s.schemaname = an.nspname AND s.tablename = ac.relname AND s.attname = a.attname AND NOT s.inherited
), agg AS (
    SELECT indexrelid,
           CASE WHEN max(coalesce(null_frac, 0)) = 0 THEN 8 ELSE 8 + ((32 + 8 - 1) / 8) END AS index_tuple_hdr_bm,
           sum((1 - coalesce(null_frac, 0)) * coalesce(avg_width, 1024))   AS nulldatawidth,
           bool_or(atttypid = 'pg_catalog.name'::regtype) OR bool_or(no_stats) AS is_na
    FROM cols
    GROUP BY indexrelid
), sizes AS (
    SELECT idx.*, agg.is_na, const.*,
           (index_tuple_hdr_bm + ma
              - CASE WHEN mod(index_tuple_hdr_bm, ma) = 0 THEN ma ELSE mod(index_tuple_hdr_bm, ma) END
              + nulldatawidth + ma
              - CASE WHEN nulldatawidth = 0 THEN 0
                     WHEN mod(nulldatawidth::int, ma) = 0 THEN ma
                     ELSE mod(nulldatawidth::int, ma) END
           )::numeric AS nulldatahdrwidth
    FROM idx
    JOIN agg USING (indexrelid)
    CROSS JOIN const
), est AS (
    SELECT sizes.*,
           coalesce(1 + ceil(greatest(reltuples, 0)
                             / floor((bs - pageopqdata - pagehdr) * fillfactor / (100 * (4 + nulldatahdrwidth)))), 0)
             AS est_pages_ff
    FROM sizes
)
SELECT indexrelid::bigint                                                    AS oid,
       schema,
       tbl                                                                   AS table,
       idx                                                                   AS index,
       (relpages * bs)::bigint                                               AS real_bytes,
       (greatest(relpages - est_pages_ff, 0) * bs)::bigint                   AS bloat_bytes,
       (CASE WHEN relpages > 0 THEN greatest(relpages - est_pages_ff, 0) / relpages ELSE 0 END)::float8 AS bloat_ratio,
       fillfactor::int                                                       AS fillfactor,
       (is_na OR reltuples < 0)                                              AS is_na
FROM est
WHERE relpages > est_pages_ff         -- only indexes with some bloat: the rest tell a check nothing
ORDER BY schema, tbl, idx;
