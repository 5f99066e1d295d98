-- How full pg_stat_statements is (entries vs pg_stat_statements.max).
SELECT (SELECT count(*) FROM pg_stat_statements)                         AS entries,
       current_setting('pg_stat_statements.max', true)::int              AS max_entries,
       current_setting('pg_stat_statements.track', true)                 AS track,
       current_setting('track_io_timing', true)                          AS track_io_timing,
       current_setting('block_size')::int                                AS block_size;
