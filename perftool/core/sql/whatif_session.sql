-- What-if session: generic plans for statements with $n parameters (PREPARE + EXPLAIN EXECUTE on
-- servers before 16, where EXPLAIN has no GENERIC_PLAN option).
SELECT set_config('plan_cache_mode', 'force_generic_plan', false);
