-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- (a CONCURRENTLY statement must be alone in this file: the SETs of the step before, on the same
-- connection, hold for it)
-- Step 3 of 15: golang-migrate sends a file as one query (an implicit transaction),

DROP INDEX CONCURRENTLY IF EXISTS "public"."orders_customer_id_created_at_desc_incl_df3f9a1d_idx";
