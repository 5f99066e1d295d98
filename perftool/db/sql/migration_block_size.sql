-- Pre-flight of indexes apply: the server's page size, to turn the scan probe's pages into bytes.
SELECT pg_catalog.current_setting('block_size')::int AS block_size
