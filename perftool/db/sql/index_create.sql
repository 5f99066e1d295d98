-- CREATE INDEX, the one form every index perftool writes takes (advisor, HypoPG, health fixes, index
-- sets, migrations): perftool.ddl.IndexSpec fills {unique}, {concurrently}, {if_not_exists}, {name} (each empty
-- or with its leading/trailing space), {table}, {method}, {columns}, {include} and {where} with psycopg.sql parts.
CREATE {unique}INDEX{concurrently}{if_not_exists}{name} ON {table} USING {method} ({columns}){include}{where}
