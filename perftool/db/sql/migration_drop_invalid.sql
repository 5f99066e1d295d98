-- The invalid-index guard of a generated migration (perftool.migrations): drop an INVALID index of this
-- name, the leftover of a failed CREATE INDEX CONCURRENTLY, so that CREATE INDEX ... IF NOT EXISTS cannot
-- keep it. Plain DROP INDEX (DO runs in a transaction): only when the broken index is there, bounded by lock_timeout.
DO $perftool$
BEGIN
  IF EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = {schema} AND c.relname = {name} AND NOT i.indisvalid) THEN
    DROP INDEX {index};
  END IF;
END
$perftool$
