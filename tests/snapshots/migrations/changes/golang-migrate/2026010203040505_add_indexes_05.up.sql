-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- (a CONCURRENTLY statement must be alone in this file: the SETs of the step before, on the same
-- connection, hold for it)
-- Step 5 of 15: golang-migrate sends a file as one query (an implicit transaction),
-- so a CONCURRENTLY statement has a file of its own. Set lock_timeout on the connection too
-- (options=-c lock_timeout=...) when a failed run is resumed at a later step.

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "Line Items_lower_sku_deleted_at_is_null_4c07d1b8_idx" ON "shop"."Line Items" USING btree ((lower(sku))) WHERE deleted_at IS NULL;
