-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- (a CONCURRENTLY statement must be alone in this file: the SETs of the step before, on the same
-- connection, hold for it)
-- Step 5 of 15: Prisma sends migration.sql as one query (an implicit transaction),
-- so a CONCURRENTLY statement has a migration of its own.

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "Line Items_lower_sku_deleted_at_is_null_4c07d1b8_idx" ON "shop"."Line Items" USING btree ((lower(sku))) WHERE deleted_at IS NULL;
