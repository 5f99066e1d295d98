-- Every backend of the server right now (all databases), for `perftool pool`: who is connected,
-- what it runs, how long its transaction and statement have run, and — for sessions waiting on a
-- lock — which pids block it (pg_blocking_pids, called only for waiters: it takes the lock
-- manager's locks) and since when it waits (pg_locks.waitstart, PG14+). perftool's own session
-- is marked `own`.
SELECT a.pid, a.datname, a.usename, a.application_name, a.client_addr::text AS client_addr,
       a.backend_type, a.state,
       extract(epoch FROM now() - a.backend_start)::float                        AS backend_age_s,
       extract(epoch FROM now() - a.xact_start)::float                           AS xact_age_s,
       extract(epoch FROM now() - a.query_start)::float                          AS query_age_s,
       extract(epoch FROM now() - a.state_change)::float                         AS state_age_s,
       a.wait_event_type, a.wait_event,
       left(a.query, %(query_chars)s)                                            AS query,
       CASE WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid) END     AS blocked_by,
       extract(epoch FROM now() - w.waitstart)::float                            AS lock_wait_s,
       w.locktype                                                                AS lock_type,
       age(a.backend_xmin)                                                       AS xmin_age,
       a.pid = pg_backend_pid()                                                  AS own
FROM pg_stat_activity a
LEFT JOIN (SELECT DISTINCT ON (pid) pid, waitstart, locktype
           FROM pg_locks WHERE NOT granted ORDER BY pid, waitstart) w ON w.pid = a.pid
ORDER BY a.pid;
