-- A standby's own view: its WAL receiver (no row: not running), what it received but has not
-- replayed, when it last replayed a commit, and whether replay is paused (PG14+).
SELECT w.status AS receiver_status, w.sender_host, w.sender_port, w.slot_name,
       w.conninfo,
       extract(epoch FROM now() - w.last_msg_receipt_time)::float          AS last_message_age_s,
       pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint AS replay_bytes,
       extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float   AS last_replay_age_s,
       pg_get_wal_replay_pause_state()                                      AS pause_state
FROM (SELECT 1) one
LEFT JOIN pg_stat_wal_receiver w ON true;
