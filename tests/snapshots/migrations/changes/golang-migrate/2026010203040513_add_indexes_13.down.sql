-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- (a CONCURRENTLY statement must be alone in this file: the SETs of the step before, on the same
-- connection, hold for it)
-- Step 13 of 15: golang-migrate sends a file as one query (an implicit transaction),

CREATE INDEX CONCURRENTLY IF NOT EXISTS "orders_note_idx" ON "public"."orders" USING btree ("note");
