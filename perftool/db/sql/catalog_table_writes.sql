-- Row writes per table since the statistics were reset (the write-cost side of an index); a
-- partitioned table's writes are those of its leaf partitions.
SELECT t.oid::bigint                   AS oid,
       sum(s.n_tup_ins)::bigint        AS n_tup_ins,
       sum(s.n_tup_upd)::bigint        AS n_tup_upd,
       sum(s.n_tup_hot_upd)::bigint    AS n_tup_hot_upd,
       sum(s.n_tup_del)::bigint        AS n_tup_del,
       sum(s.seq_scan)::bigint         AS seq_scan,
       sum(s.idx_scan)::bigint         AS idx_scan,
       sum(s.n_live_tup)::bigint       AS n_live_tup
FROM unnest(%(oids)s::oid[]) AS t(oid)
CROSS JOIN LATERAL (SELECT pt.relid FROM pg_catalog.pg_partition_tree(t.oid) AS pt WHERE pt.isleaf
                    UNION
                    SELECT t.oid) AS leaf(relid)     -- pg_partition_tree is empty for a plain table
JOIN pg_catalog.pg_stat_all_tables s ON s.relid = leaf.relid
GROUP BY t.oid;
