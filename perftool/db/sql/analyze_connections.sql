-- Connection use right now: by state, against max_connections, the oldest idle transaction
-- and the longest-running statement (client backends only; perftool's own session left out).
SELECT current_setting('max_connections')::int                                  AS max_connections,
       current_setting('superuser_reserved_connections')::int
         + coalesce(current_setting('reserved_connections', true)::int, 0)    AS reserved,  -- PG16+
       count(*)                                                                 AS total,
       count(*) FILTER (WHERE state = 'active')                                 AS active,
       count(*) FILTER (WHERE state = 'idle')                                   AS idle,
       count(*) FILTER (WHERE state LIKE 'idle in transaction%%')               AS idle_in_transaction,
       coalesce(max(extract(epoch FROM now() - xact_start))
                FILTER (WHERE state LIKE 'idle in transaction%%'), 0)::float     AS oldest_idle_tx_s,
       coalesce(max(extract(epoch FROM now() - query_start))
                FILTER (WHERE state = 'active'), 0)::float                       AS longest_query_s,
       count(*) FILTER (WHERE wait_event_type = 'Lock')                         AS waiting_on_locks
FROM pg_stat_activity
WHERE backend_type = 'client backend' AND pid <> pg_backend_pid();
