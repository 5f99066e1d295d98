-- Safe session for analysis: read-only by default, bounded statement and lock waits.
SELECT set_config('default_transaction_read_only', %(read_only)s, false),
       set_config('statement_timeout', %(statement_timeout)s, false),
       set_config('lock_timeout', %(lock_timeout)s, false),
       set_config('idle_in_transaction_session_timeout', %(idle_tx_timeout)s, false);
