-- Step 8 of 8: Prisma sends migration.sql as one query (an implicit transaction),
-- so a CONCURRENTLY statement has a migration of its own.

SET lock_timeout = '2s';

SET statement_timeout = 0;

ALTER INDEX "public"."events_tenant_id_idx" ATTACH PARTITION "public"."events_2026_02_tenant_id_idx";

DO $perftool$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'public' AND c.relname = 'events_tenant_id_idx' AND i.indisvalid) THEN
    RAISE EXCEPTION 'index %.% is missing or INVALID after its build', 'public', 'events_tenant_id_idx';
  END IF;
END
$perftool$;
