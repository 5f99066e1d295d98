-- Costing and plans, and the catalog reads (one consistent view), run in an explicit read-only
-- transaction that is always rolled back.
BEGIN TRANSACTION READ ONLY
