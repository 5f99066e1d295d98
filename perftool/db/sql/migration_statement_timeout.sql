-- No statement timeout for an index build in a migration (perftool.migrations): it may take long.
SET statement_timeout = {value}
