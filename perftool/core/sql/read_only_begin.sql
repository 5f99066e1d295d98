-- Costing and plans run in an explicit read-only transaction that is always rolled back.
BEGIN TRANSACTION READ ONLY
