-- Put back the search_path saved by session_search_path.
SELECT pg_catalog.set_config('search_path', %(search_path)s, false);
