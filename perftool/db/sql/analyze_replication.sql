-- Replication at a glance: role, standbys and their replay lag, slots holding WAL.
SELECT pg_is_in_recovery()                                                        AS in_recovery,
       (SELECT count(*) FROM pg_stat_replication)                                 AS standbys,
       (SELECT coalesce(max(extract(epoch FROM replay_lag)) * 1000, 0)
          FROM pg_stat_replication)::float                                        AS max_replay_lag_ms,
       (SELECT count(*) FROM pg_replication_slots WHERE NOT active)               AS inactive_slots,
       (SELECT count(*) FROM pg_replication_slots)                                AS slots,
       CASE WHEN pg_is_in_recovery() THEN
         CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
              ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000, 0)
         END
       END::float                                                                 AS standby_lag_ms;
