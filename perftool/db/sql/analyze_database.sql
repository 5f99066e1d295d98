-- The connected database's counters (pg_stat_database) and the settings that frame the report. No
-- pg_database_size: it stats every file of the database (0.2 s on 10,000 tables) and nothing reads it.
SELECT d.datname                                   AS database,
       d.numbackends,
       d.xact_commit,
       d.xact_rollback,
       d.blks_read,
       d.blks_hit,
       d.tup_returned,
       d.tup_fetched,
       d.temp_files,
       d.temp_bytes,
       d.deadlocks,
       d.stats_reset,
       current_setting('shared_buffers')          AS shared_buffers,
       current_setting('work_mem')                AS work_mem,
       current_setting('block_size')::int         AS block_size,
       now()                                      AS taken_at
FROM pg_stat_database d
WHERE d.datname = current_database();
