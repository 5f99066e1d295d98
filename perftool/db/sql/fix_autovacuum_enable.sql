ALTER TABLE {schema}.{table} SET (autovacuum_enabled = true)
