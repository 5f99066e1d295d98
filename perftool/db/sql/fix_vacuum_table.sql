VACUUM (ANALYZE, VERBOSE) {schema}.{table}
