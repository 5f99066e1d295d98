 WHERE {predicate}
