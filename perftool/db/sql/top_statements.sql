-- Statements from pg_stat_statements (PG13: no toplevel column; every row counts as top level).
SELECT s.queryid,
       r.rolname                                  AS role,
       d.datname                                  AS database,
       true                                       AS toplevel,
       s.query,
       s.calls,
       s.total_exec_time                          AS total_ms,
       s.mean_exec_time                           AS mean_ms,
       s.stddev_exec_time                         AS stddev_ms,
       s.min_exec_time                            AS min_ms,
       s.max_exec_time                            AS max_ms,
       s.total_plan_time                          AS plan_ms,
       s.rows,
       s.shared_blks_hit,
       s.shared_blks_read,
       s.shared_blks_dirtied,
       s.shared_blks_written,
       s.temp_blks_read,
       s.temp_blks_written,
       s.blk_read_time                            AS io_read_ms,
       s.blk_write_time                           AS io_write_ms,
       s.wal_bytes
FROM pg_stat_statements s
LEFT JOIN pg_roles r ON r.oid = s.userid
LEFT JOIN pg_database d ON d.oid = s.dbid
WHERE (%(all_databases)s OR s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()))
  AND s.calls >= %(min_calls)s
  -- not perftool's own: they carry the marker after their first keyword (perftool/db/sql/__init__.py)
  AND strpos(coalesce(s.query, ''), %(marker)s) = 0;
