"""What the server's sessions do right now: `perftool pool` and `perftool replicas`.

connect → collect (SQL files in perftool/db/sql, `activity_*`, `replicas_*`) → model (dataclasses)
→ pure analysis → Report. Modules:

- connections: slot use (C101), idle-in-transaction (C102) and long statements (C103) — also what
  `perftool analyze`'s connections section uses
- locks: the lock tree from pg_blocking_pids() (C104)
- horizon: the xmin horizon holders (C105) and transaction-ID wraparound (D103, D104)
- pgbouncer: SHOW POOLS / STATS / DATABASES / CLIENTS / CONFIG (C106–C108)
- pool: the `pool` report
- replication: standbys, slots, one lag verdict per replica (R101, R102, R104, R105) — also what
  `perftool analyze`'s replication section uses; the `replicas` report
- watch: `--watch`, the live view
"""
