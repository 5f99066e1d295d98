VACUUM (FULL, ANALYZE) {schema}.{table}
