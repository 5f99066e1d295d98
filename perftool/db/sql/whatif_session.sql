-- What-if session: generic plans for statements with $n parameters (PREPARE + EXPLAIN EXECUTE
-- with NULL arguments); no JIT (a plain EXPLAIN above jit_above_cost still JIT-compiles the
-- plan's expressions at executor start: 2-4 ms per TPC-H statement, 3-5x its planning time,
-- and no cost changes: the planner decides on JIT after costing); the statement timeout, for
-- skip reasons. A role that may set it (a superuser) turns pg_stat_statements off for this
-- session: the advisor's thousands of distinct EXPLAINs (25,000 on Dexter's stress case) would
-- otherwise take the place of the application's own statistics when the view is full (evicting
-- the least used) and make the server deallocate and rewrite its texts file over and over.
SELECT set_config('plan_cache_mode', 'force_generic_plan', false) AS plan_cache_mode,
       set_config('jit', 'off', false) AS jit,
       current_setting('statement_timeout') AS statement_timeout,
       CASE WHEN current_setting('pg_stat_statements.track', true) IS NOT NULL
                 AND (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)
            THEN set_config('pg_stat_statements.track', 'none', false) END AS statements_tracking;
