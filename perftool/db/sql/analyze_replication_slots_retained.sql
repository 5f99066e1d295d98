-- WAL retained by replication slots (primary only: pg_current_wal_lsn fails during recovery).
SELECT slot_name, active, wal_status,
       pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS retained_bytes
FROM pg_replication_slots
WHERE restart_lsn IS NOT NULL;
