"""The schema of the connected database as dataclasses: tables, columns and their statistics,
indexes, constraints, sequences, views, partitions."""
