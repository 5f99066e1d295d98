"""`perftool explain`: EXPLAIN plans as a node tree (model), read from JSON or psql's text form
(json_plan, text_plan, `parse`), P1xx tips on them (tips), run safely against a server (run)."""
