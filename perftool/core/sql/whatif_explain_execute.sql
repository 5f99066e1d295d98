EXPLAIN (FORMAT JSON) EXECUTE {name} ({arguments})
