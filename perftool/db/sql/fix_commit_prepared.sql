-- Printed in fixes for a person to run, connected to the transaction's database.
COMMIT PREPARED {gid}
