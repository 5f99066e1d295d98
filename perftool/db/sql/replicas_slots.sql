-- Replication slots: active or not, the WAL each retains (behind this server's position), its
-- wal_status and safe_wal_size (PG13+), and the xmin it holds.
SELECT s.slot_name, s.slot_type, s.database, s.active, s.wal_status, s.safe_wal_size,
       pg_wal_lsn_diff(p.lsn, s.restart_lsn)::bigint AS retained_bytes,
       greatest(age(s.xmin), age(s.catalog_xmin)) AS xmin_age
FROM pg_replication_slots s
CROSS JOIN (SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END AS lsn) p
ORDER BY s.slot_name;
