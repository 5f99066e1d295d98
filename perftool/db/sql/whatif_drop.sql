-- Drop hypothetical indexes by OID.
SELECT count(hypopg_drop_index(o)) AS dropped FROM unnest(%(oids)s::oid[]) AS o;
