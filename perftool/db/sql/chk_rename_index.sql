ALTER INDEX {schema}.{index} RENAME TO {new_name}
