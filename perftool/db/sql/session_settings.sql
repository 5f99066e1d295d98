-- Safe session for analysis: read-only by default, bounded statement and lock waits, standard
-- strings (so perftool's statement splitter and the server read quotes alike), and perftool's own
-- queries resolved in a pinned search_path (read-only sessions; the sandbox's writing sessions
-- keep theirs): pg_catalog first, then only the schemas of the extensions perftool reads, pg_temp last. The caller's search_path is kept in
-- perftool.workload_search_path for costing the workload's statements (use_workload_search_path).
SELECT set_config('default_transaction_read_only', %(read_only)s, false),
       set_config('standard_conforming_strings', 'on', false),
       set_config('statement_timeout', %(statement_timeout)s, false),
       set_config('lock_timeout', %(lock_timeout)s, false),
       set_config('idle_in_transaction_session_timeout', %(idle_tx_timeout)s, false),
       set_config('perftool.workload_search_path', pg_catalog.current_setting('search_path'), false),
       set_config('search_path', CASE WHEN %(read_only)s = 'off' THEN pg_catalog.current_setting('search_path')
                  ELSE pg_catalog.concat_ws(', ', 'pg_catalog',
                  (SELECT pg_catalog.string_agg(DISTINCT pg_catalog.quote_ident(n.nspname), ', ')
                     FROM pg_catalog.pg_extension e
                     JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
                    WHERE e.extname IN ('pg_stat_statements', 'hypopg', 'pgstattuple')
                      AND n.nspname <> 'pg_catalog'),
                  'pg_temp') END, false);
