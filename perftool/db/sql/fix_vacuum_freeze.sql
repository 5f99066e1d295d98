VACUUM (FREEZE, VERBOSE) {schema}.{table}
