"""What the database runs: pg_stat_statements statistics, snapshots and deltas, fleet merge,
statement text (parsing, fingerprints), workload sources for the advisor, queries, patterns."""
