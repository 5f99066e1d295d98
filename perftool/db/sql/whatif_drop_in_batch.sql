-- Drop hypothetical indexes by OID as the first command of an EXPLAIN batch (the OIDs: an oid[]
-- literal).
SELECT count(hypopg_drop_index(o)) AS dropped FROM unnest({oids}::oid[]) AS o
