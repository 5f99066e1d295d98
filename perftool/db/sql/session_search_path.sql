-- The session's search_path now (perftool's pinned one), to put back after costing the workload
-- in the application's (use_workload_search_path): session_search_path_restore; and the one a
-- sibling session takes to resolve names as this one does (advisor.pipeline.read_catalog).
SELECT pg_catalog.current_setting('search_path') AS search_path;
