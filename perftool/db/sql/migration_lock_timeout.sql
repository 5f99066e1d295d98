-- The lock wait of a migration's DDL (perftool.migrations): give up instead of queueing the table's traffic.
SET lock_timeout = {value}
