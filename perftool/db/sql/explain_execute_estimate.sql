EXPLAIN /* perftool */ (VERBOSE, SETTINGS, FORMAT JSON) EXECUTE {name} ({arguments})
