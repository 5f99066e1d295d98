ALTER SEQUENCE {schema}.{sequence} AS bigint
