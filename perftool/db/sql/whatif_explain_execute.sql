EXPLAIN /* perftool */ (FORMAT JSON) EXECUTE {name} ({arguments})
