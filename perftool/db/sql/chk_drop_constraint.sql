ALTER TABLE {schema}.{table} DROP CONSTRAINT {constraint}
