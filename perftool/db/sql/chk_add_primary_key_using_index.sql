ALTER TABLE {schema}.{table} ADD CONSTRAINT {constraint} PRIMARY KEY USING INDEX {index}
