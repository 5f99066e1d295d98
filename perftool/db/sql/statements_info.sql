-- PG13 has no pg_stat_statements_info: nothing known about evictions or the last reset.
SELECT NULL::bigint AS dealloc, NULL::timestamptz AS stats_reset;
