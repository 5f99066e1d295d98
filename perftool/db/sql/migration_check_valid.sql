-- After CREATE INDEX CONCURRENTLY in a generated migration (perftool.migrations): fail the migration
-- when the index is missing or INVALID (pg_index.indisvalid), instead of recording it as done.
DO $perftool$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = {schema} AND c.relname = {name} AND i.indisvalid) THEN
    RAISE EXCEPTION 'index %.% is missing or INVALID after its build', {schema}, {name};
  END IF;
END
$perftool$
