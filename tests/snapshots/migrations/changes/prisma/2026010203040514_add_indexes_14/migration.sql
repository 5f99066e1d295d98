-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- (a CONCURRENTLY statement must be alone in this file: the SETs of the step before, on the same
-- connection, hold for it)
-- Step 14 of 15: Prisma sends migration.sql as one query (an implicit transaction),
-- so a CONCURRENTLY statement has a migration of its own.

DROP INDEX CONCURRENTLY IF EXISTS "public"."orders_note_idx";
