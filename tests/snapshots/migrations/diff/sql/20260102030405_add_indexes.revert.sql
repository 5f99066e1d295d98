-- Down step of 20260102030405_add_indexes.sql
-- Run with psql -f FILE (never -1 / --single-transaction) or any client in autocommit mode.

SET lock_timeout = '2s';

SET statement_timeout = 0;

DO $perftool$
BEGIN
  IF EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relname = 'orders_status_idx' AND NOT i.indisvalid) THEN
    DROP INDEX "public"."orders_status_idx";
  END IF;
END
$perftool$;

CREATE INDEX CONCURRENTLY IF NOT EXISTS "orders_status_idx" ON "public"."orders" USING btree ("status");

DO $perftool$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'public' AND c.relname = 'orders_status_idx' AND i.indisvalid) THEN
    RAISE EXCEPTION 'index %.% is missing or INVALID after its build', 'public', 'orders_status_idx';
  END IF;
END
$perftool$;

DROP INDEX CONCURRENTLY IF EXISTS "public"."orders_created_at_desc_idx";

DROP INDEX CONCURRENTLY IF EXISTS "public"."events_at_idx";
