-- P102's fix for people: sample a column more finely.
ALTER TABLE {table} ALTER COLUMN {column} SET STATISTICS 1000
