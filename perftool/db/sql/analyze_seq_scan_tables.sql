-- The counters of T201's rule (analyze/sections/tables.py seq_scan_heavy) for every user table:
-- whether the index advisor is worth running for analyze's index fixes.
SELECT s.seq_scan, s.seq_tup_read, coalesce(s.idx_scan, 0) AS idx_scan, s.n_live_tup,
       c.reltuples::bigint AS reltuples
FROM pg_stat_user_tables s
JOIN pg_class c ON c.oid = s.relid;
