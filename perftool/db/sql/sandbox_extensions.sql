-- Extensions the sandbox installs in template1 and postgres, so every new database has them.
SELECT name FROM pg_available_extensions
WHERE name IN ('pg_stat_statements', 'hypopg', 'pgstattuple')
ORDER BY name;
