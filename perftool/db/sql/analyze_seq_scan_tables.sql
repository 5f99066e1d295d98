-- The counters of T201's rule (analyze/sections/tables.py seq_scan_heavy) for the user tables that
-- had any sequential scan (the rule needs a share of them): whether the index advisor is worth
-- running for analyze's index fixes. From the pg_stat_get_* functions behind pg_stat_user_tables,
-- the rest only for the tables that pass (that view groups every table's indexes: 0.14 s on 10,000).
SELECT t.seq_scan,
       pg_catalog.pg_stat_get_tuples_returned(t.oid)                                   AS seq_tup_read,
       coalesce((SELECT sum(pg_catalog.pg_stat_get_numscans(i.indexrelid))
                 FROM pg_catalog.pg_index i WHERE i.indrelid = t.oid), 0)::bigint       AS idx_scan,
       pg_catalog.pg_stat_get_live_tuples(t.oid)                                       AS n_live_tup,
       t.reltuples
FROM (SELECT c.oid, pg_catalog.pg_stat_get_numscans(c.oid) AS seq_scan, c.reltuples::bigint AS reltuples
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 't', 'm', 'p')
        AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname !~ '^pg_toast') t
WHERE t.seq_scan > 0;
