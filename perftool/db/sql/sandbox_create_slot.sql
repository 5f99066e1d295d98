-- A physical replication slot for a sandbox standby, reserving WAL at once (tests, bench).
SELECT pg_create_physical_replication_slot(%(slot)s, true)
