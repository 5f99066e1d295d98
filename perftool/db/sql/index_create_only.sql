-- CREATE INDEX on a partitioned table alone (not its partitions): the invalid parent index that the
-- partitions' indexes, each built CONCURRENTLY, are attached to (index_attach). Filled by perftool.ddl.
CREATE {unique}INDEX {if_not_exists}{name} ON ONLY {table} USING {method} ({columns}){include}{where}
