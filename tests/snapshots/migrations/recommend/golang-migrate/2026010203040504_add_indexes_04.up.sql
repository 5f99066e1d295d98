-- Step 4 of 8: golang-migrate sends a file as one query (an implicit transaction),
-- so a CONCURRENTLY statement has a file of its own. Set lock_timeout on the connection too
-- (options=-c lock_timeout=...) when a failed run is resumed at a later step.

SET lock_timeout = '2s';

SET statement_timeout = 0;

-- a partitioned table refuses CONCURRENTLY; ON ONLY builds no data, the partitions' indexes are built concurrently below
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX IF NOT EXISTS "events_tenant_id_idx" ON ONLY "public"."events" USING btree ("tenant_id");

DO $perftool$
BEGIN
  IF EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relname = 'events_2026_01_tenant_id_idx' AND NOT i.indisvalid) THEN
    DROP INDEX "public"."events_2026_01_tenant_id_idx";
  END IF;
END
$perftool$;
