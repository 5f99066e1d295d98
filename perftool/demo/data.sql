-- Deterministic data (setseed) with the skew of a real shop: most jobs completed, a few queued or in
-- progress, recent jobs more frequent; about 100k jobs, 400k steps, 200k audit rows, 100k notifications.
SELECT setseed(0.42);

INSERT INTO customers (name, email, region, created_at)
SELECT 'Customer ' || g, 'buyer' || g || '@customer' || (g % 997) || '.example',
       (ARRAY['north','south','east','west','central'])[1 + (g % 5)],
       now() - (random() * 1500) * interval '1 day'
FROM generate_series(1, 5000) g;

INSERT INTO users (email, name, role, active, created_at)
SELECT 'user' || g || '@shop.example', 'User ' || g,
       (ARRAY['operator','operator','operator','planner','manager','admin'])[1 + (g % 6)],
       g % 17 <> 0, now() - (random() * 1000) * interval '1 day'
FROM generate_series(1, 500) g;

INSERT INTO machines (name, kind, status, location, notes)
SELECT 'M-' || lpad(g::text, 3, '0'),
       (ARRAY['lathe','mill','press','laser','paint','weld','assembly'])[1 + (g % 7)],
       CASE WHEN g % 23 = 0 THEN 'maintenance' ELSE 'running' END,
       'hall ' || (1 + g % 4), 'installed ' || (2010 + g % 14)
FROM generate_series(1, 200) g;

INSERT INTO jobs (job_number, customer_id, assigned_to, status, priority, description, created_at, updated_at, due_date)
SELECT 'JOB-' || (2021 + (g * 5) / 100001) || '-' || lpad(g::text, 6, '0'),
       1 + floor(random() * 5000)::bigint,
       CASE WHEN random() < 0.9 THEN 1 + floor(random() * 500)::bigint END,
       CASE WHEN r < 0.82 THEN 'completed' WHEN r < 0.88 THEN 'cancelled' WHEN r < 0.94 THEN 'in_progress'
            WHEN r < 0.985 THEN 'queued' ELSE 'on_hold' END,
       1 + floor(random() * 5)::int,
       'Order of ' || (1 + g % 40) || ' parts, drawing rev ' || (g % 9),
       c, c + random() * interval '10 days',
       (c + (3 + random() * 40) * interval '1 day')::date
FROM (SELECT g, random() AS r,
             now() - (power(random(), 2) * 1460) * interval '1 day' AS c
      FROM generate_series(1, 100000) g) s;

INSERT INTO job_steps (job_id, machine_id, seq, status, started_at, finished_at, minutes)
SELECT j.id, 1 + floor(random() * 200)::bigint, s.seq,
       CASE WHEN j.status = 'completed' THEN 'done' WHEN s.seq = 1 THEN 'running' ELSE 'waiting' END,
       j.created_at + s.seq * interval '4 hours',
       CASE WHEN j.status = 'completed' THEN j.created_at + s.seq * interval '5 hours' END,
       (15 + random() * 240)::int
FROM jobs j CROSS JOIN generate_series(1, 4) AS s(seq);

INSERT INTO notifications (user_id, kind, message, created_at, read_at)
SELECT 1 + floor(random() * 500)::bigint,
       (ARRAY['job_assigned','job_late','machine_down','comment'])[1 + (g % 4)],
       'Notification ' || g, t, CASE WHEN random() < 0.93 THEN t + interval '2 hours' END
FROM (SELECT g, now() - random() * interval '365 days' AS t FROM generate_series(1, 100000) g) n;

INSERT INTO audit_log (at, actor_id, entity_type, entity_id, action, payload, payload_hash)
SELECT now() - random() * interval '365 days', 1 + floor(random() * 500)::bigint,
       CASE WHEN g % 5 = 0 THEN 'customer' ELSE 'job' END,
       CASE WHEN g % 5 = 0 THEN 1 + g % 5000 ELSE 1 + g % 100000 END,
       (ARRAY['create','update','status','comment'])[1 + (g % 4)],
       jsonb_build_object('field', 'status', 'n', g),
       md5(g::text)
FROM generate_series(1, 200000) g;
