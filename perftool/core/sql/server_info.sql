-- Version, privileges and preloaded libraries of the connected server.
SELECT current_setting('server_version_num')::int                  AS version_num,
       current_setting('server_version')                           AS version,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS is_superuser,
       pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER')    AS read_all_stats,
       pg_is_in_recovery()                                         AS in_recovery,
       current_setting('shared_preload_libraries')                 AS shared_preload_libraries;
