-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- (a CONCURRENTLY statement must be alone in this file: the SETs of the step before, on the same
-- connection, hold for it)
-- Down of step 13 (run by hand or prisma db execute --file).

CREATE INDEX CONCURRENTLY IF NOT EXISTS "orders_note_idx" ON "public"."orders" USING btree ("note");
