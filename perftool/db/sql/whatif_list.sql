-- The OIDs of this session's hypothetical indexes.
SELECT indexrelid::bigint AS oid FROM hypopg_list_indexes;
