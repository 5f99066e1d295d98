-- P106's fix for people: a current visibility map.
VACUUM (ANALYZE) {table}
