-- Row writes per table since the statistics were reset (the write-cost side of an index); a
-- partitioned table's writes are those of its leaf partitions. The statistics functions are called
-- for these relations only: pg_stat_all_tables would compute its row for every relation of the
-- database first (1 s on 10,000 tables, for the hundred a workload names).
SELECT t.oid::bigint                                                AS oid,
       sum(pg_catalog.pg_stat_get_tuples_inserted(c.oid))::bigint    AS n_tup_ins,
       sum(pg_catalog.pg_stat_get_tuples_updated(c.oid))::bigint     AS n_tup_upd,
       sum(pg_catalog.pg_stat_get_tuples_hot_updated(c.oid))::bigint AS n_tup_hot_upd,
       sum(pg_catalog.pg_stat_get_tuples_deleted(c.oid))::bigint     AS n_tup_del,
       sum(pg_catalog.pg_stat_get_numscans(c.oid))::bigint           AS seq_scan,
       sum((SELECT sum(pg_catalog.pg_stat_get_numscans(i.indexrelid))
            FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid))::bigint AS idx_scan,
       sum(pg_catalog.pg_stat_get_live_tuples(c.oid))::bigint        AS n_live_tup
FROM unnest(%(oids)s::oid[]) AS t(oid)
CROSS JOIN LATERAL (SELECT pt.relid FROM pg_catalog.pg_partition_tree(t.oid) AS pt WHERE pt.isleaf
                    UNION
                    SELECT t.oid) AS leaf(relid)     -- pg_partition_tree is empty for a plain table
JOIN pg_catalog.pg_class c ON c.oid = leaf.relid
                          AND c.relkind IN ('r', 't', 'm', 'p')   -- those pg_stat_all_tables has
GROUP BY t.oid;
