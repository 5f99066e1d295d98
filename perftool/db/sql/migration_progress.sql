-- The progress of one CREATE INDEX (pg_stat_progress_create_index) for indexes apply's progress bar.
SELECT phase, blocks_total, blocks_done, tuples_total, tuples_done, lockers_total, lockers_done,
       partitions_total, partitions_done
  FROM pg_catalog.pg_stat_progress_create_index
 WHERE pid = %(pid)s
