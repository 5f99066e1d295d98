-- Down step of 20260102030405_add_indexes.sql
-- Run with psql -f FILE (never -1 / --single-transaction) or any client in autocommit mode.

-- nothing to undo
