-- Fix for many tables a role cannot read: SELECT on every table of their schemas (docs/privileges.md).
GRANT SELECT ON ALL TABLES IN SCHEMA {schemas} TO {role}
