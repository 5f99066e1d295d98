-- Step 11 of 15: golang-migrate sends a file as one query (an implicit transaction),

SET lock_timeout = '2s';

SET statement_timeout = 0;

-- a partitioned index cannot be dropped concurrently; lock_timeout bounds the wait
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX IF EXISTS "public"."events_at_9b151ff6_idx";
