CREATE INDEX ON {table} USING {method} ({columns}){include}{where}
