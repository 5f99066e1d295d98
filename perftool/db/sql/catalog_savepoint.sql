-- The catalog reads inside a transaction the caller already opened: a savepoint, rolled back
-- after the reads, so that catalog_session's settings end with them.
SAVEPOINT perftool_catalog
