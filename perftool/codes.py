"""ONE registry of finding codes: every code perftool emits is declared here once.

A code is a class named after it, subclassing `Code`: its `severity` (the default; a finding may
report a code at another severity when its detail says why, e.g. I104 below 1 MB), its `title`
(the short name; the default title of a finding) and its docstring, the explanation — what
perftool looks at, why it hurts, how to fix — which is the body of `docs/checks/<CODE>.md`
(`make docs` writes the pages from here, followed by the hand-written examples and near misses of
`docs/checks/appendix/<CODE>.md`; a test compares the registry and the pages). A check's
docstring starts with its one-paragraph summary (`perftool indexes health --format json` lists it).

Codes are stable strings grouped by area: Q1xx queries, T1xx/T2xx tables, I1xx index health, I2xx
drift from an index set, S1xx sequences, C1xx connections (pgbouncer included), R1xx replication,
D1xx the database (transaction-ID wraparound included), A1xx the index advisor, M1xx migrations
(indexes lint). Creating a `Finding` with a code missing here fails (UnknownCode).
"""

from __future__ import annotations

import inspect
import re
from typing import ClassVar

SEVERITIES = ("info", "warning", "error")
CODE = re.compile(r"[A-Z][0-9]{3}")
_REGISTRY: dict[str, type[Code]] = {}


class UnknownCode(LookupError):
    """A finding code that is not declared in perftool/codes.py (a programming error)."""


class Code:
    """Base of the declarations: subclass it as `class X123(Code)` with `severity`, `title` and a
    docstring; `heading` is the page's title when it says more than `title`."""

    code: ClassVar[str]
    severity: ClassVar[str]
    title: ClassVar[str]
    heading: ClassVar[str] = ""
    doc: ClassVar[str]

    def __init_subclass__(cls) -> None:
        code = cls.__name__
        if not CODE.fullmatch(code):
            raise TypeError(f"finding code {code!r}: one capital letter and three digits")
        if code in _REGISTRY:
            raise TypeError(f"finding code {code} declared twice")
        if cls.severity not in SEVERITIES:
            raise TypeError(f"{code}: severity {cls.severity!r} is not one of {', '.join(SEVERITIES)}")
        if not cls.__doc__ or not cls.title:
            raise TypeError(f"{code}: a title and a docstring (its documentation) are required")
        cls.code = code
        cls.doc = inspect.cleandoc(cls.__doc__)
        cls.heading = cls.heading or cls.title[:1].upper() + cls.title[1:]
        _REGISTRY[code] = cls

    @classmethod
    def summary(cls) -> str:
        """The docstring's first paragraph, on one line."""
        return " ".join(cls.doc.split("\n\n")[0].split())

    @classmethod
    def docs(cls) -> str:
        return f"docs/checks/{cls.code}.md"


def get(code: str) -> type[Code]:
    """The declaration of `code`; UnknownCode when it has none."""
    try:
        return _REGISTRY[code]
    except KeyError:
        raise UnknownCode(f"finding code {code!r} is not registered: declare it in perftool/codes.py") from None


def all_codes() -> list[type[Code]]:
    return [_REGISTRY[c] for c in sorted(_REGISTRY)]


class A101(Code):
    """
    **Severity:** warning.
    **Thresholds:** none of its own; the advisor's `--budget`, `--max-indexes`, `--max-width` and
    `--min-improvement` (default 0.10) decide which indexes are recommended.
    **Reported by:** `perftool indexes recommend` only, one finding per recommended index.

    ## What perftool looks at

    The workload (pg_stat_statements by default, or `--from FILE`, `-`, `--query`, `--log FILE`), the
    columns each statement filters, joins, sorts and groups on, and — with HypoPG — the planner's
    estimated cost of every statement with and without hypothetical indexes. The whole-workload
    selection picks the set of indexes with the best benefit per byte within `--budget` and
    `--max-indexes`, each improving some statement by at least `--min-improvement`, then verifies the
    set by planning every statement with all of it ([the command](../commands/indexes-recommend.md),
    [the algorithm](../advisor.md)).

    The object is the table (`schema.table`). The detail gives the estimated size (HypoPG), the share
    of the workload's estimated cost the index saves *given the other recommended indexes* (its
    marginal share, after its write cost), and how many statements use it in their final plan, with
    their origins (`queryid:…`, `file:line`, `--query N`; up to five). The fix is the
    `CREATE INDEX CONCURRENTLY` statement — for a partitioned table, one statement for the parent
    and two per partition (see [Safety](../commands/indexes-recommend.md#safety)).

    Evidence: `table`, `columns` (key columns), `size_bytes`, `benefit` (weighted planner cost saved,
    minus the write cost; with `--no-whatif` the heuristic score).

    ## Why it hurts

    The statements that would use the index read far more rows or pages than they return — a
    sequential scan, or an index on the wrong columns and a filter — or sort rows that an index could
    return in order for a LIMIT. The index lets the planner go straight to them.

    ## How to fix

    Run the statement in the finding's fix yourself — perftool creates nothing — outside a transaction
    block, with a `lock_timeout`:

    ```sql
    SET lock_timeout = '5s';
    CREATE INDEX CONCURRENTLY "jobs_status_due_date_idx" ON "public"."jobs" USING btree ("status", "due_date");
    ```

    then check with `perftool queries` that the statements got faster. If the build fails it leaves an
    invalid index ([I101](I101.md)): drop it and retry. When the title says "(unverified heuristic)",
    HypoPG was not used (`--no-whatif`, [A103](A103.md)): verify before creating.
    """

    severity = "warning"
    title = "missing index (index advisor)"



class A102(Code):
    """
    **Severity:** info.
    **Thresholds:** none.
    **Reported by:** `perftool indexes recommend`, once per run when at least one statement of the
    workload was skipped.

    ## What perftool looks at

    Every statement of the workload is parsed, resolved against the catalog and (with HypoPG)
    EXPLAINed. Those that cannot be are *skipped*: they take no part in the selection. The report's
    `skipped` table (JSON: `skipped`, with `query`, `origin`, `reason`) lists each with its reason;
    the finding's detail lists the distinct reasons. The reasons are:

    - `empty statement`
    - `statement text hidden (<insufficient privilege>): grant pg_read_all_stats`
    - `could not be parsed as a single PostgreSQL statement`
    - `utility or DDL statement (TYPE): nothing to index` — `SET`, `COPY`, `VACUUM` (shown as
      `COMMAND`), `CREATE …`, …
    - `MERGE statements are not analysed`
    - `relation "name" does not exist` — not in this database, or not on the session's `search_path`
    - `foreign table schema.name cannot be indexed`
    - `reads only system catalogs`, `reads no table`
    - `UPDATE target is not a table` / `DELETE target is not a table`, `nothing to analyse`
    - `statement nested too deeply to analyse`, `could not be analysed (ErrorType)`
    - `EXPLAIN failed: <the server's message>` — e.g. a column that does not exist, or a parameter
      whose type the planner cannot infer

    Evidence: `count` (number of skipped statements).

    ## Why it matters

    Skipped statements do not count toward the recommendations. Most are harmless (utility
    statements, catalog queries of tools); but if an important statement is among them, the advice
    ignores it.

    ## How to fix

    Nothing to change in the database; read the reasons. Grant `pg_read_all_stats` to perftool's role
    for hidden texts; give a statement the advisor cannot use in a form it can cost — for example a
    `MERGE`'s source as `--query 'SELECT …'`, with the table names of this database.
    """

    severity = "info"
    title = "statements the advisor could not analyse"



class A103(Code):
    """
    **Severity:** info.
    **Thresholds:** none.
    **Reported by:** `perftool indexes recommend --no-whatif`, once per run. (Without `--no-whatif`, a
    database without HypoPG is an error, exit 3, not this finding.)

    ## What it means

    The recommendations were ranked without the planner: per table access, one equality-first index
    of the filter columns, scored by weight × rows it would skip (from row counts and `n_distinct`)
    per estimated byte. The planner was never asked whether it would use them, so there are no
    costs: the "saves" column and `saved_pct` are empty, `verified` is `false`, each A101 says
    "(unverified heuristic)", and sizes are perftool's own estimates. There are no partial or
    INCLUDE candidates, no write cost and no `--min-improvement` check, and overlapping indexes on
    one table are common.

    Evidence: none.

    ## How to fix

    Install HypoPG on the server (package `postgresql-NN-hypopg`, e.g. `postgresql-16-hypopg`), run
    `CREATE EXTENSION hypopg` in the database, and run `perftool indexes recommend` without
    `--no-whatif`. The what-if costing needs no write access: hypothetical indexes exist only in the
    memory of perftool's own session.
    """

    severity = "info"
    title = "heuristic recommendations (not verified with HypoPG)"



class C101(Code):
    """
    **Severity:** warning when utilisation is ≥ 80 %; error when it is ≥ 95 %.
    **Thresholds:** `thresholds.connections_warning` (0.80), `thresholds.connections_critical` (0.95)
    in perftool.yaml. No CLI option.
    **Reported by:** `perftool analyze` (connections section) and `perftool pool`, per host.

    ## What perftool looks at

    `pg_stat_activity` now (client backends, perftool's own session left out) and two settings:

    ```text
    usable      = max_connections − superuser_reserved_connections − reserved_connections (PG16+; at least 1)
    used        = client backends + 1                                 (+1: perftool's own session)
    utilisation = used / usable
    ```

    The summary line and the metrics `perftool_connections_used` / `_max` use the same numbers;
    `perftool pool` also breaks the connections down by database, user, application, client address
    and state.
    Evidence: `used`, `usable`, `utilisation`. Object: the host name (`host:port` for a `--dsn`).

    ## Why it hurts

    When the slots are gone new connections fail (`FATAL: sorry, too many clients already`) and the
    API returns errors. Hundreds of idle backends also cost memory and slow down snapshots.

    ## How to fix

    Put a pooler in front (pgbouncer, transaction mode) and size the application pools so their sum
    stays below `max_connections`; close idle sessions (`idle_session_timeout`, PG 14+) and leaks
    (C102); raise `max_connections` only with memory to spare (restart needed).

    ```sql
    SELECT usename, application_name, state, count(*) FROM pg_stat_activity GROUP BY 1, 2, 3 ORDER BY 4 DESC;
    ```
    """

    severity = "warning"
    title = "connection slots nearly used up"



class C102(Code):
    """
    **Severity:** warning when the oldest idle-in-transaction session has been so for > 60 s; error
    when > 300 s.
    **Thresholds:** `thresholds.idle_in_transaction_warning_s` (60),
    `thresholds.idle_in_transaction_critical_s` (300) in perftool.yaml. No CLI option.
    **Reported by:** `perftool analyze` (connections section), once per host for the oldest such
    session; `perftool pool`, once per session (object `pid N`, with its user, database,
    application, client, age and last statement, and the `pg_terminate_backend` to end it).

    ## What perftool looks at

    `pg_stat_activity` at the moment of the report: the largest `now() − xact_start` among client
    backends whose `state` starts with `idle in transaction` (the `(aborted)` form included),
    perftool's own session excluded. One finding per host, for the oldest such session. Evidence:
    `seconds`. The object is the host name (`host:port` for a `--dsn`).

    ## Why it hurts

    An open transaction keeps its locks (a row lock held by a forgotten transaction blocks every
    writer of that row) and holds back the xmin horizon, so VACUUM cannot remove dead rows anywhere
    in the database (see T202). It also occupies a connection slot.

    ## How to fix

    Find it and the code path that opened it:

    ```sql
    SELECT pid, usename, application_name, client_addr, now() - xact_start AS open_for, query
    FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' ORDER BY xact_start;
    SELECT pg_terminate_backend(<pid>);          -- if it must go now
    ALTER ROLE app SET idle_in_transaction_session_timeout = '60s';   -- safety net
    ```

    `query` is the last statement the session ran, usually a hint to the code path (an exception
    handler without rollback, a transaction held across an HTTP call).
    """

    severity = "warning"
    title = "session idle in transaction"



class C103(Code):
    """
    **Severity:** warning when the longest active statement has run for > 60 s; error when > 300 s.
    **Thresholds:** `thresholds.long_query_warning_s` (60), `thresholds.long_query_critical_s` (300)
    in perftool.yaml. No CLI option.
    **Reported by:** `perftool analyze` (connections section), per host; `perftool pool`, once per
    statement (object `pid N`, with the `pg_cancel_backend` to cancel it).

    ## What perftool looks at

    `pg_stat_activity` at the moment of the report: the largest `now() − query_start` among client
    backends with `state = 'active'`, perftool's own session excluded. One finding per host, for the
    longest statement. Evidence: `seconds`. The object is the host name (`host:port` for a `--dsn`).

    ## Why it hurts

    A statement running for minutes holds its snapshot (VACUUM cannot clean behind it), its locks
    (an `ALTER TABLE` waiting behind it blocks everyone after it) and a connection; on an API it is
    usually a request whose client gave up long ago.

    ## How to fix

    ```sql
    SELECT pid, usename, application_name, now() - query_start AS running_for, wait_event_type, query
    FROM pg_stat_activity WHERE state = 'active' AND backend_type = 'client backend'
    ORDER BY query_start LIMIT 5;
    SELECT pg_cancel_backend(<pid>);                         -- cancel the statement
    ALTER ROLE app SET statement_timeout = '30s';           -- bound it for the API role
    ```

    Then fix the statement itself (its plan, an index: see Q101) or move it to a replica or a
    batch role with its own, longer timeout.
    """

    severity = "warning"
    title = "long-running statement"


class C104(Code):
    """
    **Severity:** warning when a session waiting behind it has waited ≥ 5 s; error when ≥ 60 s.
    **Thresholds:** `thresholds.lock_wait_warning_s` (5), `thresholds.lock_wait_critical_s` (60) in
    perftool.yaml.
    **Reported by:** `perftool pool`, once per root blocker.

    ## What perftool looks at

    `pg_blocking_pids(pid)` of every session waiting on a lock (`wait_event_type = 'Lock'`: table,
    row — `transactionid`, `tuple` — advisory and other heavyweight locks), and how long each has
    waited (`pg_locks.waitstart`). From these it builds the lock tree: a *root blocker* blocks
    someone and waits for nobody. A session with several blockers (two holders of a shared lock, or
    a holder and a request queued ahead of it) is listed under each of them, so the roots are right
    when a waiter is itself blocking others. The finding names the root, how many sessions wait
    behind it directly and in all, and the longest wait; the Lock tree section shows the whole tree.
    Evidence: `pid`, `waiters`, `direct_waiters`, `longest_wait_s`. Object: `pid N`.

    ## Why it hurts

    Every session behind the root waits, and behind a waiting `ALTER TABLE` even plain reads queue:
    one forgotten transaction can stop an API.

    ## How to fix

    The fix prints the statement that releases the root's locks — perftool never runs it:

    ```sql
    SELECT pg_cancel_backend(12345);     -- a running statement: cancel it
    SELECT pg_terminate_backend(12345);  -- an idle transaction: end its session
    ```

    Then fix the cause: a transaction held open across slow work (C102), a migration without
    `lock_timeout`, a batch job updating rows in a different order than the API.
    """

    severity = "warning"
    title = "session blocks others"



class C105(Code):
    """
    **Severity:** warning; error for a prepared transaction older than 300 s.
    **Thresholds:** a prepared transaction older than `thresholds.idle_in_transaction_warning_s` (60;
    error above `idle_in_transaction_critical_s`, 300); any inactive replication slot with an xmin.
    **Reported by:** `perftool pool`.

    ## What perftool looks at

    Everything that holds the xmin horizon: backends with a snapshot or transaction id
    (`backend_xmin`, `backend_xid`), replication slots (`xmin` from `hot_standby_feedback`,
    `catalog_xmin` of logical slots) and prepared transactions (`pg_prepared_xacts`), oldest first
    in the "What holds back the xmin horizon" section. Backends are judged by C102 and C103; this
    code flags the two holders no session list shows: a **prepared transaction** (it survives
    disconnects and restarts and holds its locks until someone commits or rolls it back) and an
    **inactive slot** with an xmin. Evidence: `kind`, `holder`, `datname`, `xmin_age`, `age_s`.

    ## Why it hurts

    VACUUM cannot remove any row version deleted after the horizon, in any table, and cannot freeze
    past it: tables bloat, and transaction-ID age (D103, D104) keeps growing whatever VACUUM does.

    ## How to fix

    ```sql
    SELECT gid, prepared, owner, database FROM pg_prepared_xacts ORDER BY prepared;
    COMMIT PREPARED 'gid';   -- or ROLLBACK PREPARED 'gid', connected to its database
    SELECT pg_drop_replication_slot('slot');   -- a slot whose consumer is gone for good
    ```
    """

    severity = "warning"
    title = "xmin horizon held back"



class C106(Code):
    """
    **Severity:** warning when clients wait; error when the longest has waited ≥ 5 s.
    **Thresholds:** any `cl_waiting > 0`; `thresholds.pool_wait_critical_s` (5).
    **Reported by:** `perftool pool --pgbouncer DSN`, once per pgbouncer pool (database/user).

    ## What perftool looks at

    pgbouncer's `SHOW POOLS`: `cl_waiting` (clients that sent a query and wait for a server
    connection) and `maxwait`/`maxwait_us` (the longest of those waits), with `sv_active`, `sv_idle`
    and the pool's `pool_size` from `SHOW DATABASES`. Evidence: `database`, `user`, `cl_waiting`,
    `maxwait_s`, `sv_active`, `pool_size`. Object: `database/user`.

    ## Why it hurts

    A waiting client's query has not started: its whole wait is added to the response time, and
    once the wait passes the client's timeout requests fail although the database is idle.

    ## How to fix

    The fix gives a pool size from the observed concurrency (`sv_active + cl_waiting`, plus a
    quarter): raise `pool_size` for that database if the server has the connections to spare, or
    shorten the transactions that hold server connections (in transaction mode a connection is held
    for a whole transaction, idle-in-transaction time included).
    """

    severity = "warning"
    title = "pgbouncer clients waiting for a server connection"



class C107(Code):
    """
    **Severity:** warning when `sv_active / pool_size` ≥ 80 %; error when ≥ 95 %.
    **Thresholds:** `thresholds.connections_warning` (0.80), `thresholds.connections_critical`
    (0.95), shared with C101.
    **Reported by:** `perftool pool --pgbouncer DSN`, once per pgbouncer pool.

    ## What perftool looks at

    `SHOW POOLS` `sv_active` against the pool's `pool_size` (`SHOW DATABASES`, else
    `default_pool_size` from `SHOW CONFIG`). Evidence: `sv_active`, `pool_size`, `utilisation`,
    `peak` (active plus waiting). Object: `database/user`.

    ## Why it hurts

    A pool at its size queues the next client (C106). It may also be the right size for a server
    that cannot take more: a bigger pool only helps if the server has idle capacity.

    ## How to fix

    Size the pool from the observed peak (the fix names a number), keep the sum of all pools below
    the server's `max_connections` (C101), and treat rules of thumb ("workers × 6") as a start.
    """

    severity = "warning"
    title = "pgbouncer pool nearly saturated"



class C108(Code):
    """
    **Severity:** warning when client connections reach 80 % of `max_client_conn`; error at 95 %.
    **Thresholds:** `thresholds.connections_warning` (0.80), `thresholds.connections_critical` (0.95).
    **Reported by:** `perftool pool --pgbouncer DSN`.

    ## What perftool looks at

    The number of rows of `SHOW CLIENTS` (perftool's own console session included) against
    `max_client_conn` from `SHOW CONFIG`. Evidence: `clients`, `max_client_conn`, `utilisation`.

    ## Why it hurts

    Past `max_client_conn` pgbouncer refuses new clients with "no more connections allowed".

    ## How to fix

    Raise `max_client_conn` in pgbouncer.ini (with the open-files limit, about `max_client_conn`
    plus the pools' sizes), or find the clients that keep idle connections open.
    """

    severity = "warning"
    title = "pgbouncer client connections near max_client_conn"



class D101(Code):
    """
    **Severity:** warning when the ratio is < 80 %; error when it is < 60 %.
    **Thresholds:** `thresholds.cache_hit_warning` (0.80), `thresholds.cache_hit_critical` (0.60) in
    perftool.yaml (shared with Q103 and T203). Minimum volume: 1,000 blocks read (fixed). No CLI option.
    **Reported by:** `perftool analyze` (workload section).

    ## What perftool looks at

    `pg_stat_database.blks_hit` and `blks_read` of the connected database:
    `ratio = blks_hit / (blks_hit + blks_read)`, flagged when `blks_read ≥ 1000` and the ratio is
    below `cache_hit_warning`. The counters run since the last statistics reset, or over the sample
    with `--interval`; with `--all-hosts` they are summed over the hosts. Evidence: `hit_ratio`,
    `blks_read`, `blks_hit`. The same ratio is in the "Cache hit ratio" section and the
    `perftool_cache_hit_ratio` metric.

    ## Why it hurts

    A block not in shared_buffers comes from the OS page cache or the disk; when a fifth of all reads
    miss, response times follow the storage and rise sharply when the OS cache is under pressure.
    OLTP databases usually run above 99 %.

    ## How to fix

    1. Find the statements that read most: `perftool queries --sort io` (Q103 marks them).
    2. Give them indexes so they read fewer blocks; archive or partition cold rows.
    3. If the hot data is simply larger than memory, raise `shared_buffers` (about 25 % of RAM,
       restart needed) or add RAM:

    ```sql
    ALTER SYSTEM SET shared_buffers = '4GB';   -- then restart
    ```
    """

    severity = "warning"
    title = "database cache hit ratio is low"



class D102(Code):
    """
    **Severity:** warning.
    **Threshold:** `pg_stat_database.temp_bytes ≥ 100 MiB` (104,857,600 bytes; `TEMP_BYTES_NOTE` in
    perftool/analyze/sections/workload.py). Not configurable.
    **Reported by:** `perftool analyze` (workload section).

    ## What perftool looks at

    `pg_stat_database.temp_bytes` and `temp_files` of the connected database, since the last
    statistics reset or over the `--interval` sample (summed over hosts with `--all-hosts`). The
    detail shows the `work_mem` setting as perftool's session sees it. Evidence: `temp_bytes`,
    `temp_files`.

    ## Why it hurts

    Temp files are sorts, hashes and materializations that did not fit in `work_mem`. They turn
    memory work into disk I/O and compete with the rest of the workload for the disk.

    ## How to fix

    The statements responsible carry Q104 (`perftool queries --sort temp` ranks them). For each:
    raise `work_mem` for the role or transaction that runs it, or remove the sort/hash with an index.

    ```sql
    ALTER ROLE app SET work_mem = '32MB';        -- new sessions of that role
    ALTER SYSTEM SET log_temp_files = 0;         -- log every spill with its statement
    SELECT pg_reload_conf();
    ```

    Keep `work_mem × connections × sort/hash nodes` below the memory you can spare.
    """

    severity = "warning"
    title = "database writes many temporary files"


class D103(Code):
    """
    **Severity:** warning when `age(datfrozenxid)` > 1.0 billion; error when > 1.5 billion.
    **Thresholds:** `thresholds.xid_age_warning` (1,000,000,000), `thresholds.xid_age_critical`
    (1,500,000,000) in perftool.yaml.
    **Reported by:** `perftool pool`, once per database of the server.

    ## What perftool looks at

    `pg_database.datfrozenxid` of every database: its age is the number of transactions since the
    oldest unfrozen transaction ID anywhere in it. The detail names the xmin horizon holder (C105)
    when there is one: no freeze gets past it. Evidence: `datname`, `xid_age`, `mxid_age`.

    ## Why it hurts

    Transaction IDs are 32-bit. At 2^31 (about 2.1 billion) the server stops assigning them to
    protect the data and every writing transaction fails until a VACUUM in single-user mode.
    Autovacuum starts anti-wraparound vacuums at `autovacuum_freeze_max_age` (200 million by
    default); an age in the billions means they cannot finish or cannot get past the horizon.

    ## How to fix

    End what holds the horizon (C102, C105), then freeze, connected to the database:

    ```sql
    VACUUM (FREEZE, VERBOSE);          -- or from a shell: vacuumdb --all --freeze --jobs 4
    ```

    The tables that need it most are D104 in the same report.
    """

    severity = "warning"
    title = "database transaction IDs near wraparound"



class D104(Code):
    """
    **Severity:** warning when a table's `age(relfrozenxid)` > 1.0 billion; error when > 1.5 billion.
    **Thresholds:** `thresholds.xid_age_warning`, `thresholds.xid_age_critical` (as D103).
    **Reported by:** `perftool pool`, for the oldest tables of the connected database.

    ## What perftool looks at

    `pg_class.relfrozenxid` of tables and materialized views of the connected database, a table's
    TOAST table included (the larger age counts), the ten oldest listed in the section
    "Oldest tables … by transaction-ID age". Evidence: `schema`, `table`, `xid_age`, `size_bytes`.

    ## Why it hurts

    The database's age (D103) is its oldest table's: one large table autovacuum never finishes
    freezing brings the whole server to wraparound.

    ## How to fix

    ```sql
    VACUUM (FREEZE, VERBOSE) "public"."events";
    ```

    If the age does not go down afterwards, something holds the xmin horizon (C105, C102).
    """

    severity = "warning"
    title = "table transaction IDs near wraparound"



class I101(Code):
    """
    An index marked invalid (`pg_index.indisvalid = false`), usually left behind by a
    `CREATE INDEX CONCURRENTLY` or `REINDEX CONCURRENTLY` that failed (a unique build that met a
    duplicate, a deadlock, a cancelled statement, a lock timeout).

    **Severity:** error.
    **Thresholds:** none: every index with `pg_index.indisvalid = false` is reported.
    **Reported by:** `perftool indexes health`, `perftool indexes --check`, `perftool analyze` (indexes section).

    ## What perftool looks at

    `pg_index.indisvalid` and `indisready` of every index on the tables in scope
    (`sql/catalog_indexes.sql`). An index is invalid when a `CREATE INDEX CONCURRENTLY` or
    `REINDEX CONCURRENTLY` did not finish: a unique build met a duplicate value, a deadlock, a
    cancelled statement, a `lock_timeout`. A partitioned index is invalid until every partition has an
    attached index. Evidence: `table`, `size_bytes`, `is_ready`, `definition`.

    ## Why it hurts

    The planner never uses an invalid index, but while it is `indisready` every INSERT and UPDATE still
    maintains it: write cost and disk for nothing. And `CREATE INDEX CONCURRENTLY IF NOT EXISTS` sees
    the name taken and silently keeps the broken index, so a re-run migration "succeeds" without an index.

    ## How to fix

    Drop it without blocking writes and build it again:

    ```sql
    DROP INDEX CONCURRENTLY IF EXISTS public.orders_customer_id_idx;
    SET lock_timeout = '5s';
    CREATE INDEX CONCURRENTLY orders_customer_id_idx ON public.orders USING btree (customer_id);
    ```

    - A `…_ccnew` index is the half-built copy of a failed `REINDEX CONCURRENTLY`, a `…_ccold` one the
      original it could not drop: perftool suggests only the `DROP` for those.
    - For a unique index that failed on duplicates, remove the duplicate values first or the build fails again.
    - A partitioned index: attach an index of each partition (`ALTER INDEX parent_idx ATTACH PARTITION part_idx`).
    """

    severity = "error"
    title = "invalid index"



class I102(Code):
    """
    Two or more indexes on the same table that store the same thing: same access method, same
    key columns or expressions in the same order with the same operator classes, collations and
    sort order, same INCLUDE columns and the same partial-index predicate. Uniqueness is not part
    of the comparison, so a plain index equal to a primary key or unique constraint is reported.

    **Severity:** error.
    **Thresholds:** none.
    **Reported by:** `perftool indexes health`, `perftool indexes --check`, `perftool analyze`.

    ## What perftool looks at

    Valid indexes of the same table compared on everything that decides what they store and how it is
    ordered (`IndexInfo.identity()` in perftool/catalog/schema.py): access method; key columns or
    expressions in order (expressions as the server prints them, `pg_get_indexdef(oid, n, true)`);
    operator class, collation, `DESC` and `NULLS FIRST` of each key column; INCLUDE columns; the
    partial-index predicate. **Uniqueness is not compared**, so a plain index equal to a primary key or
    unique constraint is a duplicate of it. Indexes behind exclusion constraints and partitions' attached
    copies are left out.

    In each group of equal indexes perftool keeps the primary key, else a constraint's index, else a
    unique index, else the most scanned, else the oldest, and reports every other one. Evidence:
    `duplicate_of`, `size_bytes`, `idx_scan`, `kept_idx_scan`, `kept_size_bytes`.

    ## Why it hurts

    Every copy is written on every INSERT and on UPDATEs of its columns (and blocks HOT updates), takes
    disk and cache, and adds WAL and replication traffic; the planner uses only one of them.

    ## How to fix

    ```sql
    DROP INDEX CONCURRENTLY IF EXISTS public.users_email_idx;
    ```

    When both copies back constraints (two unique constraints on the same columns), the fix is
    `ALTER TABLE … DROP CONSTRAINT …` for the extra one.

    The fixes of one report never drop both copies: when another finding (I104 unused, I106
    low-cardinality, I202 undeclared …) drops the copy this fix keeps, this fix drops that copy
    instead and keeps its own, if the two are alike (`-- drops public.ev_kind_old rather than
    public.ev_kind_new: I202 flag(s) public.ev_kind_old too, and one copy must stay`); when the kept
    copy is the one that matters (a primary key, a constraint, a unique index) or the other copies
    are flagged too, the other finding's fix becomes `-- not dropped: … is the copy kept when the fix
    of I102 … drops its duplicate`.
    """

    severity = "error"
    title = "duplicate index"



class I103(Code):
    """
    A btree index whose key columns are a left prefix of another btree index on the same table
    with the same predicate — `(a)` next to `(a, b)` — so the longer index can serve every lookup
    and sort the shorter one serves.

    **Severity:** warning.
    **Thresholds:** none.
    **Reported by:** `perftool indexes health`, `perftool indexes --check`, `perftool analyze`.

    ## What perftool looks at

    Pairs of valid btree indexes on the same table with the same predicate where the key columns of the
    shorter one are a left prefix of the longer one's — same columns or expressions, operator classes,
    collations and order — and every INCLUDE column of the shorter is in the longer (`(a)` next to
    `(a, b)`; `(a) INCLUDE (b)` next to `(a) INCLUDE (b, c)`). The shorter one is reported, with the
    smallest covering index named. Evidence: `covered_by`, `size_bytes`, `idx_scan`,
    `covering_size_bytes`, `covering_idx_scan`.

    ## Why it hurts

    The longer index serves every lookup, range scan and sort the shorter one serves. The shorter one
    still costs a write on every INSERT and on UPDATEs of its columns, plus disk and cache.

    ## How to fix

    Look at the scan counts in the evidence, then:

    ```sql
    DROP INDEX CONCURRENTLY IF EXISTS public.orders_customer_id_idx;
    ```

    The longer index is somewhat bigger to scan; for a very hot, very selective lookup on a much wider
    composite index the shorter index may still be worth keeping — then ignore the finding in the
    index set with a reason.
    """

    severity = "warning"
    title = "overlapping index"
    heading = "Overlapping index (redundant prefix)"


class I104(Code):
    """
    An index that (almost) no query uses: at most `unused_index_max_scans` (50) index scans
    since the statistics were last reset, on the primary **and on every replica configured** in
    perftool.yaml, over a statistics window of at least `unused_index_min_stats_days` (7 days).
    Any size: a warning from `unused_index_min_bytes` (1 MB), info below. Never reported: unique
    indexes, indexes behind a constraint (primary key, unique, exclusion), and the only index that
    serves a foreign key (deleting or updating a referenced row looks the referencing rows up
    through it). While the counters are younger than the window the check reports nothing and
    says so once in the report's notes.

    **Severity:** warning from `thresholds.unused_index_min_bytes` (1 MB); info below — a small unused
    index still costs every write.
    **Thresholds:** at most `thresholds.unused_index_max_scans` scans (50) since the statistics were
    reset, over a statistics window of at least `thresholds.unused_index_min_stats_days` (7 days).
    Options: `--unused-max-scans N`, `--unused-min-size SIZE` (the warning bar) (`indexes health`,
    `indexes --check`); the window is set in perftool.yaml.
    **Reported by:** `perftool indexes health`, `perftool indexes --check`, `perftool analyze`.

    ## What perftool looks at

    `pg_stat_user_indexes.idx_scan` of each valid index (summed over the partitions of a partitioned
    index), its size, and — **with several hosts in perftool.yaml** — the same counter on every other
    host (`sql/catalog_index_usage.sql`): an index is unused only if it is unused on **every** host,
    because replicas keep their own counters and an index nobody uses on the primary may serve the
    reports that run on a replica. The hosts are used when the DSN is one of perftool.yaml's hosts
    (`--host NAME`, or the config's default); a host that cannot be reached stops the check (exit 3)
    rather than call an index unused. In `analyze --all-hosts`, a host that cannot be analysed
    ([R103](R103.md)) holds every I104 finding back, with a note.

    **The statistics window.** The counters run from `pg_stat_database.stats_reset` of the database
    (or, never reset, from the server's start). While they are younger than
    `unused_index_min_stats_days` the check reports nothing — a week is the shortest span that sees a
    weekly cycle (weekend batches, Monday reports), the same bar as pgdoctor's "statistics at least 7
    days old"; pganalyze looks at 35 days, which also covers month-end jobs — and the report's notes
    say so once: `I104 (unused index) silent: the scan counters are 0.2 h old, less than
    unused_index_min_stats_days (7 days); 3 index(es) have ≤ 50 scans so far`. Set it higher when
    monthly or yearly jobs matter, or to 0 where the counters cover the whole history (a test
    database; `perftool demo` does this for its freshly loaded database and says so).

    Never reported: unique indexes, indexes behind a constraint (primary key, unique, exclusion), and
    an index that is the only one serving a foreign key (deleting or updating a parent row looks the
    children up through it — see [I105](I105.md)). Evidence: `size_bytes`, `idx_scan` per host,
    `stats_reset`, `stats_age_s`, `max_scans`.

    ## Why it hurts

    Each index is written on every INSERT and on UPDATEs of its columns (and an indexed column stops
    HOT updates), and takes disk, cache, WAL, backup and replica space; VACUUM has to scan it too.

    ## How to fix

    Check the counters' age first (the detail says how old they are): a month-end job or a yearly
    report may not have run yet. Then:

    ```sql
    DROP INDEX CONCURRENTLY IF EXISTS public.audit_log_payload_hash_idx;
    ```

    Keep the definition in your migrations (or the index set) in case you need it back. When the index
    is one copy of a duplicate (I102) whose other copy is dropped by I102's fix, this fix says
    `-- not dropped: …` instead: the fixes of one report never drop both copies.
    """

    severity = "warning"
    title = "unused index"



class I105(Code):
    """
    A foreign key whose referencing columns are not the leading columns of any valid,
    non-partial index on the referencing table. `(customer_id)` is served by an index on
    `(customer_id)` or `(customer_id, created_at)`, not by one on `(created_at, customer_id)`.

    **Severity:** warning.
    **Thresholds:** none.
    **Reported by:** `perftool indexes health`, `perftool indexes --check`, `perftool analyze`.

    ## What perftool looks at

    Every foreign key declared on the tables in scope (not the copies PostgreSQL makes on each
    partition) and the table's valid, non-partial indexes: the key is served when some btree index's
    leading key columns are exactly the key's columns, in any order (a hash index serves a one-column
    key). `(customer_id)` is served by `(customer_id)` and `(customer_id, created_at)`, not by
    `(created_at, customer_id)` nor by a partial index. Evidence: `columns`, `references`,
    `ref_columns`, `table_rows`, `table_bytes`, `seq_scan`.

    ## Why it hurts

    - Joins and lookups from a parent to its children (`WHERE customer_id = $1`) scan the child table.
    - Every DELETE of a parent row, and every UPDATE of its key, makes PostgreSQL look for referencing
      rows: without an index that is a sequential scan of the child table **per parent row**, holding
      locks while it runs.

    ## How to fix

    ```sql
    SET lock_timeout = '5s';
    CREATE INDEX CONCURRENTLY job_steps_machine_id_idx ON public.job_steps USING btree (machine_id);
    ```

    On a partitioned table `CONCURRENTLY` is not supported on the parent: create the index `ON ONLY`
    the parent, then `CONCURRENTLY` on each partition, then `ALTER INDEX … ATTACH PARTITION` each.

    The name is `<table>_<columns>_idx`; when that is longer than 63 bytes it is cut and ends with 8
    hex digits of a digest of the whole name (two foreign keys of a long-named table get two names),
    and when it is taken — by an existing relation, or another fix of the same report — the next free
    variant is used (`kid_pa_id2_idx`). When the index set declares the same index (I201), this fix
    says `-- "job_steps_machine_id_idx": the same index as the fix of I201 …` and I201's creates it.
    """

    severity = "warning"
    title = "foreign key without an index"



class I106(Code):
    """
    A plain (not partial, not unique) single-column btree index on a boolean column, or on a
    column with at most 10 distinct values (planner statistics), in a table of at least 10,000
    rows. Composite indexes that start with such a column (`(status, created_at)`) are fine and not
    reported.

    **Severity:** warning.
    **Thresholds:** at most 10 distinct values (`MAX_DISTINCT`) from `pg_stats.n_distinct`, or a
    boolean column; tables of at least 10,000 rows (`MIN_ROWS`); constants in
    perftool/health/checks/i106_low_cardinality.py.
    **Reported by:** `perftool indexes health`, `perftool indexes --check`, `perftool analyze`.
    **Privileges:** the planner's statistics (`pg_stats`), which a role sees only for tables it may
    SELECT; for the others the report carries one note naming them and the GRANT
    ([privileges](../privileges.md)).

    ## What perftool looks at

    Plain single-column btree indexes — not partial, not unique, not behind a constraint, not an
    expression — whose column is boolean or has few distinct values according to the planner's
    statistics. Composite indexes that *start* with such a column (`(status, created_at)`) are fine
    and not reported; arrays are [I107](I107.md). Evidence: `column`, `type`, `distinct`,
    `table_rows`, `size_bytes`, `idx_scan`.

    ## Why it hurts

    A value shared by a large part of the table is read faster by a sequential scan than through the
    index, so the index only helps for the rare values — yet it stores an entry for every row and is
    written on every INSERT and on UPDATEs of the column.

    ## How to fix

    If queries look for a rare value (`WHERE NOT processed`, `status = 'failed'`), a partial index for
    that value serves them at a fraction of the size; then drop this one. If nothing needs it, drop it.

    ```sql
    CREATE INDEX CONCURRENTLY jobs_failed_idx ON public.jobs (id) WHERE status = 'failed';
    DROP INDEX CONCURRENTLY IF EXISTS public.jobs_status_idx;
    ```
    """

    severity = "warning"
    title = "btree index on a low-cardinality column"
    heading = "Btree index on a boolean or low-cardinality column"


class I107(Code):
    """
    A btree index with an array column among its key columns.

    **Severity:** warning.
    **Thresholds:** none.
    **Reported by:** `perftool indexes health`, `perftool indexes --check`, `perftool analyze`.

    ## What perftool looks at

    Valid btree indexes with an array column among their key columns (`pg_type.typcategory = 'A'`,
    domains over arrays included). Evidence: `columns`, `types`, `size_bytes`, `idx_scan`.

    ## Why it hurts

    A btree compares whole arrays: it serves `tags = ARRAY['a','b']` and `ORDER BY tags`, not what
    applications ask of arrays — containment `tags @> ARRAY['a']`, overlap `&&`, `'a' = ANY(tags)`.
    Those scan the table while the index is still written on every change, and a large array can
    exceed the btree entry size limit (about 2.7 kB), making INSERTs fail.

    ## How to fix

    ```sql
    CREATE INDEX CONCURRENTLY posts_tags_idx ON public.posts USING gin (tags);
    DROP INDEX CONCURRENTLY IF EXISTS public.posts_tags_btree;
    ```

    GIN serves `@>`, `<@`, `&&` and `=`. `= ANY(col)` is not indexable as written: write it as
    `col @> ARRAY[$1]`. A unique btree on an array enforces uniqueness of whole arrays: perftool keeps it
    and only suggests the GIN index.
    """

    severity = "warning"
    title = "btree index on an array column"



class I108(Code):
    """
    A plain (not partial, not unique) btree index whose leading column is NULL in at least half
    of the rows (pg_stats.null_frac ≥ 0.5), in a table of at least 10,000 rows.

    **Severity:** warning.
    **Thresholds:** `pg_stats.null_frac` of the leading column ≥ 0.5 (`MIN_NULL_FRACTION`); tables
    of at least 10,000 rows (`MIN_ROWS`); constants in perftool/health/checks/i108_mostly_null.py.
    **Reported by:** `perftool indexes health`, `perftool indexes --check`, `perftool analyze`.
    **Privileges:** the planner's statistics (`pg_stats`), which a role sees only for tables it may
    SELECT; for the others the report carries one note naming them and the GRANT
    ([privileges](../privileges.md)).

    ## What perftool looks at

    Valid btree indexes that are not partial, not unique and not behind a constraint, whose leading key
    column is NULL in at least half of the rows according to the planner's statistics. Evidence:
    `column`, `null_frac`, `size_bytes`, `estimated_saving_bytes` (size × null fraction), `idx_scan`.

    ## Why it hurts

    The index stores an entry for every row, NULLs included, although `WHERE col = $1` never matches
    NULL: most of its size and of its write cost is spent on entries that queries rarely read
    (`assigned_to`, `deleted_at`, `parent_id` columns are typical).

    ## How to fix

    Build the partial index, then drop the old one; queries with `col = $1` (and joins on `col`) use it
    unchanged:

    ```sql
    CREATE INDEX CONCURRENTLY jobs_assigned_to_notnull_idx ON public.jobs USING btree (assigned_to)
        WHERE assigned_to IS NOT NULL;
    DROP INDEX CONCURRENTLY IF EXISTS public.jobs_assigned_to_idx;
    ```

    A query that does search for `col IS NULL` needs its own partial index (`… WHERE col IS NULL`).
    A foreign key is still served: the referencing rows looked up on a parent delete are never NULL —
    but perftool's [I105](I105.md) counts only non-partial indexes, so it may then report the key;
    ignore that finding with a reason.
    """

    severity = "warning"
    title = "index on a mostly-NULL column"



class I109(Code):
    """
    A btree index much bigger than its live entries need, estimated from the planner's
    statistics (no index is read): more than `bloat_warning` (20 %) of its pages and more than
    `bloat_min_bytes` (10 MB) are free space — an error above `bloat_critical` (50 %). The
    estimate follows ioguix/pgsql-bloat-estimation and errs towards "no bloat" (deduplication,
    rounding).

    **Severity:** warning above `thresholds.bloat_warning` (20 %), error above
    `thresholds.bloat_critical` (50 %); only when the estimated bloat is at least
    `thresholds.bloat_min_bytes` (10 MB; option `--bloat-min-size SIZE`).
    **Reported by:** `perftool indexes health`, `perftool indexes --check`, `perftool analyze`.
    **Privileges:** the planner's statistics (`pg_stats`), which a role sees only for tables it may
    SELECT; for the others the report carries one note naming them and the GRANT
    ([privileges](../privileges.md)).

    ## What perftool looks at

    An estimate, from the planner's statistics — no index is read (`sql/chk_index_bloat.sql`, the
    method of [ioguix/pgsql-bloat-estimation](https://github.com/ioguix/pgsql-bloat-estimation),
    `btree_bloat.sql`): the leaf pages the index's `reltuples` entries need at its fillfactor (90 by
    default), from each column's average width and null fraction (`pg_stats`; an expression's own
    statistics for expression columns), against `relpages`. Btree indexes only; estimates on columns
    without statistics or of type `name` are skipped. Deduplication (PG 13+) makes indexes smaller than
    the estimate, and perftool counts one byte more per variable-width value than `avg_width` (an
    integer, rounded down), so the estimate errs towards "no bloat". Evidence: `size_bytes`,
    `bloat_bytes`, `bloat_ratio`, `fillfactor`.

    ## Why it hurts

    Empty and half-empty pages are read and cached like full ones: scans read more, the cache holds
    less, backups and replicas carry the dead weight. VACUUM makes btree pages reusable but never gives
    them back to the file system.

    ## How to fix

    Rebuild it without blocking reads or writes (it needs about the index's size in free disk space
    while it runs):

    ```sql
    REINDEX INDEX CONCURRENTLY public.orders_created_at_idx;
    ```

    If it comes back quickly, look at the update pattern (updates of indexed columns, mass deletes)
    and at autovacuum on that table.
    """

    severity = "warning"
    title = "bloated index"
    heading = "Bloated index (estimated)"


class I201(Code):
    """
    An index declared in the index set (`index_sets/*.yaml`) that the database does not have:
    no index on that table is equivalent to it (method, uniqueness, columns or expressions with
    their order, operator classes and collations, INCLUDE columns, predicate), and none has its
    name or its key columns (that would be I203). Names do not matter for equivalence.

    **Severity:** error.
    **Thresholds:** none. Needs an index set (`index_sets/` or `--set`).
    **Reported by:** `perftool indexes --check`, `perftool indexes diff`.

    ## What perftool looks at

    Each index declared in the index set ([format](../commands/indexes.md#index-sets)) against the
    valid indexes of its table. Indexes match **by definition, not by name**: access method,
    uniqueness, key columns or expressions with order, NULLS placement, operator classes and
    collations, INCLUDE columns (as a set) and predicate. Expressions and predicates are normalised
    before comparing, so the server's `(status = ANY (ARRAY['a'::text, 'b'::text]))` matches a declared
    `status IN ('a', 'b')`. A declaration with no equivalent is *missing* — unless an unmatched index
    has its name or its key columns, which makes it [I203](I203.md). Evidence: `declared`, `name`,
    `file`, `line` (the declaration: GitHub and SARIF outputs point at it).

    ## Why it hurts

    The queries the index was declared for read the table instead — usually the reason it was
    declared. Typical causes: a migration not run in this environment, a failed
    `CREATE INDEX CONCURRENTLY` (the invalid leftover is reported as [I101](I101.md) and named here),
    an index dropped by hand, a table that does not exist.

    ## How to fix

    Build it without blocking writes — the finding carries the statement — or remove the declaration:

    ```sql
    SET lock_timeout = '5s';
    CREATE INDEX CONCURRENTLY "jobs_status_created_at_idx" ON "public"."jobs" USING btree ("status", "created_at");
    ```

    A declared primary key is built as a unique index, then promoted with
    `ALTER TABLE … ADD CONSTRAINT … PRIMARY KEY USING INDEX …`.
    """

    severity = "error"
    title = "declared index missing"



class I202(Code):
    """
    An index on a table the index set covers (a table it lists, or any table of a schema whose
    file says `complete: true`) that no declaration matches. Indexes behind a primary key, unique
    or exclusion constraint are part of the table's definition and need not be declared (declare
    them to require them); invalid indexes are reported as I101.

    **Severity:** warning.
    **Thresholds:** none. Needs an index set (`index_sets/` or `--set`).
    **Reported by:** `perftool indexes --check`, `perftool indexes diff`.

    ## What perftool looks at

    Valid indexes on tables the index set covers — a table it lists, or any table of a schema whose
    file says `complete: true` — that no declaration matches. Not reported: indexes behind a primary
    key, unique or exclusion constraint (part of the table's definition; declare them to require
    them), invalid indexes ([I101](I101.md)), partitions' attached copies. Evidence: `definition`,
    `size_bytes`, `idx_scan`, `declaration` (the YAML line that would declare it), `file`, `line`.

    ## Why it hurts

    An index nobody declared is an index nobody owns: created by hand during an incident, left by a
    reverted migration, added in one environment only. It costs every write, and environments drift
    apart without anyone noticing.

    ## How to fix

    If it is wanted, declare it — the detail gives the entry, and `perftool indexes snapshot` prints
    every index in the set's format:

    ```yaml
    tables:
      jobs:
        - {columns: [priority]}
    ```

    If it is not wanted:

    ```sql
    DROP INDEX CONCURRENTLY IF EXISTS public.jobs_priority_idx;
    ```
    """

    severity = "warning"
    title = "index not declared"
    heading = "Index not declared in the index set"


class I203(Code):
    """
    A declared index whose counterpart exists — same name, or same key columns — but with a
    different definition: another order (`DESC`), NULLS placement, operator class, collation,
    uniqueness, access method, INCLUDE list or predicate.

    **Severity:** error.
    **Thresholds:** none. Needs an index set (`index_sets/` or `--set`).
    **Reported by:** `perftool indexes --check`, `perftool indexes diff`.

    ## What perftool looks at

    A declaration with no equivalent index, when an unmatched index on the table has the declared
    **name**, or the same **key columns** (or expressions) in the same order: the index exists but its
    definition differs — order (`DESC`), NULLS placement, operator class, collation, uniqueness,
    access method, INCLUDE list or predicate. The finding lists each difference. Evidence: `declared`,
    `actual`, `differences`, `file`, `line`.

    ## Why it hurts

    The index looks present, but the queries it was declared for may not be able to use it — a
    `LIKE 'abc%'` search needs `text_pattern_ops` (or the C collation), a partial index serves only
    queries whose WHERE implies its predicate, keyset pagination on `created_at DESC` wants that
    order — and uniqueness the application relies on may not be enforced.

    ## How to fix

    Build the declared index under a new name, drop the old one (both concurrently) and, when the name
    matters, rename:

    ```sql
    CREATE INDEX CONCURRENTLY "users_code_new_idx" ON "app"."users" USING btree ("code" "text_pattern_ops");
    DROP INDEX CONCURRENTLY IF EXISTS "app"."users_code_like";
    ALTER INDEX "app"."users_code_new_idx" RENAME TO "users_code_like";
    ```

    Or correct the declaration, if the database is right.
    """

    severity = "error"
    title = "index differs from its declaration"


class M101(Code):
    """
    A concurrent index statement (`CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`,
    `REINDEX … CONCURRENTLY`) in a migration that runs inside a transaction.

    **Severity:** error.
    **Thresholds:** none.
    **Reported by:** `perftool indexes lint`.

    ## What perftool looks at

    SQL files: a concurrent statement between `BEGIN` and `COMMIT`; a Flyway file without
    `-- flyway:executeInTransaction=false`; a goose file without `-- +goose NO TRANSACTION`. Rails: a
    concurrent index (`algorithm: :concurrently` or `CONCURRENTLY` in SQL) without
    `disable_ddl_transaction!`. knex: without `exports.config = { transaction: false }`. (Alembic,
    Django and the one-query frameworks have codes of their own: M106, M107, M105.)
    Evidence: `file`, `line`, `framework`.

    ## Why it hurts

    PostgreSQL refuses: `CREATE INDEX CONCURRENTLY cannot run inside a transaction block`. The
    deploy fails — or someone "fixes" it by dropping `CONCURRENTLY`, and the build then blocks every
    write to the table for as long as it takes.

    ## How to fix

    Run the statement outside a transaction, the way the framework allows it (docs/migrations.md):

    ```sql
    -- flyway:executeInTransaction=false
    SET lock_timeout = '5s';
    CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON public.orders (customer_id);
    ```

    `perftool indexes generate --framework …` writes the whole migration in the safe form.
    """

    severity = "error"
    title = "concurrent index statement inside a transaction"


class M102(Code):
    """
    `CREATE INDEX` without `CONCURRENTLY` on a table that the migration did not create.

    **Severity:** warning.
    **Thresholds:** none.
    **Reported by:** `perftool indexes lint`.

    ## What perftool looks at

    Each `CREATE INDEX` (SQL files, SQL strings in code migrations, Rails `add_index` and Alembic
    `op.create_index` without their concurrent option) whose table is not created earlier in the same
    file. `CREATE INDEX … ON ONLY parent` is exempt: a partitioned parent refuses `CONCURRENTLY` and
    that form builds no data. Evidence: `file`, `line`, `table`.

    ## Why it hurts

    A plain `CREATE INDEX` holds a SHARE lock on the table for the whole build: every INSERT,
    UPDATE and DELETE waits — minutes on a big table, an outage for the API in front of it.

    ## How to fix

    ```sql
    SET lock_timeout = '5s';
    CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON public.orders (customer_id);
    ```

    On a new (empty) table, created in the same migration, a plain `CREATE INDEX` is fine and is not reported.
    """

    severity = "warning"
    title = "index built without CONCURRENTLY on an existing table"


class M103(Code):
    """
    `CREATE INDEX CONCURRENTLY IF NOT EXISTS` with no guard against an INVALID index of the same name.

    **Severity:** warning.
    **Thresholds:** none.
    **Reported by:** `perftool indexes lint`.

    ## What perftool looks at

    An index created `IF NOT EXISTS` (SQL, Rails `if_not_exists: true`, Alembic `if_not_exists=True`)
    in a file that neither checks `pg_index.indisvalid` nor drops an index of that name first.
    Evidence: `file`, `line`.

    ## Why it hurts

    A failed concurrent build (a duplicate in a unique index, a deadlock, a lock timeout, a cancelled
    deploy) leaves an INVALID index behind. On the re-run, `IF NOT EXISTS` sees the name, skips the
    build, and the migration is recorded as done: the index never works, yet every write maintains it.
    squawk's prefer-robust-stmts pushes people toward exactly this form.

    ## How to fix

    Drop an INVALID index of the name first, and check validity afterwards, as the migrations of
    `perftool indexes generate` do:

    ```sql
    DO $$ BEGIN
      IF EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                 WHERE c.relname = 'orders_customer_id_idx' AND NOT i.indisvalid) THEN
        DROP INDEX public.orders_customer_id_idx;
      END IF;
    END $$;
    CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON public.orders (customer_id);
    ```
    """

    severity = "warning"
    title = "IF NOT EXISTS without an invalid-index guard"


class M104(Code):
    """
    Index DDL in a migration that never sets `lock_timeout`.

    **Severity:** warning.
    **Thresholds:** none.
    **Reported by:** `perftool indexes lint`.

    ## What perftool looks at

    A file with `CREATE`/`DROP`/`ALTER INDEX` or `REINDEX` (or the frameworks' index operations) and no
    `SET lock_timeout` (or `lock_timeout` anywhere in a code migration) before it. A golang-migrate or
    Prisma file that holds a single concurrent statement is exempt: nothing else may be in it, so its
    `lock_timeout` comes from the step before or the connection. Evidence: `file`, `line`.

    ## Why it hurts

    Even `CREATE INDEX CONCURRENTLY` takes a lock at its start (SHARE UPDATE EXCLUSIVE), and a plain
    `DROP INDEX` or `ATTACH PARTITION` a stronger one. Waiting for it behind a long query makes every
    later statement on the table queue behind the waiting DDL: one slow report can stall the API.

    ## How to fix

    ```sql
    SET lock_timeout = '5s';
    ```

    before the DDL, and retry the migration when it times out (`perftool indexes apply` retries
    with backoff). Keep `lock_timeout` short, but know that a concurrent build also waits for older
    transactions to finish; a timeout there leaves an INVALID index (see M103).
    """

    severity = "warning"
    title = "no lock_timeout before index DDL"


class M105(Code):
    """
    A golang-migrate or Prisma migration file with a concurrent index statement and other statements.

    **Severity:** error.
    **Thresholds:** none.
    **Reported by:** `perftool indexes lint`.

    ## What perftool looks at

    golang-migrate files (`<version>_<name>.up.sql` / `.down.sql`) and Prisma files
    (`migrations/<name>/migration.sql`) holding a `CONCURRENTLY` statement plus any other statement
    (a second build, a `SET`). Evidence: `file`, `line`, `statements`.

    ## Why it hurts

    Both tools send the whole file as one query. PostgreSQL runs a multi-statement query as one
    implicit transaction, so `CREATE INDEX CONCURRENTLY` fails with "cannot run inside a transaction
    block" — in production, half-way through a deploy.

    ## How to fix

    One concurrent statement per migration file; settings and guards in the file before it.
    `perftool indexes generate --framework golang-migrate` (or `prisma`) splits the steps that way.
    """

    severity = "error"
    title = "concurrent statement not alone in a one-query migration file"


class M106(Code):
    """
    An Alembic migration that builds or drops an index concurrently outside `autocommit_block()`.

    **Severity:** error.
    **Thresholds:** none.
    **Reported by:** `perftool indexes lint`.

    ## What perftool looks at

    `op.create_index(..., postgresql_concurrently=True)`, `op.drop_index(..., postgresql_concurrently=True)`
    or SQL with `CONCURRENTLY` (in `op.execute`, or a module-level string the function uses) that is
    not inside `with op.get_context().autocommit_block():`. Evidence: `file`, `line`.

    ## Why it hurts

    Alembic runs each migration inside a transaction on PostgreSQL: the concurrent statement fails
    ("cannot run inside a transaction block").

    ## How to fix

    ```python
    def upgrade():
        with op.get_context().autocommit_block():
            op.execute("SET lock_timeout = '5s'")
            op.create_index("orders_customer_id_idx", "orders", ["customer_id"], postgresql_concurrently=True)
    ```
    """

    severity = "error"
    title = "Alembic concurrent index outside autocommit_block"


class M107(Code):
    """
    A Django migration with a concurrent index operation that is atomic (`atomic = False` missing).

    **Severity:** error.
    **Thresholds:** none.
    **Reported by:** `perftool indexes lint`.

    ## What perftool looks at

    `AddIndexConcurrently`, `RemoveIndexConcurrently` or `RunSQL` with `CONCURRENTLY` in a
    `Migration` class that does not set `atomic = False`. Evidence: `file`, `line`.

    ## Why it hurts

    Django wraps an atomic migration in a transaction; PostgreSQL refuses the concurrent statement
    and the migration fails (Django itself raises for `AddIndexConcurrently` in an atomic migration).

    ## How to fix

    ```python
    class Migration(migrations.Migration):
        atomic = False
        operations = [AddIndexConcurrently("order", models.Index(fields=["customer"], name="order_customer_idx"))]
    ```
    """

    severity = "error"
    title = "Django concurrent index operation in an atomic migration"


class M108(Code):
    """
    A Rails migration with `disable_ddl_transaction!` that also changes tables.

    **Severity:** warning.
    **Thresholds:** none.
    **Reported by:** `perftool indexes lint`.

    ## What perftool looks at

    A migration with `disable_ddl_transaction!` that also calls `create_table`, `add_column`,
    `change_column`, `remove_column`, `rename_column`, `add_reference`, `add_foreign_key`,
    `change_table`, … or executes `ALTER TABLE` / `CREATE TABLE` / `DROP TABLE`. Evidence: `file`, `line`.

    ## Why it hurts

    Without the DDL transaction, a failure half-way leaves the schema half-changed: the table change
    done, the index not (or the other way round), and `schema_migrations` not updated, so the re-run
    fails on what already exists.

    ## How to fix

    Put the concurrent index in a migration of its own (`disable_ddl_transaction!` +
    `add_index …, algorithm: :concurrently`), and the table changes in another, transactional, one.
    """

    severity = "warning"
    title = "disable_ddl_transaction! mixed with other DDL"


class P101(Code):
    """
    **Severity:** info when one node's own (exclusive) time is ≥ 10 % of the statement's time,
    warning from 40 %, error from 90 %. Nodes under 1 ms of own time are not reported.
    **Thresholds:** `SHARE_BANDS` and `MIN_NODE_MS` in perftool/plans/tips.py (pev2's bands).
    **Reported by:** `perftool explain` (plans run with ANALYZE, or read with `--plan`).

    ## What perftool looks at

    Each node's exclusive time: its inclusive time (actual total time × loops) minus its
    children's, with a CTE counted where it is scanned. Inside a parallel section (below Gather)
    the time is the slowest process's, and the finding says the figure is uncertain. The share is
    of Execution Time. Evidence: `node`, `exclusive_ms`, `share`, `uncertain`.

    ## Why it hurts

    The node where the time goes is where a fix pays; the root's inclusive time hides it.

    ## How to fix

    Read the other findings on the same node (a filter that discards most rows, a sort on disk, a
    bad row estimate); they say what to change.
    """

    severity = "info"
    title = "node takes a large share of the time"


class P102(Code):
    """
    **Severity:** info when a node's actual rows per loop are ≥ 10× off the planner's estimate (either
    way), warning from 100×, error from 1000×. **Thresholds:** `ESTIMATE_BANDS` in
    perftool/plans/tips.py (pev2/depesz). **Reported by:** `perftool explain` (ANALYZE plans).

    ## What perftool looks at

    `Plan Rows` against `Actual Rows` (both per loop; a 0 counts as 1), on nodes that ran.
    Evidence: `node`, `planned_rows`, `actual_rows`, `factor`, `direction` (under/over), `columns`.

    ## Why it hurts

    The planner picks join orders, join methods and memory from row estimates; one that is 100× off
    picks a nested loop where a hash join was needed, or the reverse.

    ## How to fix

    Refresh the statistics, then sample more, then teach the planner about correlated columns:
    ```sql
    ANALYZE orders;
    ALTER TABLE orders ALTER COLUMN status SET STATISTICS 1000; ANALYZE orders;
    CREATE STATISTICS orders_status_region (dependencies, ndistinct, mcv) ON status, region FROM orders; ANALYZE orders;
    ```
    """

    severity = "info"
    title = "row estimate is far off"


class P103(Code):
    """
    **Severity:** info when a Seq Scan's filter removes more than 50 % of the rows it reads,
    warning above 90 %. Scans that read fewer than 1000 rows in all are not reported.
    **Thresholds:** `FILTER_BANDS`, `MIN_FILTER_ROWS` in perftool/plans/tips.py.
    **Reported by:** `perftool explain`.

    ## What perftool looks at

    `Rows Removed by Filter` × loops against the rows the scan returned; the columns are read from
    the filter expression. Evidence: `node`, `table`, `removed`, `returned`, `removed_share`,
    `columns`, and with HypoPG a `proof` (the index the advisor picks for this statement, the
    estimated cost before → after, and the node it changes); otherwise the tip says "unverified".

    ## Why it hurts

    The scan reads every row to keep a few: its cost grows with the table, not with the result.

    ## How to fix

    An index on the filtered columns (most selective equality first), as the proof shows:
    ```sql
    CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);
    ```
    """

    severity = "info"
    title = "sequential scan filters out most rows"


class P104(Code):
    """
    **Severity:** warning. **Reported by:** `perftool explain`.

    ## What perftool looks at

    A Sort whose `Sort Space Type` is Disk (external sort), a Hash with `Hash Batches` > 1, a
    HashAggregate with more than one batch or disk usage. The work_mem that would fit comes from
    the plan's own numbers: the sort's disk space × 2 (an in-memory sort needs more room than its
    tape files), the hash's peak memory × its batches, the aggregate's memory + disk use; rounded up
    to a whole MB. Evidence: `node`, `kind`, `disk_kb`, `batches`, `work_mem_now`, `work_mem_fit_kb`.

    ## Why it hurts

    Spilling writes and reads temporary files: the node runs at disk speed, and many such
    statements at once fill the disk.

    ## How to fix

    Raise work_mem for this statement or role, not server-wide (each sort/hash of each connection
    may use it):
    ```sql
    SET LOCAL work_mem = '64MB';   -- in the transaction that runs it
    ALTER ROLE reporting SET work_mem = '64MB';
    ```
    Or sort fewer rows (filter first, an index that delivers the order).
    """

    severity = "warning"
    title = "sort or hash spills to disk"


class P105(Code):
    """
    **Severity:** warning. **Reported by:** `perftool explain`.

    ## What perftool looks at

    A Bitmap Heap Scan with `Lossy Heap Blocks` > 0 (the bitmap outgrew work_mem and keeps only
    pages, not rows: every row of those pages is rechecked; `Rows Removed by Index Recheck`).
    Evidence: `node`, `exact_blocks`, `lossy_blocks`, `removed_by_recheck`, `work_mem_fit_kb`
    (the blocks × 64 bytes an exact bitmap needs, rounded up to a MB).

    ## Why it hurts

    Lossy pages are rechecked row by row; the scan does the filtering the index was meant to do.

    ## How to fix

    Raise work_mem for the statement (`SET LOCAL work_mem = '16MB'`), or make the condition more
    selective (a better index, a partial index).
    """

    severity = "warning"
    title = "lossy bitmap heap scan"


class P106(Code):
    """
    **Severity:** warning when an Index Only Scan fetched heap rows for more than 10 % of the rows it
    returned; info below. **Thresholds:** `HEAP_FETCH_SHARE` in perftool/plans/tips.py.
    **Reported by:** `perftool explain`.

    ## What perftool looks at

    `Heap Fetches` × loops against the rows returned. Evidence: `node`, `table`, `heap_fetches`,
    `rows`, `share`.

    ## Why it hurts

    An index-only scan visits the table for every page the visibility map does not mark all-visible:
    it becomes an index scan with extra steps.

    ## How to fix

    Vacuum the table so the visibility map is current, and let autovacuum keep up
    (insert-mostly tables: `autovacuum_vacuum_insert_scale_factor`):
    ```sql
    VACUUM (ANALYZE) orders;
    ```
    """

    severity = "warning"
    title = "index-only scan fetches heap rows"


class P107(Code):
    """
    **Severity:** warning when the inner side of a Nested Loop runs ≥ 1000 times (N+1 inside SQL);
    error when that inner side is a Seq Scan. **Thresholds:** `MANY_LOOPS` in perftool/plans/tips.py.
    **Reported by:** `perftool explain`.

    ## What perftool looks at

    The loops of a Nested Loop's inner child. Evidence: `node`, `inner`, `loops`, `inner_ms`,
    `table`, and with HypoPG a `proof` as for P103.

    ## Why it hurts

    The inner scan runs once per outer row: cheap per loop, expensive in sum, and it grows with the
    outer side (often after a row estimate went wrong, P102).

    ## How to fix

    An index on the inner side's join column makes each loop an index lookup; with good estimates
    the planner may pick a hash join instead. Fix the outer estimate first when P102 fires too.
    """

    severity = "warning"
    title = "nested loop with many loops"


class P108(Code):
    """
    **Severity:** warning. **Reported by:** `perftool explain`.

    ## What perftool looks at

    A Gather or Gather Merge whose `Workers Launched` is below `Workers Planned`.
    Evidence: `node`, `planned`, `launched`.

    ## Why it hurts

    The plan was costed for more processes than ran: the parallel part takes longer than planned.

    ## How to fix

    Workers come from `max_worker_processes` and `max_parallel_workers` (shared by every session);
    raise them, or lower `max_parallel_workers_per_gather` so plans expect what they get.
    """

    severity = "warning"
    title = "fewer parallel workers launched than planned"


class P109(Code):
    """
    **Severity:** warning when JIT compilation took ≥ 25 % of the execution time and ≥ 10 ms.
    **Thresholds:** `JIT_SHARE`, `JIT_MIN_MS` in perftool/plans/tips.py. **Reported by:** `perftool explain`.

    ## What perftool looks at

    The plan's `JIT` totals (generation, inlining, optimization, emission). Evidence:
    `jit_ms`, `execution_ms`, `share`, `functions`.

    ## Why it hurts

    JIT pays off for long analytic statements; on short ones its compilation dominates.

    ## How to fix

    Raise the cost bars or turn it off for OLTP roles:
    ```sql
    ALTER ROLE api SET jit = off;         -- or: SET jit_above_cost = 500000
    ```
    """

    severity = "warning"
    title = "JIT compilation dominates"


class P110(Code):
    """
    **Severity:** warning when planning took ≥ 3× the execution time and ≥ 1 ms.
    **Thresholds:** `PLANNING_FACTOR`, `PLANNING_MIN_MS` in perftool/plans/tips.py.
    **Reported by:** `perftool explain`.

    ## What perftool looks at

    `Planning Time` against `Execution Time`. Evidence: `planning_ms`, `execution_ms`, `factor`.

    ## Why it hurts

    Every execution pays the planning again unless the statement is prepared.

    ## How to fix

    Prepared statements (most drivers: server-side prepare after a few executions), fewer partitions
    to consider (pruning on a constant), or lower `join_collapse_limit` / `from_collapse_limit` for
    statements joining many tables.
    """

    severity = "warning"
    title = "planning takes longer than execution"


class P111(Code):
    """
    **Severity:** warning when a Limit skips ≥ 1000 rows its input produced (OFFSET pagination).
    **Thresholds:** `OFFSET_MIN_ROWS` in perftool/plans/tips.py. **Reported by:** `perftool explain`.

    ## What perftool looks at

    A Limit node whose child returned many more rows than the Limit did: the difference is the
    OFFSET the server read and threw away. Evidence: `node`, `skipped`, `returned`.

    ## Why it hurts

    Page N costs N pages of work: the deep pages of an API listing get slower as the table grows.

    ## How to fix

    Keyset (cursor) pagination: remember the last row's sort key and start after it.
    ```sql
    SELECT * FROM jobs WHERE (created_at, id) < ($1, $2) ORDER BY created_at DESC, id DESC LIMIT 50;
    ```
    """

    severity = "warning"
    title = "OFFSET pagination reads rows it throws away"


class P112(Code):
    """
    **Severity:** info when a node's own time grew by ≥ 10 % of plan A's total, warning from 40 %,
    error from 90 % (P101's bands; estimated cost when a plan has no ANALYZE figures); warning when a
    scan that used an index became a Seq Scan. **Reported by:** `perftool explain --compare A B`
    (with `--fail-on`, a CI gate for plan regressions).

    ## What perftool looks at

    Two plans of one statement (EXPLAIN JSON or psql text). Scans are matched on the table they read
    (relation and alias), other nodes on their type and position among nodes of that type.
    Evidence: `node`, `before`, `own_a`, `own_b`, `share_of_a`, `unit` (ms or cost).

    ## Why it hurts

    A plan that changed after a deploy, an index drop or new statistics is the usual cause of a
    statement that was fast yesterday.

    ## How to fix

    Read both plans with `perftool explain --plan`: a missing or invalid index, a row estimate that
    moved (ANALYZE, statistics target), or a setting that differs (the plans' `Settings`).
    """

    severity = "warning"
    title = "plan regression"


class P113(Code):
    """
    **Severity:** info when a CTE Scan's filter removes > 50 % of ≥ 1000 rows it reads from a
    materialised CTE, warning above 90 % (P103's bands). **Thresholds:** `FILTER_BANDS`,
    `MIN_FILTER_ROWS` in perftool/plans/tips.py. **Reported by:** `perftool explain`.

    ## What perftool looks at

    A CTE Scan with a Filter over a CTE that was materialised (`WITH x AS MATERIALIZED`, a CTE
    referenced more than once, or any CTE before PostgreSQL 12) and that reads a table. Recursive
    and data-modifying CTEs are left alone: they cannot be inlined. Evidence: `cte`, `tables`,
    `columns`, `read`, `removed_share`.

    ## Why it hurts

    A materialised CTE is computed in full, then scanned: the filter on the CTE Scan cannot reach
    the table inside it, so no index on the table can serve it.

    ## How to fix

    Inline it (PostgreSQL 12+), so the planner pushes the filter into the CTE's scan:
    ```sql
    WITH recent AS NOT MATERIALIZED (SELECT * FROM orders)
    SELECT * FROM recent WHERE customer_id = 42;
    ```
    **Proof:** perftool plans the statement again with the CTE declared `NOT MATERIALIZED`
    (estimates); when that alone does not lower the cost, with the advisor's indexes for the
    inlined statement (HypoPG). Otherwise the tip says "unverified" and why.
    """

    severity = "info"
    title = "a filter on a materialised CTE cannot use an index"


class P114(Code):
    """
    **Severity:** info when a Seq Scan's filter removes > 50 % of ≥ 1000 rows read and compares a
    function or cast of a column with a constant, warning above 90 % (P103's bands).
    **Thresholds:** `FILTER_BANDS`, `MIN_FILTER_ROWS` in perftool/plans/tips.py. **Reported by:**
    `perftool explain`.

    ## What perftool looks at

    Each `AND` term of the Seq Scan's Filter: one side holds the column inside a function or a
    cast (`lower(email)`, `(created_at)::date`, `date_trunc('day', created_at)`), the other side
    no column. The `::text` cast EXPLAIN writes around a varchar column is not counted (it is
    binary-coercible and an index on the column serves it). Evidence: `expression`,
    `expressions`, `columns`, `table`, `removed_share`.

    ## Why it hurts

    An index on the column stores the column's values, not the expression's: the planner cannot
    use it for `lower(email) = …` and reads the whole table.

    ## How to fix

    An expression index (its expression written as the filter's), or compare the bare column
    with a range instead of wrapping it:
    ```sql
    CREATE INDEX CONCURRENTLY users_lower_email_idx ON public.users ((lower(email)));
    -- or: WHERE created_at >= DATE '2024-01-01' AND created_at < DATE '2024-01-02'
    ```
    The expression must be IMMUTABLE (`timestamptz::date` is not: it depends on TimeZone).
    **Proof:** the index is made hypothetically with HypoPG (it supports expression indexes) and
    the statement planned again; without HypoPG, or when HypoPG refuses the expression, the tip
    says "unverified" and why.
    """

    severity = "info"
    title = "a function or cast on the column blocks an index"


class Q101(Code):
    """
    **Severity:** warning when the mean execution time is ≥ 1000 ms; error when it is ≥ 5000 ms.
    **Thresholds:** `thresholds.slow_ms` (1000), `thresholds.slow_critical_ms` (5000) and
    `thresholds.slow_min_calls` (1) in perftool.yaml. On the command line: `perftool queries --slow-ms
    --slow-critical-ms`, `perftool analyze --slow-ms` (analyze has no `--slow-critical-ms`; use the
    config key). **Reported by:** `perftool queries`, `perftool analyze` (workload section).

    ## What perftool looks at

    `pg_stat_statements` (`calls`, `mean_exec_time`, `stddev_exec_time`, `min/max_exec_time`,
    `total_exec_time`), after merging entries with the same normalized text (see
    [queries](../commands/queries.md)). A statement is flagged when `calls ≥ slow_min_calls` and
    `mean ≥ slow_ms`; it is an error when `mean ≥ slow_critical_ms`. Every statement that passes
    `--min-calls` is checked, not only the ones shown under `--limit`. The detail gives the
    log-normal p95 estimate, the max and the statement's share of all statement time.
    Evidence: `queryid`, `calls`, `mean_ms`, `p95_ms`, `max_ms`, `share`; in `perftool analyze`,
    when the index advisor ran for T201 and recommends indexes this statement's plan uses, the fix
    adds their CREATE statements (`indexes recommend`'s answer) and the evidence `indexes` (names).

    ## Why it hurts

    A statement that takes seconds holds a pool connection and a worker that long; under load the
    pool empties and every request queues behind it.

    ## How to fix

    Read its plan (texts from pg_stat_statements carry `$n` parameters):
    ```sql
    EXPLAIN (GENERIC_PLAN) SELECT * FROM jobs WHERE status = $1 ORDER BY created_at DESC LIMIT $2;  -- PG 16+
    EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM jobs WHERE status = 'open' ORDER BY created_at DESC LIMIT 50;
    ```

    Look for a Seq Scan with "Rows Removed by Filter", a sort spilling to disk, or a nested loop with
    many loops; add the index for the filter and order (`CREATE INDEX CONCURRENTLY … ON jobs (status,
    created_at);`) or rewrite; `perftool explain --param … "<statement>"` runs it safely and reads the plan.
    """

    severity = "warning"
    title = "slow statement"



class Q103(Code):
    """
    **Severity:** warning when the statement's hit ratio is < 80 %; error when it is < 60 %.
    **Thresholds:** `thresholds.cache_hit_warning` (0.80), `thresholds.cache_hit_critical` (0.60) in
    perftool.yaml (shared with D101 and T203). The minimum volume, 10,000 blocks read
    (`CACHE_MIN_READ_BLOCKS` in perftool/workload/queries.py), is not configurable. No CLI option.
    **Reported by:** `perftool queries`, `perftool analyze` (workload section).

    ## What perftool looks at

    `pg_stat_statements.shared_blks_hit` and `shared_blks_read` per (merged) statement:
    `hit ratio = shared_blks_hit / (shared_blks_hit + shared_blks_read)`. The statement is flagged
    when `shared_blks_read ≥ 10,000` (about 78 MiB with 8 kB blocks) and the ratio is below
    `cache_hit_warning`. Evidence: `queryid`, `hit_ratio`, `shared_blks_read` (and in `perftool
    analyze` the advisor's `indexes` for it, as for Q101).

    ## Why it hurts

    Every block not in shared_buffers comes from the OS page cache at best, the disk at worst; the
    statement's time grows with the data, and it pushes other statements' hot pages out.

    ## How to fix

    Make it read fewer blocks: an index for its filter, or a covering index so the heap is not
    visited.

    ```sql
    CREATE INDEX CONCURRENTLY events_account_id_idx ON events (account_id) INCLUDE (kind);
    ```

    If the working set is really larger than memory, raise `shared_buffers` (about 25 % of RAM,
    restart needed) or add RAM. `perftool queries --sort io` ranks statements by I/O.
    """

    severity = "warning"
    title = "statement misses the buffer cache"



class Q104(Code):
    """
    **Severity:** warning.
    **Threshold:** any temporary block written (`temp_blks_written ≥ 1`, `TEMP_MIN_BLOCKS` in
    perftool/workload/queries.py). Not configurable.
    **Reported by:** `perftool queries`, `perftool analyze` (workload section).

    ## What perftool looks at

    `pg_stat_statements.temp_blks_written` per (merged) statement. The size in the title is
    `temp_blks_written × block_size` (block_size from the server, normally 8192). Evidence:
    `queryid`, `temp_blks_written`, `temp_bytes`.

    ## Why it hurts

    A sort, hash join, hash aggregate or materialize that does not fit in `work_mem` spills to temp
    files: disk writes and reads on every execution, often several merge passes, and a statement
    many times slower than its in-memory plan.

    ## How to fix

    Confirm in `EXPLAIN (ANALYZE, BUFFERS)` (`Sort Method: external merge  Disk: …kB`, `Batches: 4`
    on a Hash, `temp read/written`), then give the statement more memory or avoid the sort/hash:

    ```sql
    BEGIN; SET LOCAL work_mem = '64MB'; SELECT …; COMMIT;   -- one transaction
    ALTER ROLE reporting SET work_mem = '64MB';              -- the role that runs it
    CREATE INDEX CONCURRENTLY job_steps_duration_ms_id_idx ON job_steps (duration_ms DESC, id);  -- rows in order
    ```

    `work_mem` applies per sort/hash node and per worker: raise it where needed, not globally.
    """

    severity = "warning"
    title = "statement writes temporary files"



class Q105(Code):
    """
    **Severity:** info.
    **Threshold:** `dealloc > 0`, or the view holds ≥ 90 % of `pg_stat_statements.max` entries. Not
    configurable.
    **Reported by:** `perftool queries`, `perftool analyze` (workload section).

    ## What perftool looks at

    `SELECT count(*) FROM pg_stat_statements` (entries of all databases),
    `current_setting('pg_stat_statements.max')` and, on PostgreSQL 14+,
    `pg_stat_statements_info.dealloc` (evictions since the last reset). On PostgreSQL 13 there is no
    `pg_stat_statements_info`, so only the 90 % fullness rule applies. Evidence: `entries`,
    `max_entries`, `dealloc`.

    ## Why it hurts

    When the view is full, pg_stat_statements drops the least-used entries. Their counters are lost,
    so totals, shares and "top statements" are understated, and a statement that comes back starts
    from zero. Frequent evictions also cost CPU (the text file is garbage-collected).

    ## How to fix

    ```sql
    ALTER SYSTEM SET pg_stat_statements.max = 10000;   -- needs a restart
    ```

    Also look for what fills it: statements with literals that are not normalized (different `IN`
    list lengths before PG 18, generated SQL with varying table names, temporary tables), and utility
    statements when `pg_stat_statements.track_utility = on`.
    """

    severity = "info"
    title = "pg_stat_statements is evicting statements"
    heading = "pg_stat_statements is evicting statements"


class Q106(Code):
    """
    **Severity:** info.
    **Threshold:** `current_setting('track_io_timing')` is not `on`. Not configurable.
    **Reported by:** `perftool queries`, `perftool analyze` (workload section).

    ## What perftool looks at

    The setting as perftool's own session sees it (`current_setting('track_io_timing', true)`,
    read with the pg_stat_statements capacity query). No evidence fields.

    ## Why it hurts

    Without it, `blk_read_time`/`blk_write_time` (`shared_blk_read_time`/`shared_blk_write_time` on
    PG 17+) stay 0: you see how many blocks a statement read, not how long it waited for them.
    `perftool queries --sort io` then ranks by `shared_blks_read` instead of I/O time, and the `io_ms`
    field is 0.

    ## How to fix

    ```sql
    ALTER SYSTEM SET track_io_timing = on;
    SELECT pg_reload_conf();
    ```

    No restart is needed. On most modern hardware the timing overhead is negligible; check the
    clock source first with `pg_test_timing` (a few tens of nanoseconds per call is fine).
    """

    severity = "info"
    title = "track_io_timing is off"
    heading = "track_io_timing is off"


class Q110(Code):
    """
    **Severity:** warning when a parent statement explains the calls; info when no parent is found.
    **Thresholds:** child calls ≥ 500, ≤ 20 rows per call, parent ratio ≥ 5, no-parent factor 10
    (`N1_MIN_CALLS`, `N1_MAX_ROWS_PER_CALL`, `N1_MIN_LOOP`, `N1_TYPICAL_FACTOR` in
    perftool/workload/patterns.py). Not configurable from perftool.yaml or the CLI.
    **Reported by:** `perftool analyze` (workload section) only.

    ## What perftool looks at

    The window's statements (pg_stat_statements, merged by text), parsed with sqlglot:
    1. Candidates are SELECTs with `calls ≥ 500` and `rows/calls ≤ 20`, reading exactly one table,
       without GROUP BY or subqueries, whose WHERE contains `column = $n` (either side).
    2. A parent is another SELECT run at most a fifth as often (`child.calls ≥ 5 × parent.calls`)
       whose total `rows` are 0.5–2× the child's calls; the best has the smallest
       `|parent.rows − child.calls| / child.calls`, minus 0.5 when one of its tables is named after
       the child's column (`job_id` → `job`, `jobs` or `jobes`).
    3. With a parent: warning. Without one: info, if the child's calls are ≥ 10× the SELECTs' median.

    Evidence: `queryid`, `calls`, `rows_per_call`, `table`, `column`, `mean_ms`, `total_ms`, and with
    a parent `parent_queryid`, `parent_calls`, `parent_rows`, `loop_ratio`.

    ## Why it hurts

    One query per parent row: 100 rows on a page become 101 round trips; each is fast, but the
    overhead adds up and the page's latency grows with the data.

    ## How to fix

    Fetch all children in one statement or join them into the parent; in ORMs, eager loading
    (Django `prefetch_related`/`select_related`, Rails `includes`, SQLAlchemy `selectinload`):
    ```sql
    SELECT job_id, machine, duration_ms FROM job_steps WHERE job_id = ANY($1);   -- $1 = array of ids
    ```
    """

    severity = "warning"
    title = "probable N+1 loop"



class Q111(Code):
    """
    **Severity:** warning when the COUNT statements on one table ran ≥ 500 times in all; info below.
    **Thresholds:** each statement needs ≥ 50 calls (`COUNT_MIN_CALLS` in perftool/workload/patterns.py);
    warning at 10 × 50 = 500 executions. Not configurable.
    **Reported by:** `perftool analyze` (workload section) only.

    ## What perftool looks at

    Statements parsed with sqlglot whose select list is a single `count(…)` (aliased or not, no
    `FILTER`), over exactly one table, with a WHERE clause, no JOIN and no GROUP BY, with
    `calls ≥ 50`. They are grouped by table name as written. A table is reported when it has two or
    more such statements, or one whose WHERE has `column = $n` (a count per value). Evidence:
    `table`, `queryids` (strings in JSON), `calls`, `total_ms`, `parameter_columns`.

    ## Why it hurts

    Each COUNT scans the table (or an index) on its own: four counters read the same rows four
    times per page view.

    ## How to fix

    One pass for all counters:

    ```sql
    SELECT count(*) FILTER (WHERE status = 'open')      AS open,
           count(*) FILTER (WHERE status = 'running')   AS running,
           count(*) FILTER (WHERE due_date < current_date) AS overdue
    FROM jobs;
    -- or, for one count per value
    SELECT status, count(*) FROM jobs GROUP BY status;
    ```
    """

    severity = "warning"
    title = "dashboard of separate COUNT queries"



class R101(Code):
    """
    **Severity:** warning when the lag is ≥ 1000 ms; error when it is > 5000 ms.
    **Thresholds:** `thresholds.replica_lag_warning_ms` (1000), `thresholds.replica_lag_critical_ms`
    (5000) in perftool.yaml. No CLI option.
    **Reported by:** `perftool replicas` and `perftool analyze` (replication section), once per
    replica whose verdict is *lagging* (a paused replay is R105, a receiver that is down R104).

    ## What perftool looks at

    On a standby (`pg_is_in_recovery()`): `now() − pg_last_xact_replay_timestamp()`, but 0 when
    `pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()` (an idle primary is not lag: verdict
    *primary idle*), with the bytes received but not replayed. On a primary: each standby's
    `replay_lag` in `pg_stat_replication` (0 once it has replayed everything:
    `pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) = 0`), with those bytes. A standby's own
    view wins over its primary's when perftool sees both (`replicas --all-hosts`). Evidence:
    `replica`, `seen_from`, `verdict`, `lag_ms`, `lag_bytes`. The object is the replica: its
    perftool.yaml name or `host:port` when read on the standby, its `application_name` seen from
    the primary.

    ## Why it hurts

    Reads routed to the replica see data that old: a user who just saved a form reads the previous
    version. Large lag also means a failover would lose or wait for that much WAL.

    ## How to fix

    ```sql
    -- on the primary: where is each standby behind?
    SELECT application_name, write_lag, flush_lag, replay_lag,
           pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) AS replay_bytes
    FROM pg_stat_replication;
    -- on the standby: replay conflicts and long queries
    SELECT * FROM pg_stat_database_conflicts WHERE datname = current_database();
    ```

    `write_lag` high → network; `replay_lag` ≫ `flush_lag` → the standby cannot apply fast enough
    (I/O, or queries pausing replay with `max_standby_streaming_delay`). Route read-your-writes
    traffic to the primary meanwhile.
    """

    severity = "warning"
    title = "replica lag"



class R102(Code):
    """
    **Severity:** warning; error when `wal_status = 'lost'`.
    **Threshold:** an inactive slot retaining ≥ 1 GiB of WAL
    (`thresholds.slot_retained_warning_bytes` in perftool.yaml), or any slot whose `wal_status` is
    `unreserved` or `lost`.
    **Reported by:** `perftool replicas` and `perftool analyze` (replication section).

    ## What perftool looks at

    `pg_replication_slots`: `retained_bytes = pg_wal_lsn_diff(position, restart_lsn)`, where the
    position is `pg_current_wal_lsn()` on a primary and `pg_last_wal_replay_lsn()` on a standby
    (its own slots, for cascading standbys). With two samples (`replicas --interval SECONDS`, or
    each refresh of `--watch`) the title adds the growth per hour and, when
    `max_slot_wal_keep_size` is set (`safe_wal_size` not NULL), when the slot will be lost at that
    rate. The detail shows `wal_status` and `safe_wal_size`. Evidence: `retained_bytes`,
    `wal_status`, `safe_wal_size`, `active`, `growth_bytes_per_s`. The object is the slot name.

    ## Why it hurts

    A slot keeps every WAL segment its consumer has not confirmed. When the consumer (a standby, a
    logical decoding client, a CDC tool) is gone, `pg_wal` grows until the disk is full and the
    primary stops. `wal_status = 'lost'` means the slot is already beyond repair.

    ## How to fix

    ```sql
    SELECT slot_name, slot_type, database, active, wal_status, safe_wal_size,
           pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)) AS retained
    FROM pg_replication_slots ORDER BY restart_lsn;
    SELECT pg_drop_replication_slot('old_standby');   -- only if its consumer is gone for good
    ALTER SYSTEM SET max_slot_wal_keep_size = '50GB'; -- PG 13+: cap what any slot may retain
    SELECT pg_reload_conf();
    ```

    If the consumer is only down for a while, bring it back; dropping the slot forces a standby to be
    re-cloned and a logical consumer to resynchronise.
    """

    severity = "warning"
    title = "inactive replication slot holds WAL"



class R103(Code):
    """
    **Severity:** error.
    **Thresholds:** none.
    **Reported by:** `perftool analyze --all-hosts` (fleet mode), once per host of perftool.yaml that
    could not be analysed.

    ## What perftool looks at

    `--all-hosts` connects to every host of perftool.yaml (not pgbouncer) and snapshots each one. A
    host whose connection, snapshot or section queries fail with a "could not complete" error
    (connection refused or timed out, authentication, a missing privilege, a statement timeout) is
    left out; the report covers the hosts that answered, and this finding names the one that did
    not. The object is the host's perftool.yaml name; the evidence holds its role and the error's
    one line (`error`), with passwords masked — never its DSN. The Hosts section lists it with
    status `unreachable`, and the report's notes say which hosts the report covers.

    Because an index is unused only if it is unused on every host, no I104 (unused index) finding is
    reported while a host is missing: the missing host may be the one whose reads use the index (a
    note says how many were held back).

    With `--require-all-hosts` a missing host stops the run instead: one line on stderr naming the
    host, exit 3. When no host at all can be analysed, the run stops with exit 3 either way.

    ## Why it hurts

    A replica that is down serves no reads (the application's read pool sends its share elsewhere or
    fails) and stops replaying WAL; a primary that cannot be reached is an outage. A report that
    silently left the host out would look healthy.

    ## How to fix

    See why the host does not answer: `perftool analyze --host <name>` shows the error alone. Then
    check that the server is running, that this machine can reach its port (firewall, security
    group), and that the role in its DSN may log in (`pg_hba.conf`). For a standby that was down,
    check its replay lag (R101) once it is back.
    """

    severity = "error"
    title = "host of the fleet could not be analysed"


class R104(Code):
    """
    **Severity:** error.
    **Thresholds:** none.
    **Reported by:** `perftool replicas` (and `perftool analyze`, replication section), once per replica.

    ## What perftool looks at

    A replica whose WAL receiver is not streaming, seen from wherever perftool can see it:

    - on the standby: `pg_stat_wal_receiver` has no row, or its `status` is not `streaming`;
    - on the primary: a physical replication slot with no consumer (`active = false`) — the standby
      that used it is gone, which `pg_stat_replication` alone never shows (its row just disappears);
    - with hosts in perftool.yaml: a `role: replica` host that does not answer.

    Evidence: `replica`, `seen_from`, `reason`, and the WAL the slot retains when known.

    ## Why it hurts

    A standby without a receiver replays nothing: its lag grows without bound even where its lag
    time looks small, reads from it go stale, and the primary's slot keeps WAL for it (R102).

    ## How to fix

    Look at the standby's log (`could not connect to the primary server`, authentication,
    `requested WAL segment … has already been removed`) and the network between the two. If the
    standby is gone for good, drop its slot: `SELECT pg_drop_replication_slot('name');`.
    """

    severity = "error"
    title = "replica's WAL receiver is down"



class R105(Code):
    """
    **Severity:** warning; error once its lag passes `thresholds.replica_lag_critical_ms` (5000).
    **Thresholds:** `replica_lag_critical_ms` for the error.
    **Reported by:** `perftool replicas` (and `perftool analyze`, replication section), on a standby.

    ## What perftool looks at

    `pg_get_wal_replay_pause_state()` on a standby: `paused` or `pause requested` (someone ran
    `pg_wal_replay_pause()`, or a recovery target with `recovery_target_action = pause` was reached).
    The lag is reported with it, in time and bytes: replay stands still while WAL keeps arriving.
    Evidence: `lag_ms`, `replay_bytes`, `pause_state`.

    ## Why it hurts

    Nothing is applied until replay resumes: reads see older and older data, and the standby is not
    a usable failover target.

    ## How to fix

    ```sql
    SELECT pg_wal_replay_resume();   -- on the standby, once whatever needed the pause is done
    ```
    """

    severity = "warning"
    title = "replay paused on a standby"



class S101(Code):
    """
    A sequence that has used more than `sequence_warning` (75 %) of its range — an error above
    `sequence_critical` (90 %). The range is the sequence's own (its type and MAXVALUE), narrowed by
    the type of the column it feeds: a bigint sequence behind an `integer` column fails at
    2,147,483,647 all the same.

    **Severity:** warning above `thresholds.sequence_warning` (75 % of the range used), error above
    `thresholds.sequence_critical` (90 %).
    **Reported by:** `perftool indexes health`, `perftool indexes --check`, `perftool analyze`.

    ## What perftool looks at

    Every sequence outside the system schemas (`sql/catalog_sequences.sql`): its type, MINVALUE,
    MAXVALUE, increment and last value (`pg_sequence_last_value`, NULL before the first `nextval` or
    without privilege: skipped), and the column that owns it (serial and identity columns) with that
    column's type. The usable range is the sequence's own, **narrowed by the owning column's type**: a
    `bigint` sequence behind an `integer` column fails at 2,147,483,647 all the same. Descending
    sequences count from MAXVALUE down; cycling sequences never fail and are skipped. Evidence:
    `last_value`, `data_type`, `max_value`, `min_value`, `increment`, `used`, `values_left`,
    `limited_by` (`sequence` or `column`), `column`, `column_type`.

    ## Why it hurts

    When the range runs out every INSERT fails (`nextval: reached maximum value of sequence` or
    `integer out of range`) and the application is down until the type is changed — which, for the
    column, means rewriting the table.

    ## How to fix

    Do it well before the critical level:

    ```sql
    -- rewrites the table under an ACCESS EXCLUSIVE lock: schedule it, or add a bigint column,
    -- backfill it in batches and swap
    ALTER TABLE public.orders ALTER COLUMN id TYPE bigint;
    ALTER SEQUENCE public.orders_id_seq AS bigint;   -- instant
    ```

    Columns that reference the key (foreign keys) need the same change.
    """

    severity = "warning"
    title = "sequence close to overflow"



class T101(Code):
    """
    A table much bigger than its live rows need, estimated from the planner's statistics (no
    table is read): more than `bloat_warning` (20 %) of its pages and more than `bloat_min_bytes`
    (10 MB) are dead or free space — an error above `bloat_critical` (50 %). The estimate follows
    ioguix/pgsql-bloat-estimation (row widths from pg_stats, the table's fillfactor).

    **Severity:** warning above `thresholds.bloat_warning` (20 %), error above
    `thresholds.bloat_critical` (50 %); only when the estimated bloat is at least
    `thresholds.bloat_min_bytes` (10 MB; option `--bloat-min-size SIZE`).
    **Reported by:** `perftool indexes health`, `perftool indexes --check`, `perftool analyze`.
    **Privileges:** the planner's statistics (`pg_stats`), which a role sees only for tables it may
    SELECT; for the others the report carries one note naming them and the GRANT
    ([privileges](../privileges.md)).

    ## What perftool looks at

    An estimate from the planner's statistics — no table is read (`sql/chk_table_bloat.sql`, the method
    of [ioguix/pgsql-bloat-estimation](https://github.com/ioguix/pgsql-bloat-estimation),
    `table_bloat.sql`): the pages `reltuples` rows need at the table's fillfactor, from the columns'
    average widths and null fractions, the tuple header and alignment, plus TOAST pages, against the
    table's pages. Tables whose columns lack statistics are skipped. Evidence: `size_bytes`,
    `bloat_bytes`, `bloat_ratio`, `n_dead_tup`, `n_live_tup`, `fillfactor`.

    ## Why it hurts

    Sequential scans read every page, full or empty; the cache and the backups hold the empty space.
    VACUUM makes dead space reusable but returns it to the file system only from the end of the table.
    It usually follows mass DELETEs or UPDATEs, or autovacuum not keeping up.

    ## How to fix

    Rewrite the table:

    ```sql
    -- VACUUM FULL locks the table (no reads, no writes) for its whole run: use a maintenance window,
    -- or pg_repack (an extension and a client) online
    VACUUM (FULL, ANALYZE) public.events;
    ```

    Then let autovacuum keep up (`ALTER TABLE … SET (autovacuum_vacuum_scale_factor = 0.02)`, see
    [T202](T202.md)); space that will be reused by new rows soon does not need a rewrite.
    """

    severity = "warning"
    title = "bloated table"
    heading = "Bloated table (estimated)"


class T102(Code):
    """
    A table (or partitioned table; partitions inherit their parent's key) with no primary key.

    **Severity:** warning.
    **Thresholds:** none.
    **Reported by:** `perftool indexes health`, `perftool indexes --check`, `perftool analyze`.

    ## What perftool looks at

    Tables and partitioned tables (not partitions: they inherit their parent's key) with no
    `PRIMARY KEY` constraint. When a valid, non-partial unique btree index on NOT NULL plain columns
    exists, the fix promotes it; otherwise it adds an identity column. Evidence: `table_rows`,
    `table_bytes`, `replica_identity`, `promotable_index`.

    ## Why it hurts

    - Rows cannot be addressed one by one: ORMs, admin tools and duplicate clean-ups need a key.
    - Logical replication cannot replicate UPDATE and DELETE on it without `REPLICA IDENTITY FULL`,
      which makes the subscriber scan the table for every changed row.
    - Tools such as pg_repack refuse to work on it.

    ## How to fix

    Promote an existing unique index (a short lock):

    ```sql
    ALTER TABLE public.tokens ADD CONSTRAINT tokens_pkey PRIMARY KEY USING INDEX tokens_value_key;
    ```

    or add a key column — this rewrites the table under an ACCESS EXCLUSIVE lock, so schedule it (or
    add the column, backfill it in batches, build a unique index concurrently and promote it):

    ```sql
    ALTER TABLE public.audit_log ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;
    ```

    With an index set that declares the table's primary key (I201 reports it missing), the fix does
    not make a key of its own: it adds only the column the declared key needs
    (`ADD COLUMN "id" bigint GENERATED ALWAYS AS IDENTITY;`) and says that I201's fix then makes it the
    key; I201's fix (and any declared index on the new column) starts with `-- run after the fix of
    T102 …`. When the declared key uses existing columns, this fix is a comment pointing at I201's.
    """

    severity = "warning"
    title = "table without a primary key"



class T201(Code):
    """
    **Severity:** warning.
    **Thresholds:** sequential-scan share > 5 % (`thresholds.seq_scan_share`, 0.05), at least 10,000
    rows (`thresholds.seq_scan_min_rows`, 10000), and ≥ 1,000 rows read per sequential scan
    (`MIN_ROWS_PER_SEQ_SCAN` in perftool/analyze/sections/tables.py, fixed). No CLI option.
    **Reported by:** `perftool analyze` (tables section).

    ## What perftool looks at

    `pg_stat_user_tables` (summed over hosts with `--all-hosts`, a delta with `--interval`):

    - `share = seq_scan / (seq_scan + idx_scan)`, flagged when `share > seq_scan_share`;
    - rows = `max(n_live_tup, pg_class.reltuples)` ≥ `seq_scan_min_rows`;
    - `seq_tup_read / seq_scan ≥ 1000`, so scans that stop early are not counted.

    It lists the pg_stat_statements statements naming the table, preferring those touching ≥ 30 % of
    its pages per call (up to three). The fix is the index advisor's answer for them: when some table
    is seq-scan heavy, `analyze` runs the same advisor as `perftool indexes recommend` on the same
    statements (pg_stat_statements, the default options) and gives, for each listed statement, the
    recommended indexes on this table that its plan uses — so the two commands never disagree on a
    statement. With HypoPG they are what-if costed; without it they come from the `--no-whatif`
    heuristic and the fix says so. When the advisor finds no index that pays, the fix says that.
    Evidence: `seq_scan`, `seq_tup_read`, `idx_scan`, `n_live_tup`, `seq_share`, `queryids` (up to
    three statements that scan it), `index_advice` (`HypoPG what-if costing`, the heuristic's label,
    or null when the advisor could not run) and `statement_indexes` (per listed statement: `queryid`,
    `query`, the advisor's `indexes` on this table by name).

    ## Why it hurts

    Each sequential scan reads the whole table: the cost grows with the table, not with the rows
    returned, and it evicts other data from the cache (T203).

    ## How to fix

    `perftool indexes recommend` shows the same indexes with their costs and sizes (and
    `--explain-choice` why the other candidates lost); build them without blocking writes:

    ```sql
    SET lock_timeout = '5s';   -- outside a transaction block; on failure drop the INVALID index, retry
    CREATE INDEX CONCURRENTLY events_account_id_idx ON public.events (account_id);
    ```
    """

    severity = "warning"
    title = "table read by sequential scans (missing index)"



class T202(Code):
    """
    **Severity:** warning. **Thresholds:** ≥ 10,000 dead tuples and either more than autovacuum's
    trigger point or a dead share > 20 % (`DEAD_MIN_TUPLES`, `DEAD_SHARE_WARNING` in
    perftool/analyze/sections/tables.py); not configurable (the `bloat_*` keys are not used here).
    **Reported by:** `perftool analyze` (tables section).

    ## What perftool looks at

    `pg_stat_user_tables` (`n_dead_tup`, `n_live_tup`, `last_autovacuum`), `pg_class.reltuples` and the
    table's autovacuum threshold and scale factor (reloptions, else the server settings):

    ```text
    live      = max(n_live_tup, reltuples)
    trigger   = vacuum_threshold + vacuum_scale_factor × live
    dead_share = dead / (live + dead)
    flag when dead ≥ 10,000 and (dead > trigger or dead_share > 0.20)
    ```
    Evidence: `n_dead_tup`, `n_live_tup`, `dead_share`, `autovacuum_threshold`, `last_autovacuum`.

    ## Why it hurts

    Dead rows take space until vacuum removes them: scans read more pages, indexes grow.

    ## How to fix

    Vacuum now, make autovacuum start earlier on this table, look for what held it back:

    ```sql
    VACUUM (ANALYZE, VERBOSE) public.audit_log;
    ALTER TABLE public.audit_log SET (autovacuum_vacuum_scale_factor = 0.02);
    SELECT pid, state, now() - xact_start FROM pg_stat_activity ORDER BY xact_start LIMIT 5;  -- old xmin?
    ```
    """

    severity = "warning"
    title = "dead tuples: autovacuum is behind"



class T203(Code):
    """
    **Severity:** warning when the table's heap hit ratio is < 80 %; error when it is < 60 %.
    **Thresholds:** `thresholds.cache_hit_warning` (0.80), `thresholds.cache_hit_critical` (0.60) in
    perftool.yaml (shared with Q103 and D101). Minimum volume: 10,000 heap blocks read (fixed). No
    CLI option.
    **Reported by:** `perftool analyze` (workload section, "Cache hit ratio" table).

    ## What perftool looks at

    `pg_statio_user_tables.heap_blks_hit` and `heap_blks_read` for the five tables with the most
    `heap_blks_read` (summed over hosts with `--all-hosts`, a delta with `--interval`):
    `ratio = heap_blks_hit / (heap_blks_hit + heap_blks_read)`, flagged when `heap_blks_read ≥ 10,000`
    and the ratio is below `cache_hit_warning`. Index and TOAST blocks are not included. Evidence:
    `hit_ratio`, `heap_blks_read`, `table_bytes`.

    ## Why it hurts

    The statements that read this table wait for the OS cache or the disk, and the table's pages push
    other tables' pages out of shared_buffers.

    ## How to fix

    Read less of it: the statements scanning it are in the T201 finding for the same table and in
    Q103; give them an index. Archive or partition cold rows so the hot part fits in memory. If the
    hot part is genuinely larger than memory, raise `shared_buffers`.

    ```sql
    CREATE INDEX CONCURRENTLY events_account_id_idx ON public.events (account_id);
    -- move rows older than 90 days out of the hot table
    ```
    """

    severity = "warning"
    title = "table misses the buffer cache"
