-- perftool's own reads inside a transaction the caller already opened: a savepoint, rolled back
-- after the reads, so that their session settings (catalog_session, stats_session) end with them.
SAVEPOINT perftool_catalog
