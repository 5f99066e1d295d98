-- Fix for tables a role cannot read: SELECT on those tables (docs/privileges.md).
GRANT SELECT ON {tables} TO {role}
