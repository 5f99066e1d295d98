-- Tables of the connected database by transaction-ID age (a table's TOAST table counts as the
-- table: VACUUM of the table freezes both): the `listed` oldest, and every one older than
-- `min_age` (up to 500).
SELECT schema, "table", xid_age, mxid_age, size_bytes
FROM (
  SELECT n.nspname AS schema, c.relname AS "table",
         greatest(age(c.relfrozenxid), CASE WHEN t.oid IS NOT NULL THEN age(t.relfrozenxid) END)::bigint AS xid_age,
         mxid_age(c.relminmxid)::bigint AS mxid_age,
         -- pages from the catalog, not pg_total_relation_size(): that locks the table and would
         -- wait behind the very locks `pool` is asked to show
         ((c.relpages + coalesce(t.relpages, 0))::bigint * current_setting('block_size')::int) AS size_bytes
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
  WHERE c.relkind IN ('r', 'm')
) r
ORDER BY xid_age DESC, schema, "table"
LIMIT greatest(%(listed)s, least(500, (
  SELECT count(*) FROM pg_class c LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
  WHERE c.relkind IN ('r', 'm')
    AND greatest(age(c.relfrozenxid), CASE WHEN t.oid IS NOT NULL THEN age(t.relfrozenxid) END) > %(min_age)s)));
