-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- (a CONCURRENTLY statement must be alone in this file: the SETs of the step before, on the same
-- connection, hold for it)
-- Step 10 of 15: Prisma sends migration.sql as one query (an implicit transaction),
-- so a CONCURRENTLY statement has a migration of its own.

CREATE INDEX CONCURRENTLY IF NOT EXISTS "events_2026_02_at_9b151ff6_idx" ON "public"."events_2026_02" USING brin ("at");
