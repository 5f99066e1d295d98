# ruff: noqa: E501  (SQL data: one statement per line reads best)
"""An OLTP-shaped advisor workload: a project-management web app (accounts, users, projects, tasks,
comments, events, sessions) and ~200 short statements as pg_stat_statements shows them (`$n`
parameters, calls per statement), with the writes a web app makes (INSERT events and comments on
every action, UPDATE tasks and users' last_seen_at, DELETE expired sessions) at realistic
frequencies, so every index costs something.

Data (deterministic, `setseed`): 2,000 accounts, 50,000 users, 10,000 projects, 300,000 tasks,
600,000 comments, 1,000,000 events, 100,000 sessions, with skew — a few accounts own most
projects and events (a power law on `account_id`), task status mostly `done`, 5 event kinds with
one dominant. Primary keys only, like a fresh schema. Built once in the sandbox database
`bench_oltp` (≈ 20 s) and kept while `SCHEMA_VERSION` matches (table `bench_meta`).

Statements: the app's query shapes (lookups by foreign key with ORDER BY … LIMIT, filtered lists,
dashboards with GROUP BY, joins, searches by email/date range), each in a few select-list variants
as an ORM produces them, and the writes; calls follow a Zipf-like law over the reads, writes are
~15 % of calls.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable

DB = "bench_oltp"
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL, plan text NOT NULL, created_at timestamptz NOT NULL);
CREATE TABLE users (id bigint PRIMARY KEY, account_id bigint NOT NULL, email text NOT NULL, name text NOT NULL,
  role text NOT NULL, created_at timestamptz NOT NULL, last_seen_at timestamptz, deleted_at timestamptz);
CREATE TABLE projects (id bigint PRIMARY KEY, account_id bigint NOT NULL, owner_id bigint NOT NULL, name text NOT NULL,
  archived boolean NOT NULL, created_at timestamptz NOT NULL);
CREATE TABLE tasks (id bigint PRIMARY KEY, project_id bigint NOT NULL, account_id bigint NOT NULL,
  assignee_id bigint, status text NOT NULL, priority int NOT NULL, title text NOT NULL,
  due_date date, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
CREATE TABLE comments (id bigint PRIMARY KEY, task_id bigint NOT NULL, author_id bigint NOT NULL, body text NOT NULL,
  created_at timestamptz NOT NULL);
CREATE TABLE events (id bigint PRIMARY KEY, account_id bigint NOT NULL, user_id bigint NOT NULL, kind text NOT NULL,
  object_id bigint, created_at timestamptz NOT NULL, payload text);
CREATE TABLE sessions (id bigint PRIMARY KEY, user_id bigint NOT NULL, token text NOT NULL, expires_at timestamptz NOT NULL);
"""

# power-law skew: 1 + floor(N * random()^3) puts half the rows on the first ~12 % of the ids
LOAD = """
SELECT setseed(0.15);
INSERT INTO accounts SELECT g, 'account ' || g, (ARRAY['free','team','business'])[1 + (g % 7 = 0)::int + (g % 31 = 0)::int],
  timestamptz '2020-01-01' + g * interval '1 hour' FROM generate_series(1, 2000) g;
INSERT INTO users SELECT g, 1 + floor(2000 * random() ^ 3)::bigint, 'user' || g || '@example.com', 'user ' || g,
  (ARRAY['member','member','member','admin','guest'])[1 + g % 5], timestamptz '2021-01-01' + g * interval '10 minutes',
  timestamptz '2026-01-01' + random() * interval '300 days', CASE WHEN g % 40 = 0 THEN timestamptz '2026-06-01' END
  FROM generate_series(1, 50000) g;
INSERT INTO projects SELECT g, 1 + floor(2000 * random() ^ 3)::bigint, 1 + floor(50000 * random())::bigint,
  'project ' || g, random() < 0.3, timestamptz '2022-01-01' + g * interval '1 hour' FROM generate_series(1, 10000) g;
INSERT INTO tasks SELECT g, p, (SELECT account_id FROM projects WHERE id = p), CASE WHEN random() < 0.9 THEN 1 + floor(50000 * random() ^ 2)::bigint END,
  CASE WHEN r < 0.70 THEN 'done' WHEN r < 0.85 THEN 'open' WHEN r < 0.95 THEN 'in_progress' ELSE 'blocked' END,
  1 + floor(4 * random())::int, 'task ' || g, date '2025-01-01' + floor(700 * random())::int,
  timestamptz '2023-01-01' + g * interval '2 minutes', timestamptz '2023-01-01' + g * interval '2 minutes' + random() * interval '90 days'
  FROM (SELECT g, 1 + floor(10000 * random() ^ 2)::bigint AS p, random() AS r FROM generate_series(1, 300000) g) s;
INSERT INTO comments SELECT g, 1 + floor(300000 * random() ^ 1.5)::bigint, 1 + floor(50000 * random() ^ 2)::bigint,
  repeat('comment text ', 4), timestamptz '2023-01-01' + g * interval '1 minute' FROM generate_series(1, 600000) g;
INSERT INTO events SELECT g, 1 + floor(2000 * random() ^ 3)::bigint, 1 + floor(50000 * random() ^ 2)::bigint,
  CASE WHEN r < 0.6 THEN 'task.viewed' WHEN r < 0.8 THEN 'task.updated' WHEN r < 0.9 THEN 'comment.created'
       WHEN r < 0.97 THEN 'user.login' ELSE 'project.created' END,
  1 + floor(300000 * random())::bigint, timestamptz '2025-06-01' + g * interval '15 seconds', '{}'
  FROM (SELECT g, random() AS r FROM generate_series(1, 1000000) g) s;
INSERT INTO sessions SELECT g, 1 + floor(50000 * random())::bigint, md5(g::text),
  timestamptz '2026-01-01' + random() * interval '60 days' FROM generate_series(1, 100000) g;
"""

# (shape, weight class) — `{cols}` takes the select-list variants; weight class: relative calls
READS: list[tuple[str, float]] = [
    ("SELECT {cols} FROM tasks WHERE project_id = $1 AND status = $2 ORDER BY created_at DESC LIMIT 50", 40),
    ("SELECT {cols} FROM tasks WHERE assignee_id = $1 AND status <> $2 ORDER BY due_date LIMIT 100", 30),
    ("SELECT {cols} FROM tasks WHERE project_id = $1 ORDER BY priority DESC, created_at DESC LIMIT 20", 20),
    ("SELECT {cols} FROM tasks WHERE account_id = $1 AND due_date < $2 AND status = $3", 6),
    ("SELECT {cols} FROM tasks WHERE account_id = $1 AND updated_at > $2 ORDER BY updated_at DESC LIMIT 50", 8),
    ("SELECT {cols} FROM comments WHERE task_id = $1 ORDER BY created_at", 35),
    ("SELECT {cols} FROM comments WHERE author_id = $1 ORDER BY created_at DESC LIMIT 20", 5),
    ("SELECT {cols} FROM events WHERE account_id = $1 AND created_at >= $2 AND created_at < $3 ORDER BY created_at DESC LIMIT 100", 10),
    ("SELECT {cols} FROM events WHERE user_id = $1 ORDER BY created_at DESC LIMIT 50", 6),
    ("SELECT {cols} FROM events WHERE object_id = $1 AND kind = $2 ORDER BY created_at DESC LIMIT 20", 4),
    ("SELECT {cols} FROM users WHERE email = $1", 25),
    ("SELECT {cols} FROM users WHERE account_id = $1 AND deleted_at IS NULL ORDER BY name", 12),
    ("SELECT {cols} FROM projects WHERE account_id = $1 AND archived = $2 ORDER BY created_at DESC", 15),
    ("SELECT {cols} FROM projects WHERE owner_id = $1", 3),
    ("SELECT {cols} FROM sessions WHERE token = $1 AND expires_at > $2", 50),
]
COLUMNS: dict[str, list[str]] = {
    "tasks": ["*", "id, title, status, due_date", "id, project_id, assignee_id, status, priority, title, due_date"],
    "comments": ["*", "id, author_id, body, created_at"],
    "events": ["*", "id, kind, object_id, created_at"],
    "users": ["*", "id, email, name, role", "id, name"],
    "projects": ["*", "id, name, archived"],
    "sessions": ["*", "user_id, expires_at"],
}
FIXED_READS: list[tuple[str, float]] = [
    ("SELECT status, count(*) FROM tasks WHERE project_id = $1 GROUP BY status", 15),
    ("SELECT count(*) FROM tasks WHERE assignee_id = $1 AND status = $2", 12),
    ("SELECT t.id, t.title, p.name FROM tasks t JOIN projects p ON p.id = t.project_id "
     "WHERE p.account_id = $1 AND t.status = $2 ORDER BY t.updated_at DESC LIMIT 50", 8),
    ("SELECT c.id, c.body, u.name FROM comments c JOIN users u ON u.id = c.author_id WHERE c.task_id = $1 "
     "ORDER BY c.created_at", 20),
    ("SELECT u.id, u.name, count(t.id) FROM users u LEFT JOIN tasks t ON t.assignee_id = u.id AND t.status = $2 "
     "WHERE u.account_id = $1 GROUP BY u.id, u.name", 3),
    ("SELECT kind, count(*) FROM events WHERE account_id = $1 AND created_at > $2 GROUP BY kind", 4),
    ("SELECT date_trunc('day', created_at) AS day, count(*) FROM events WHERE account_id = $1 "
     "AND created_at > $2 GROUP BY 1 ORDER BY 1", 2),
    ("SELECT id, name FROM accounts WHERE id = $1", 30),
    ("SELECT id, title FROM tasks WHERE id = $1", 60),
    ("SELECT p.id, p.name, count(t.id) FROM projects p LEFT JOIN tasks t ON t.project_id = p.id "
     "WHERE p.account_id = $1 AND NOT p.archived GROUP BY p.id, p.name", 5),
    ("SELECT id FROM sessions WHERE user_id = $1 AND expires_at > $2", 6),
]
WRITES: list[tuple[str, float]] = [
    ("INSERT INTO events (id, account_id, user_id, kind, object_id, created_at, payload) "
     "VALUES ($1, $2, $3, $4, $5, $6, $7)", 60),
    ("INSERT INTO comments (id, task_id, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5)", 8),
    ("INSERT INTO tasks (id, project_id, account_id, assignee_id, status, priority, title, due_date, created_at, "
     "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", 4),
    ("UPDATE tasks SET status = $1, updated_at = $2 WHERE id = $3", 15),
    ("UPDATE tasks SET assignee_id = $1, updated_at = $2 WHERE id = $3", 5),
    ("UPDATE users SET last_seen_at = $1 WHERE id = $2", 40),
    ("INSERT INTO sessions (id, user_id, token, expires_at) VALUES ($1, $2, $3, $4)", 6),
    ("DELETE FROM sessions WHERE expires_at < $1", 1),
    ("UPDATE projects SET archived = $1 WHERE id = $2", 1),
]
CALLS_PER_WEIGHT = 1000


def statements():
    """The workload as pg_stat_statements would show it: (text, calls) per statement shape, each
    select-list variant its own statement with a share of the shape's calls (Zipf over variants)."""
    from perftool.workload.sources import WorkloadStatement

    rng = random.Random(15)
    out: list[WorkloadStatement] = []
    for shape, weight in READS:
        table = shape.split(" FROM ", 1)[1].split()[0]
        variants = COLUMNS[table]
        for k, cols in enumerate(variants):
            for limit_variant in ("", " /* page 2 */"):
                share = weight / (k + 1) / (2 if limit_variant else 1)
                text = shape.format(cols=cols) + limit_variant
                out.append(WorkloadStatement(text=text, calls=round(share * CALLS_PER_WEIGHT * rng.uniform(0.8, 1.2)),
                                             source="file", origin=f"oltp read {len(out)}"))
    for text, weight in FIXED_READS:
        out.append(WorkloadStatement(text=text, calls=round(weight * CALLS_PER_WEIGHT), source="file",
                                     origin=f"oltp read {len(out)}"))
    for text, weight in WRITES:
        out.append(WorkloadStatement(text=text, calls=round(weight * CALLS_PER_WEIGHT), source="file",
                                     origin=f"oltp write {len(out)}"))
    # ORMs issue the same lookups from many call sites with a tag comment each: more statements,
    # same shapes (pg_stat_statements keeps them apart: the comment is part of the text)
    extra = []
    for s, site in itertools.product(out[:60], range(2)):
        extra.append(WorkloadStatement(text=f"/* controller:{site} */ " + s.text, calls=max(1, s.calls // 4),
                                       source="file", origin=s.origin + f" site {site}"))
    return out + extra


def build(dsn: str, progress: Callable[[str], None]) -> None:
    """Create and load the schema unless the database already holds this SCHEMA_VERSION."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        have = conn.execute("SELECT to_regclass('public.bench_meta') IS NOT NULL").fetchone()[0]
        if have and conn.execute("SELECT max(version) FROM bench_meta").fetchone()[0] == SCHEMA_VERSION:
            return
        progress("building the OLTP benchmark database (once)")
        t0 = time.perf_counter()
        conn.execute("SET synchronous_commit = on")
        conn.execute("DROP TABLE IF EXISTS bench_meta, sessions, events, comments, tasks, projects, users, accounts")
        with conn.transaction():
            for stmt in (SCHEMA + LOAD).split(";\n"):
                if stmt.strip():
                    conn.execute(stmt)
        conn.execute("VACUUM ANALYZE")
        conn.execute("CREATE TABLE bench_meta (version int NOT NULL)")
        conn.execute("INSERT INTO bench_meta VALUES (%s)", (SCHEMA_VERSION,))
        progress(f"  built in {time.perf_counter() - t0:.0f} s")
