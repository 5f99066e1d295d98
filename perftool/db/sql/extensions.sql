-- Extensions available on the server and, where installed, their version in this database.
SELECT name, installed_version
FROM pg_available_extensions
ORDER BY name;
