-- Pre-flight of indexes apply: how fast this server reads the table, to estimate a build's time. A
-- bounded probe: count(*) over the table's first 1024 pages (8 MB) — a TID range scan (PostgreSQL 14+),
-- read only, never the whole table. TIMING OFF: the execution time without per-node clock overhead.
EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, FORMAT JSON) SELECT count(*) FROM {table} WHERE ctid < '(1024,0)'::tid
