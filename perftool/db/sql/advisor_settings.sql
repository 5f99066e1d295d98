-- Session facts the advisor needs: the search path and the database's default collation.
SELECT pg_catalog.current_schemas(true)::text[]  AS search_path,
       d.datcollate                              AS collate
FROM pg_catalog.pg_database d
WHERE d.datname = pg_catalog.current_database();
