-- Statements of the workload are resolved as the connecting role resolves them: its own
-- search_path, saved by session_settings before perftool pinned its own.
SELECT set_config('search_path', pg_catalog.current_setting('perftool.workload_search_path'), false);
