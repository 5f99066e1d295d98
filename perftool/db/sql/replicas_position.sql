-- Where this server is in the WAL: its own write position on a primary, its replay position on a
-- standby (pg_current_wal_lsn() fails during recovery), as bytes since 0/0, with the clock.
SELECT pg_is_in_recovery() AS in_recovery,
       pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END,
                       '0/0')::bigint AS wal_position,
       extract(epoch FROM clock_timestamp())::float AS taken_at;
