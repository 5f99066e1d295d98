-- The problems a DBA would meet in this application, planted on purpose: perftool should find each
-- one. Everything else in schema.sql is a useful index (primary keys, users.email unique,
-- jobs.job_number unique, jobs.customer_id, jobs.assigned_to, job_steps.job_id).

-- 1. MISSING COMPOSITE INDEXES for the hot filters. The API's job lists run
--    `WHERE status = $1 AND created_at > $2 ORDER BY created_at DESC LIMIT 50` and
--    `WHERE status = $1 AND due_date < $2 ORDER BY due_date LIMIT 50` (and the dashboard counts filter
--    on status too), but jobs(status, created_at) and jobs(status, due_date) do not exist, so every
--    call reads the whole jobs table. (Nothing to create: the absence is the problem.)

-- 2. DUPLICATE INDEX: users.email already has the index behind the unique constraint
--    users_email_key; someone added the same btree again.
CREATE INDEX users_email_idx ON users (email);

-- 3. UNUSED INDEXES. audit_log.payload_hash was indexed for a de-duplication job that was never
--    written: no query reads it, yet every audit insert maintains it (about 11 MB).
CREATE INDEX audit_log_payload_hash_idx ON audit_log (payload_hash);
--    And a low-selectivity index on jobs.priority (five values) that no statement filters or sorts by.
CREATE INDEX jobs_priority_idx ON jobs (priority);

-- 4. FOREIGN KEYS WITHOUT AN INDEX: job_steps.machine_id -> machines and notifications.user_id ->
--    users. Joins and lookups by machine or by user scan the whole child table, and deleting a
--    machine or a user scans it once per deleted row. (Nothing to create.)

-- 5. A TABLE WITHOUT A PRIMARY KEY: audit_log (no key, no unique constraint; rows cannot be
--    addressed one by one, logical replication of UPDATE/DELETE fails). (Nothing to create.)

-- 6. LIKE PREFIX SEARCH that no index serves: `job_number LIKE 'JOB-2024-00%'`. The unique index
--    jobs_job_number_key uses the database collation, which cannot serve LIKE prefixes unless it is
--    "C"; it needs a text_pattern_ops (or COLLATE "C") index. (Nothing to create.)
