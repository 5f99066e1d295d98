EXPLAIN /* perftool */ (FORMAT JSON) 
