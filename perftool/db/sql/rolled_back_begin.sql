-- perftool explain --allow-dml: EXPLAIN ANALYZE of a write in a read-write transaction that the
-- same pipeline always ends with ROLLBACK (read_only_rollback.sql).
BEGIN TRANSACTION READ WRITE
