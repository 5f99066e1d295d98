-- What holds back the xmin horizon (VACUUM cannot remove rows deleted after it, and freezing
-- stops there): backends with a snapshot or a transaction id, replication slots (xmin from
-- hot_standby_feedback, catalog_xmin of logical slots) and prepared transactions, oldest first.
-- perftool's own session is left out.
SELECT kind, holder, datname, xmin_age, age_s, detail
FROM (
  SELECT 'backend'::text AS kind, pid::text AS holder, datname,
         greatest(age(backend_xmin), age(backend_xid)) AS xmin_age,
         extract(epoch FROM now() - xact_start)::float AS age_s,
         concat_ws(' ', usename, nullif(application_name, ''), state) AS detail
  FROM pg_stat_activity
  WHERE (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL) AND pid <> pg_backend_pid()
  UNION ALL
  SELECT 'replication slot', slot_name, database,
         greatest(age(xmin), age(catalog_xmin)), NULL::float,
         concat_ws(' ', slot_type, CASE WHEN active THEN 'active' ELSE 'inactive' END)
  FROM pg_replication_slots
  WHERE xmin IS NOT NULL OR catalog_xmin IS NOT NULL
  UNION ALL
  SELECT 'prepared transaction', gid, database, age(transaction),
         extract(epoch FROM now() - prepared)::float, owner::text
  FROM pg_prepared_xacts
) h
ORDER BY xmin_age DESC NULLS LAST, holder
LIMIT 20;
