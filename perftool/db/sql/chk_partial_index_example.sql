CREATE INDEX CONCURRENTLY {index} ON {schema}.{table} ({key}) WHERE {column} = <value>
