-- P102's fix for people: refresh a table's statistics.
ANALYZE {table}
