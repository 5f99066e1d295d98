-- Pre-flight of indexes apply: the sessions of this database a CREATE INDEX CONCURRENTLY would wait for —
-- open transactions (they hold a snapshot or an xid the build must outlive), idle in transaction or not.
SELECT a.pid, a.usename::text AS usename, a.application_name, a.state,
       EXTRACT(EPOCH FROM pg_catalog.now() - a.xact_start)::float8 AS xact_seconds,
       pg_catalog.left(a.query, 200) AS query
  FROM pg_catalog.pg_stat_activity a
 WHERE a.datname = pg_catalog.current_database()
   AND a.pid <> pg_catalog.pg_backend_pid()
   AND a.xact_start IS NOT NULL
   AND a.backend_type = 'client backend'
 ORDER BY a.xact_start
