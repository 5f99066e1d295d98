-- Put back (or, on a sibling session, take) the search_path read by session_search_path.
SELECT pg_catalog.set_config('search_path', %(search_path)s, false);
