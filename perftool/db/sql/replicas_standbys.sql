-- The standbys streaming from this server (pg_stat_replication; on a standby: its cascaded
-- standbys): state, sync state, lag as time (NULL once caught up and idle) and as bytes behind this
-- server's position, and the slot each one uses.
SELECT r.pid, r.application_name, r.client_addr::text AS client_addr, r.state, r.sync_state,
       extract(epoch FROM r.write_lag)::float * 1000  AS write_lag_ms,
       extract(epoch FROM r.flush_lag)::float * 1000  AS flush_lag_ms,
       extract(epoch FROM r.replay_lag)::float * 1000 AS replay_lag_ms,
       pg_wal_lsn_diff(p.lsn, r.sent_lsn)::bigint    AS sent_bytes,
       pg_wal_lsn_diff(p.lsn, r.write_lsn)::bigint   AS write_bytes,
       pg_wal_lsn_diff(p.lsn, r.flush_lsn)::bigint   AS flush_bytes,
       pg_wal_lsn_diff(p.lsn, r.replay_lsn)::bigint  AS replay_bytes,
       extract(epoch FROM now() - r.reply_time)::float AS reply_age_s,
       s.slot_name
FROM pg_stat_replication r
CROSS JOIN (SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END AS lsn) p
LEFT JOIN pg_replication_slots s ON s.active_pid = r.pid
ORDER BY r.application_name, r.pid;
