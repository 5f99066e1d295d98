-- Step 4 of 15: golang-migrate sends a file as one query (an implicit transaction),
-- so a CONCURRENTLY statement has a file of its own. Set lock_timeout on the connection too
-- (options=-c lock_timeout=...) when a failed run is resumed at a later step.

SET lock_timeout = '2s';

SET statement_timeout = 0;

DO $perftool$
BEGIN
  IF EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'shop' AND c.relname = 'Line Items_lower_sku_deleted_at_is_null_4c07d1b8_idx' AND NOT i.indisvalid) THEN
    DROP INDEX "shop"."Line Items_lower_sku_deleted_at_is_null_4c07d1b8_idx";
  END IF;
END
$perftool$;
