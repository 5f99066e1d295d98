-- Template for CREATE INDEX CONCURRENTLY statements perftool suggests: {unique}, {method},
-- {columns}, {include} and {where} are filled with psycopg.sql parts (identifiers quoted).
CREATE {unique}INDEX CONCURRENTLY {index} ON {schema}.{table} USING {method} ({columns}){include}{where}
