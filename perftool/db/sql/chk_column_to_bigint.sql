ALTER TABLE {schema}.{table} ALTER COLUMN {column} TYPE bigint
