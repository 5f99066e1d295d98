-- Step 12 of 15: golang-migrate sends a file as one query (an implicit transaction),

SET lock_timeout = '2s';

SET statement_timeout = 0;

DO $perftool$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'public' AND c.relname = 'orders_note_idx' AND i.indisvalid) THEN
    RAISE EXCEPTION 'index %.% is missing or INVALID after its build', 'public', 'orders_note_idx';
  END IF;
END
$perftool$;
