-- What-if session: generic plans for statements with $n parameters (PREPARE + EXPLAIN EXECUTE
-- with NULL arguments); no JIT (a plain EXPLAIN above jit_above_cost still JIT-compiles the
-- plan's expressions at executor start: 2-4 ms per TPC-H statement, 3-5x its planning time,
-- and no cost changes: the planner decides on JIT after costing); the statement timeout, for
-- skip reasons.
SELECT set_config('plan_cache_mode', 'force_generic_plan', false) AS plan_cache_mode,
       set_config('jit', 'off', false) AS jit,
       current_setting('statement_timeout') AS statement_timeout;
