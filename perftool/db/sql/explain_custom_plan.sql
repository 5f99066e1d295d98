-- perftool explain --param: a custom plan for the values given (not the generic one the what-if
-- session asks for), for this transaction only.
SELECT set_config('plan_cache_mode', 'force_custom_plan', true)
