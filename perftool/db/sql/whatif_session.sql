-- What-if session: generic plans for statements with $n parameters (PREPARE + EXPLAIN EXECUTE
-- with NULL arguments); the statement timeout, for skip reasons.
SELECT set_config('plan_cache_mode', 'force_generic_plan', false) AS plan_cache_mode,
       current_setting('statement_timeout') AS statement_timeout;
