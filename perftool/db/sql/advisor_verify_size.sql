-- --verify-on: the size of an index just built (inside the rolled-back transaction) on the staging copy.
SELECT pg_catalog.pg_relation_size({index}::regclass) AS size_bytes
