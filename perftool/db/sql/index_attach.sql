-- Attach a partition's index to the partitioned table's index (perftool.ddl.attach_sql).
ALTER INDEX {parent} ATTACH PARTITION {child}
