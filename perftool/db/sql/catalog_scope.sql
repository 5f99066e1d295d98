-- Whether the schema and/or table that --schema / --table name exist (a typo must not turn a
-- health check or the CI gate green with 0 findings). NULL parameters mean "not asked".
SELECT %(schema)s::text IS NULL
       OR EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.nspname = %(schema)s::text)  AS schema_exists,
       %(table)s::text IS NULL
       OR EXISTS (SELECT 1
                  FROM pg_catalog.pg_class c
                  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.relname = %(table)s::text
                    AND c.relkind IN ('r', 'p')
                    AND (%(schema)s::text IS NULL OR n.nspname = %(schema)s::text))               AS table_exists;
