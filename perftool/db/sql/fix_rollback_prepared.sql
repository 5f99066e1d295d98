-- Printed in fixes for a person to run, connected to the transaction's database.
ROLLBACK PREPARED {gid}
