-- Drop hypothetical indexes by OID as the first command of an EXPLAIN batch. {oids} is an oid[]
-- literal ('{1,2}').
SELECT count(hypopg_drop_index(o)) AS dropped FROM unnest({oids}::oid[]) AS o
