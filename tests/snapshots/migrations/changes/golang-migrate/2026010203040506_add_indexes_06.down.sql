-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- (a CONCURRENTLY statement must be alone in this file: the SETs of the step before, on the same
-- connection, hold for it)
-- Step 6 of 15: golang-migrate sends a file as one query (an implicit transaction),

DROP INDEX CONCURRENTLY IF EXISTS "shop"."Line Items_lower_sku_deleted_at_is_null_4c07d1b8_idx";
