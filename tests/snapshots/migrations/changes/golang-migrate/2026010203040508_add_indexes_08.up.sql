-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- (a CONCURRENTLY statement must be alone in this file: the SETs of the step before, on the same
-- connection, hold for it)
-- Step 8 of 15: golang-migrate sends a file as one query (an implicit transaction),
-- so a CONCURRENTLY statement has a file of its own. Set lock_timeout on the connection too
-- (options=-c lock_timeout=...) when a failed run is resumed at a later step.

CREATE INDEX CONCURRENTLY IF NOT EXISTS "events_2026_01_at_9b151ff6_idx" ON "public"."events_2026_01" USING brin ("at");
