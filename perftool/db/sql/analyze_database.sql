-- The connected database's counters (pg_stat_database), sizes and settings that frame the report.
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
       pg_database_size(d.datid)                  AS size_bytes,
       current_setting('shared_buffers')          AS shared_buffers,
       current_setting('work_mem')                AS work_mem,
       current_setting('block_size')::int         AS block_size,
       now()                                      AS taken_at
FROM pg_stat_database d
WHERE d.datname = current_database();
