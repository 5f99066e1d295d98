-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- (a CONCURRENTLY statement must be alone in this file: the SETs of the step before, on the same
-- connection, hold for it)
-- Step 3 of 8: golang-migrate sends a file as one query (an implicit transaction),

DROP INDEX CONCURRENTLY IF EXISTS "public"."orders_customer_id_status_open_0b492638_idx";
