-- The problems a DBA would meet in this app, planted on purpose (perftool should find each one).

-- 1. Missing composite indexes for the hot filters: the API lists jobs by status and creation
--    time, and by status and due date, but only single-column indexes exist on other columns.
--    (nothing to create: jobs(status, created_at) and jobs(status, due_date) are absent)

-- 2. A duplicate index: users.email already has the unique constraint users_email_key.
CREATE INDEX users_email_idx ON users (email);

-- 3. An unused index (> 1 MB): nothing in the application filters or sorts by priority.
CREATE INDEX jobs_priority_idx ON jobs (priority);
--    and one on a hash column that no query reads
CREATE INDEX audit_log_payload_hash_idx ON audit_log (payload_hash);

-- 4. Foreign keys without a supporting index: job_steps.machine_id and notifications.user_id.
--    (nothing to create: the absence is the problem)

-- 5. A table without a primary key: audit_log.
--    (nothing to create)

-- 6. job_number LIKE 'JOB-2024-00%' searches: the unique index uses the database collation, which
--    cannot serve LIKE prefixes (it needs text_pattern_ops or COLLATE "C").
