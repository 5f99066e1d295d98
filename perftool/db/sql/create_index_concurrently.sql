CREATE INDEX CONCURRENTLY {index} ON {schema}.{table} ({columns})
