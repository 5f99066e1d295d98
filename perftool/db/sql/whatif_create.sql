-- Create hypothetical indexes in one round trip, in order; their OIDs and estimated sizes.
SELECT h.indexrelid::bigint AS oid, hypopg_relation_size(h.indexrelid)::bigint AS size_bytes
FROM unnest(%(definitions)s::text[]) WITH ORDINALITY AS d(definition, ord)
CROSS JOIN LATERAL hypopg_create_index(d.definition) AS h
ORDER BY d.ord;
