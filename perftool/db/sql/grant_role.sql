-- Fix for a missing privilege: make the role a member of a predefined role (docs/privileges.md).
GRANT {granted} TO {role}
