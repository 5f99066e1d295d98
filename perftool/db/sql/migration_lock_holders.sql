-- indexes apply, before a statement that takes a lock writers conflict with (CREATE INDEX ON ONLY:
-- SHARE on the table; ALTER INDEX … ATTACH PARTITION: ACCESS EXCLUSIVE on the partition's index): the
-- other sessions holding a conflicting lock (`modes`) on the relation in a transaction that is idle or
-- has been open at least `min_age_ms` (the lock_timeout) — a request queued behind them would wait
-- out its lock_timeout, and every writer arriving meanwhile would queue behind the request.
SELECT l.pid, l.mode, a.state, EXTRACT(epoch FROM pg_catalog.now() - a.xact_start)::float8 AS xact_seconds
  FROM pg_catalog.pg_locks l
  JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_catalog.pg_backend_pid()
   AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
   AND l.relation = (SELECT c.oid FROM pg_catalog.pg_class c
                       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                      WHERE n.nspname = %(schema)s AND c.relname = %(name)s)
   AND l.mode = ANY (%(modes)s::text[])
   AND (a.state IN ('idle in transaction', 'idle in transaction (aborted)')
        OR pg_catalog.now() - a.xact_start >= %(min_age_ms)s * interval '1 millisecond')
 ORDER BY a.xact_start, l.pid
