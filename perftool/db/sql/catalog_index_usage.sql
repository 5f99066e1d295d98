-- Scans per index on this host (indexes of a partitioned table summed over its partitions), for
-- combining usage across a primary and its replicas: replicas share the catalog, not the counters.
SELECT n.nspname                                                         AS schema,
       ic.relname                                                        AS name,
       coalesce(CASE WHEN ic.relkind = 'I'
                     THEN (SELECT sum(s.idx_scan)
                           FROM pg_catalog.pg_partition_tree(i.indexrelid) AS p
                           JOIN pg_catalog.pg_stat_user_indexes s ON s.indexrelid = p.relid)
                     ELSE (SELECT s.idx_scan FROM pg_catalog.pg_stat_user_indexes s
                           WHERE s.indexrelid = i.indexrelid) END, 0)::bigint AS idx_scan
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_)'
ORDER BY 1, 2;
