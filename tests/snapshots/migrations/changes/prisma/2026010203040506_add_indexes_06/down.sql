-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- (a CONCURRENTLY statement must be alone in this file: the SETs of the step before, on the same
-- connection, hold for it)
-- Down of step 6 (run by hand or prisma db execute --file).

DROP INDEX CONCURRENTLY IF EXISTS "shop"."Line Items_lower_sku_deleted_at_is_null_4c07d1b8_idx";
