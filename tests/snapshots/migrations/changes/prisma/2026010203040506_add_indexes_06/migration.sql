-- Step 6 of 15: Prisma sends migration.sql as one query (an implicit transaction),
-- so a CONCURRENTLY statement has a migration of its own.

SET lock_timeout = '2s';

SET statement_timeout = 0;

DO $perftool$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'shop' AND c.relname = 'Line Items_lower_sku_deleted_at_is_null_4c07d1b8_idx' AND i.indisvalid) THEN
    RAISE EXCEPTION 'index %.% is missing or INVALID after its build', 'shop', 'Line Items_lower_sku_deleted_at_is_null_4c07d1b8_idx';
  END IF;
END
$perftool$;
