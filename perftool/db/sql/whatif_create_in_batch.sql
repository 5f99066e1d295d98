-- Create hypothetical indexes as the first commands of an EXPLAIN batch (one round trip for both):
-- [[oid, estimated size], ...] in order, as one value; the definitions: perftool's own CREATE INDEX
-- texts, each a string literal composed by psycopg.
SELECT coalesce(json_agg(json_build_array(h.indexrelid::bigint, hypopg_relation_size(h.indexrelid)::bigint)
                         ORDER BY d.ord), '[]'::json) AS created
FROM unnest(ARRAY[{definitions}]::text[]) WITH ORDINALITY AS d(definition, ord)
CROSS JOIN LATERAL hypopg_create_index(d.definition) AS h
