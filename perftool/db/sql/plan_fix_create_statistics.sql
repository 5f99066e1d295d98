-- P102's fix for people: extended statistics on correlated columns (PG14+: the name is optional).
CREATE STATISTICS ON {columns} FROM {table}
