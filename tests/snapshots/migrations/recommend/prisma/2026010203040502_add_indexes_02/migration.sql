-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- (a CONCURRENTLY statement must be alone in this file: the SETs of the step before, on the same
-- connection, hold for it)
-- Step 2 of 8: Prisma sends migration.sql as one query (an implicit transaction),
-- so a CONCURRENTLY statement has a migration of its own.

CREATE INDEX CONCURRENTLY IF NOT EXISTS "orders_customer_id_status_open_0b492638_idx" ON "public"."orders" USING btree ("customer_id") WHERE "status" = 'open';
