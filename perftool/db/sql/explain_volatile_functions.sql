-- perftool explain: which of the functions a plan calls are VOLATILE (pg_proc.provolatile = 'v'),
-- before EXPLAIN ANALYZE runs them. Names as EXPLAIN VERBOSE prints them: qualified (schema, name)
-- pairs, and bare names resolved like the session resolves them (visible on its search_path).
SELECT DISTINCT n.nspname AS schema, p.proname AS name,
       EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
           AS extension_member
  FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE p.provolatile = 'v'
   AND (p.proname = ANY (%(bare)s::text[]) AND pg_catalog.pg_function_is_visible(p.oid)
        OR EXISTS (SELECT 1 FROM unnest(%(schemas)s::text[], %(names)s::text[]) AS q(s, f)
                    WHERE q.s = n.nspname AND q.f = p.proname))
 ORDER BY 1, 2
