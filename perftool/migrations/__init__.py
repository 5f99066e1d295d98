"""Index migrations: generate them for a framework (`indexes generate`), lint existing ones
(`indexes lint`, M1xx) and apply index changes with progress (`indexes apply`).

changes.py reads what to change (perftool's JSON outputs or a change list); plan.py turns each
change into statements (from perftool/ddl.py and db/sql/migration_*.sql); frameworks.py wraps them
for each framework; lint.py finds the traps in migration files; apply.py runs the changes.
docs/migrations.md is the user's page."""
