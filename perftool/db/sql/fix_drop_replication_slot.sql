-- Printed in fixes for a person to run; perftool never sends it.
SELECT pg_drop_replication_slot({slot})
