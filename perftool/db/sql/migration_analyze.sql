-- After indexes apply built an index: fresh statistics for the table (expression indexes get their own).
ANALYZE {table}
