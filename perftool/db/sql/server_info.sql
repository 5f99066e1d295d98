-- Version, privileges and preloaded libraries of the connected server. shared_preload_libraries
-- is read from pg_settings, which leaves the row out (NULL here) for a role without
-- pg_read_all_settings, where current_setting() would fail.
SELECT current_setting('server_version_num')::int                  AS version_num,
       current_setting('server_version')                           AS version,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS is_superuser,
       pg_has_role(current_user, 'pg_read_all_stats', 'USAGE')     AS read_all_stats,
       pg_has_role(current_user, 'pg_read_all_settings', 'USAGE')  AS read_all_settings,
       pg_is_in_recovery()                                         AS in_recovery,
       (SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries') AS shared_preload_libraries;
