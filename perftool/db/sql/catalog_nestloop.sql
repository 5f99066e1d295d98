-- Nested-loop joins on or off for the rest of the catalog reads' transaction (catalog_session.sql
-- turns them off; catalog_column_stats.sql wants them).
SELECT pg_catalog.set_config('enable_nestloop', %(on)s::text, true);
