CREATE INDEX {name} ON ONLY {table} USING {method} ({columns}){include}{where}
