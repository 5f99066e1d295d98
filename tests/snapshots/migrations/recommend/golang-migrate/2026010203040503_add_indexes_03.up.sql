-- Step 3 of 8: golang-migrate sends a file as one query (an implicit transaction),
-- so a CONCURRENTLY statement has a file of its own. Set lock_timeout on the connection too
-- (options=-c lock_timeout=...) when a failed run is resumed at a later step.

SET lock_timeout = '2s';

SET statement_timeout = 0;

DO $perftool$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'public' AND c.relname = 'orders_customer_id_status_open_0b492638_idx' AND i.indisvalid) THEN
    RAISE EXCEPTION 'index %.% is missing or INVALID after its build', 'public', 'orders_customer_id_status_open_0b492638_idx';
  END IF;
END
$perftool$;
