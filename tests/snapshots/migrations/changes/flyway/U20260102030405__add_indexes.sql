-- flyway:executeInTransaction=false
-- Undo of V20260102030405__add_indexes.sql (Flyway Teams: flyway undo)

SET lock_timeout = '2s';

SET statement_timeout = 0;

DO $perftool$
BEGIN
  IF EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relname = 'orders_note_idx' AND NOT i.indisvalid) THEN
    DROP INDEX "public"."orders_note_idx";
  END IF;
END
$perftool$;

CREATE INDEX CONCURRENTLY IF NOT EXISTS "orders_note_idx" ON "public"."orders" USING btree ("note");

DO $perftool$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'public' AND c.relname = 'orders_note_idx' AND i.indisvalid) THEN
    RAISE EXCEPTION 'index %.% is missing or INVALID after its build', 'public', 'orders_note_idx';
  END IF;
END
$perftool$;

-- a partitioned index cannot be dropped concurrently; lock_timeout bounds the wait
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX IF EXISTS "public"."events_at_9b151ff6_idx";

DROP INDEX CONCURRENTLY IF EXISTS "shop"."Line Items_lower_sku_deleted_at_is_null_4c07d1b8_idx";

DROP INDEX CONCURRENTLY IF EXISTS "public"."orders_customer_id_created_at_desc_incl_df3f9a1d_idx";
