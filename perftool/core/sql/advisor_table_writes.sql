-- Row writes per table since the statistics were reset (the write-cost side of an index).
SELECT relid::bigint AS oid, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del, seq_scan, idx_scan, n_live_tup
FROM pg_catalog.pg_stat_all_tables
WHERE relid = ANY (%(oids)s::oid[]);
