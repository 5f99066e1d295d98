-- Drop an index, without blocking writes unless {concurrently} is empty (perftool.ddl).
DROP INDEX{concurrently} IF EXISTS {index}
