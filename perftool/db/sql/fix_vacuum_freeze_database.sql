-- A database-wide freeze, run connected to that database (vacuumdb --all --freeze does every one).
VACUUM (FREEZE, VERBOSE)
