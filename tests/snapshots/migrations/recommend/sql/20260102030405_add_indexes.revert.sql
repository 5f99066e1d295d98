-- Down step of 20260102030405_add_indexes.sql
-- Run with psql -f FILE (never -1 / --single-transaction) or any client in autocommit mode.

SET lock_timeout = '2s';

SET statement_timeout = 0;

-- a partitioned index cannot be dropped concurrently; lock_timeout bounds the wait
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX IF EXISTS "public"."events_tenant_id_idx";

DROP INDEX CONCURRENTLY IF EXISTS "public"."orders_customer_id_status_open_0b492638_idx";
