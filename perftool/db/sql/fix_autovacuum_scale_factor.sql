ALTER TABLE {schema}.{table} SET (autovacuum_vacuum_scale_factor = 0.02)
