-- perftool explain --compare-setting: one setting for this transaction only (SET LOCAL), before the EXPLAIN.
SELECT set_config({name}, {value}, true)
