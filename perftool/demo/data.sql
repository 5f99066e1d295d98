-- Demo data, generated set-wise with generate_series. Deterministic for a given now(): setseed
-- fixes random(), and every random() call sits in an innermost subquery read in series order.
-- The skew of a real shop: recent jobs are the most frequent (a quarter of them in the last two
-- months), old jobs are almost all completed, the open ones (queued / in_progress / on_hold) are a
-- few percent and recent; a few big customers order much more than the rest; some machines are
-- busier; most notifications are read, recent ones less so.
-- Sizes: 5 000 customers, 500 users, 200 machines, 100 000 jobs, ~450 000 job steps,
-- 100 000 notifications, 200 000 audit rows. Append-style tables are stored in time order.
SELECT setseed(0.42);

-- Bulk load as pg_restore does it: the foreign keys of the big tables are dropped for the load and
-- added back at the end, where one set-wise join validates them instead of a trigger call per row
-- (that takes the load from ~13 s to ~7 s). The constraints are the ones schema.sql declares.
ALTER TABLE jobs DROP CONSTRAINT jobs_customer_id_fkey, DROP CONSTRAINT jobs_assigned_to_fkey;
ALTER TABLE job_steps DROP CONSTRAINT job_steps_job_id_fkey, DROP CONSTRAINT job_steps_machine_id_fkey;
ALTER TABLE notifications DROP CONSTRAINT notifications_user_id_fkey;

INSERT INTO customers (name, email, region, created_at, updated_at)
SELECT 'Customer ' || g, 'buyer' || g || '@customer' || (g % 997) || '.example',
       (ARRAY['north', 'south', 'east', 'west', 'central'])[1 + g % 5], c, c + (g % 30) * interval '1 day'
FROM (SELECT g, now() - interval '60 days' - random() * interval '1500 days' AS c
      FROM generate_series(1, 5000) g) s;

INSERT INTO users (email, name, role, active, last_login_at, created_at)
SELECT 'user' || g || '@shop.example', 'User ' || g,
       (ARRAY['operator', 'operator', 'operator', 'planner', 'manager', 'admin'])[1 + g % 6],
       g % 17 <> 0, now() - r1 * interval '20 days', now() - interval '30 days' - r2 * interval '1000 days'
FROM (SELECT g, random() AS r1, random() AS r2 FROM generate_series(1, 500) g) s;

INSERT INTO machines (name, kind, status, location, notes)
SELECT 'M-' || lpad(g::text, 3, '0'),
       (ARRAY['lathe', 'mill', 'press', 'laser', 'paint', 'weld', 'assembly'])[1 + g % 7],
       CASE WHEN g % 23 = 0 THEN 'maintenance' WHEN g % 11 = 0 THEN 'idle' ELSE 'running' END,
       'hall ' || (1 + g % 4), 'installed ' || (2010 + g % 14) || ', serviced every ' || (3 + g % 4) || ' months'
FROM generate_series(1, 200) g;

-- Jobs are inserted in creation order (ids grow with time, as in the application); job numbers
-- count up per year: JOB-2024-000001, JOB-2024-000002, …
INSERT INTO jobs (job_number, customer_id, assigned_to, status, priority, description, created_at, updated_at, due_date)
SELECT 'JOB-' || yr || '-' || lpad(row_number() OVER (PARTITION BY yr ORDER BY c, g)::text, 6, '0'),
       customer_id,
       CASE WHEN status = 'queued' AND r_assign < 0.6 THEN NULL ELSE assignee END,
       status, priority, description, c,
       CASE WHEN status = 'queued' THEN c ELSE least(now(), c + r_upd * interval '12 days') END,
       (c + (3 + r_due * 40) * interval '1 day')::date
FROM (
    SELECT g, c, extract(year FROM c AT TIME ZONE 'UTC')::int AS yr, customer_id, assignee, priority,
           description, r_assign, r_upd, r_due,
           CASE WHEN c > now() - interval '60 days' THEN
                     CASE WHEN r < 0.35 THEN 'completed' WHEN r < 0.40 THEN 'cancelled'
                          WHEN r < 0.65 THEN 'in_progress' WHEN r < 0.93 THEN 'queued' ELSE 'on_hold' END
                ELSE CASE WHEN r < 0.93 THEN 'completed' WHEN r < 0.99 THEN 'cancelled' ELSE 'on_hold' END
           END AS status
    FROM (
        SELECT g,
               now() - power(random(), 2) * interval '1460 days' AS c,
               random() AS r,
               1 + floor(power(random(), 2) * 5000)::bigint AS customer_id,
               1 + floor(random() * 500)::bigint AS assignee,
               (ARRAY[1, 2, 2, 3, 3, 3, 3, 4, 4, 5])[1 + floor(random() * 10)::int] AS priority,
               'Batch of ' || (1 + floor(random() * 200)::int) || ' '
                   || (ARRAY['flanges', 'shafts', 'brackets', 'housings', 'gears', 'bushings', 'plates'])[1 + g % 7]
                   || ', drawing rev ' || chr(65 + g % 6) AS description,
               random() AS r_assign, random() AS r_upd, random() AS r_due
        FROM generate_series(1, 100000) g
    ) raw
) s
ORDER BY c, g;

-- 3 to 6 steps per job, their state following the job's.
INSERT INTO job_steps (job_id, machine_id, seq, status, started_at, finished_at, minutes)
SELECT job_id, machine_id, seq, st,
       CASE WHEN st IN ('done', 'running') THEN created_at + seq * interval '4 hours' END,
       CASE WHEN st = 'done' THEN created_at + seq * interval '4 hours' + minutes * interval '1 minute' END,
       minutes
FROM (
    SELECT j.id AS job_id, j.created_at, s.seq,
           1 + floor(power(random(), 1.5) * 200)::bigint AS machine_id,
           (15 + random() * 240)::int AS minutes,
           CASE j.status
               WHEN 'completed' THEN 'done'
               WHEN 'cancelled' THEN CASE WHEN s.seq = 1 THEN 'done' ELSE 'skipped' END
               WHEN 'in_progress' THEN CASE WHEN s.seq < 1 + j.id % 3 THEN 'done'
                                            WHEN s.seq = 1 + j.id % 3 THEN 'running' ELSE 'waiting' END
               ELSE 'waiting'
           END AS st
    FROM jobs j CROSS JOIN LATERAL generate_series(1, 3 + (j.id % 4)::int) AS s(seq)
) x;

INSERT INTO notifications (user_id, kind, message, created_at, read_at)
SELECT user_id, kind, kind || ' for job #' || job_id, t,
       CASE WHEN r_read < CASE WHEN t > now() - interval '7 days' THEN 0.5 ELSE 0.95 END
            THEN least(now(), t + r_delay * interval '2 days') END
FROM (SELECT 1 + floor(random() * 500)::bigint AS user_id,
             (ARRAY['job_assigned', 'job_assigned', 'job_late', 'machine_down', 'comment'])[1 + g % 5] AS kind,
             1 + (g * 7919) % 100000 AS job_id,
             now() - power(random(), 2) * interval '365 days' AS t,
             random() AS r_read, random() AS r_delay
      FROM generate_series(1, 100000) g) n
ORDER BY t;

INSERT INTO audit_log (at, actor_id, entity_type, entity_id, action, payload, payload_hash)
SELECT at, actor_id, entity_type, entity_id, action, payload, md5(payload::text)
FROM (SELECT at, actor_id, entity_type, entity_id, action,
             jsonb_build_object('field', CASE WHEN action = 'status' THEN 'status' ELSE 'notes' END,
                                'from', (ARRAY['queued', 'in_progress', 'on_hold'])[1 + g % 3],
                                'to', (ARRAY['in_progress', 'completed', 'in_progress'])[1 + g % 3],
                                'request_id', md5(g::text)) AS payload
      FROM (SELECT g, now() - power(random(), 2) * interval '365 days' AS at,
                   1 + floor(random() * 500)::bigint AS actor_id,
                   CASE WHEN g % 5 = 0 THEN 'customer' ELSE 'job' END AS entity_type,
                   CASE WHEN g % 5 = 0 THEN 1 + g % 5000 ELSE 1 + (g * 7919) % 100000 END AS entity_id,
                   (ARRAY['create', 'update', 'status', 'status', 'comment'])[1 + (g / 5) % 5] AS action
            FROM generate_series(1, 200000) g) a) p
ORDER BY at;

ALTER TABLE jobs ADD CONSTRAINT jobs_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id),
                 ADD CONSTRAINT jobs_assigned_to_fkey FOREIGN KEY (assigned_to) REFERENCES users (id);
ALTER TABLE job_steps ADD CONSTRAINT job_steps_job_id_fkey FOREIGN KEY (job_id) REFERENCES jobs (id),
                      ADD CONSTRAINT job_steps_machine_id_fkey FOREIGN KEY (machine_id) REFERENCES machines (id);
ALTER TABLE notifications ADD CONSTRAINT notifications_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id);

ANALYZE;
