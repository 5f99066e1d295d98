-- Sequences outside the system schemas and extensions: type, range, increment, the last value
-- handed out (NULL before the first nextval or without privilege), and the column that owns it
-- (serial or identity) with that column's type, which may overflow before the sequence does.
SELECT n.nspname                                                  AS schema,
       c.relname                                                  AS name,
       pg_catalog.format_type(q.seqtypid, NULL)                   AS data_type,
       q.seqmin::numeric                                          AS min_value,
       q.seqmax::numeric                                          AS max_value,
       q.seqincrement::numeric                                    AS increment,
       q.seqcycle                                                 AS cycle,
       CASE WHEN pg_catalog.has_sequence_privilege(c.oid, 'SELECT,USAGE')
            THEN pg_catalog.pg_sequence_last_value(c.oid)::numeric END AS last_value,
       own.schema                                                 AS owner_schema,
       own.table                                                  AS owner_table,
       own.column                                                 AS owner_column,
       own.type                                                   AS owner_type
FROM pg_catalog.pg_sequence q
JOIN pg_catalog.pg_class c ON c.oid = q.seqrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN LATERAL (
    SELECT tn.nspname AS schema, t.relname AS table, a.attname::text AS column,
           pg_catalog.format_type(a.atttypid, NULL) AS type
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class t ON t.oid = d.refobjid
    JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
    JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
      AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i')
    LIMIT 1
) own ON true
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_)'
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                  WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
  AND (%(schema)s::text IS NULL OR n.nspname = %(schema)s::text)
  AND (%(table)s::text IS NULL OR own.table = %(table)s::text)
ORDER BY n.nspname, c.relname;
