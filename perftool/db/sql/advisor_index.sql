CREATE INDEX CONCURRENTLY {name} ON {table} USING {method} ({columns}){include}{where}
