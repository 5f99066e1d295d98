"""What-if costing with HypoPG: the planner's cost of a statement as if some indexes existed.

The indexes it costs are `perftool.advisor.indexdef.IndexDef`s.

`WhatIf` owns one session. `cost(statement, indexes)` makes the session's hypothetical indexes on
the statement's tables exactly `indexes` (creating the missing ones in one round trip, dropping
the others in another), then EXPLAINs. Results are cached by (statement, index set), so each
combination is planned once. HypoPG hands out OIDs from a small range: the session resets
(`hypopg_reset`) between batches of `reset_every` creations. Sizes come from
`hypopg_relation_size` and are cached per index.

Statements with `$n` parameters (pg_stat_statements' normalised texts) are costed with a generic
plan: `PREPARE` + `plan_cache_mode = force_generic_plan` + `EXPLAIN EXECUTE p(NULL, …)`, prepared
afresh each time so a plan cached before an index set changed is never reused. Not `EXPLAIN
(GENERIC_PLAN)` (PG16+): over the extended protocol the server wants a value for each `$n` in
the Bind message and then plans with those values as constants (NULLs cost 0).

A plan also answers for other index sets (`reuse_plans`, on by default): when the plan of
statement q with hypothetical indexes S uses the indexes U, then for any K with U ⊆ K ⊆ S the
planner's choice is the same plan (it was the cheapest over S's paths and is still available), so
cost(q, K) = cost(q, S) without an EXPLAIN. This is exact up to the planner's 1 % fuzzy path
pruning, the same rule the relevance cache already relies on; the benchmarks' Extend baseline
turns it off (its published cache is per (query, relevant indexes) only).

Every EXPLAIN goes through `statement_send`: extended protocol only, in pipelined batches inside a
read-only transaction that is rolled back. A statement the server refuses is given its error; one
whose planning times out is never planned again (its skip reason names --statement-timeout).

The session is the caller's safe read-only connection: HypoPG's functions work in a read-only
transaction (they change only backend memory), so nothing is written to the database. Large
batches of base costs and floors (SPLIT_MIN statements) are planned half on a sibling of it, set
up alike (`_beside`), so that the server plans on two backends; the search's batches (TWIN_MIN
statements) half on one sibling kept for the whole search (`_Twin`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from perftool.advisor.indexdef import IndexDef
from perftool.catalog.schema import TableName
from perftool.db.beside import Beside
from perftool.db.connect import sibling
from perftool.db.errors import ConnectionFailed, PerftoolError
from perftool.db.sql import MARKER, execute, fetch_all, fetch_one, load, load_fragment
from perftool.db.statement_send import (
    MULTIPLE_COMMANDS,
    BatchFailed,
    Command,
    forget_prepared,
    is_multiple_commands,
    prepared_commands,
    run_read_only,
)
from perftool.gc_pause import gc_paused

KEEP_LIVE = 48              # hypothetical indexes left in place between EXPLAINs when the statement ignores them
PREFETCH_MIN = 8           # fewer uncached EXPLAINs than this are not worth a pipelined batch
CREATE_IN_BATCH = 100      # up to this many hypothetical indexes are created in an EXPLAIN batch's round trip
PIPELINE = 200             # EXPLAINs sent per round trip when many see the same indexes
RESET_EVERY = 1500          # HypoPG's OID range holds ~2800 indexes: reset well before that
PREPARED_NAME = "perftool_whatif"
TWIN_MIN = 40               # the search's EXPLAIN batches (prefetch) of this many: half on a kept sibling (_Twin)
SPLIT_MIN = 400             # base costs (explain_all with no hypothetical index) and floors (explain_supersets):
                            # from this many statements, half planned on a sibling session (_beside)


@dataclass
class Explained:
    """One EXPLAIN's outcome: total cost, the hypothetical indexes the plan uses, rows it writes."""

    cost: float | None
    used: frozenset[IndexDef] = frozenset()
    rows: float | None = None
    error: str | None = None


@dataclass
class Setup:
    """Hypothetical indexes to drop (`extra`) and create (`missing`) so that `indexes` are live on
    `tables`, sent ahead of an EXPLAIN batch in its round trip."""

    indexes: frozenset[IndexDef]
    tables: frozenset[TableName]
    extra: list[IndexDef]
    missing: list[IndexDef]


@dataclass
class Statement:
    text: str
    tables: frozenset[TableName]
    params: int = 0


@dataclass
class Phase:
    """Where an advisor run spent its time (`WhatIfStats.phases`): wall seconds, EXPLAINs, and
    seconds inside what-if round trips (the rest is parsing and the search's bookkeeping)."""

    name: str
    seconds: float
    explains: int
    whatif_seconds: float


@dataclass
class WhatIfStats:
    explains: int = 0
    rechecks: int = 0          # EXPLAINs repeated because a kept "irrelevant" index was used
    cache_hits: int = 0
    derived: int = 0           # costs answered by a plan of a superset that used only indexes of the set
    created: int = 0
    resets: int = 0
    table_floor_explains: int = 0   # EXPLAINs of the joins' per-table floors (not in the local search's share)
    seconds: float = 0.0
    phases: list[Phase] = field(default_factory=list)
    _lap: tuple[float, int, float] | None = None

    def phase(self, name: str, started: float | None = None) -> None:
        """Close the phase `name` (it began at the previous call, or at `started`)."""
        now = time.perf_counter()
        t, e, w = self._lap if self._lap is not None else (started or now, 0, 0.0)
        if started is not None:
            t = started
        self.phases.append(Phase(name, now - t, self.explains - e, self.seconds - w))
        self._lap = (now, self.explains, self.seconds)


@dataclass
class WhatIf:
    """One HypoPG session with a cost cache keyed by (statement, index set)."""

    conn: psycopg.Connection
    reset_every: int = RESET_EVERY
    statements: list[Statement] = field(default_factory=list)
    cache: dict[tuple[int, frozenset[IndexDef]], Explained] = field(default_factory=dict)
    sizes: dict[IndexDef, int] = field(default_factory=dict)
    stats: WhatIfStats = field(default_factory=WhatIfStats)
    _live: dict[IndexDef, int] = field(default_factory=dict)
    _by_oid: dict[int, IndexDef] = field(default_factory=dict)
    _since_reset: int = 0
    _session_ready: bool = False
    _timeout: str | None = None
    _dead: dict[str, str] = field(default_factory=dict)   # statement text -> why it is never planned again
    failed: dict[IndexDef, str] = field(default_factory=dict)
    # per statement: which indexes could change its plan (the advisor's relevance rule). Live
    # hypothetical indexes it cannot use stay in place between EXPLAINs (up to KEEP_LIVE per
    # table), which saves the drop/create round trips; strict costing ignores this.
    relevance: dict[int, Callable[[IndexDef], bool]] = field(default_factory=dict)
    reuse_plans: bool = True
    # per statement: (index set S it was planned with, its plan) — see the module docstring
    _plans: dict[int, list[tuple[frozenset[IndexDef], Explained]]] = field(default_factory=dict)
    # per statement: relevant indexes a plan of it had and did not use; when live they stay in place
    # while it is EXPLAINed (like those it cannot use), so that plan answers for the sets with them
    _unused: dict[int, set[IndexDef]] = field(default_factory=dict)
    twin: bool = True           # the search's large batches half on a sibling session (_Twin)
    _twin: _Twin | None = None

    # -- set-up -------------------------------------------------------------------------------------
    def add_statement(self, text: str, tables, params: int = 0) -> int:
        self.statements.append(Statement(text=text, tables=frozenset(tables), params=params))
        return len(self.statements) - 1

    def _settings(self) -> None:
        """Generic plans for `$n` statements; the statement timeout, for skip reasons."""
        if self._timeout is None:
            row = fetch_one(self.conn, "whatif_session") or {}
            self._timeout = str(row.get("statement_timeout") or "?")

    def _session(self) -> None:
        if not self._session_ready:
            # no automatic server-side prepares: after a failed pipelined batch psycopg can believe
            # a statement it never got to prepare exists ("prepared statement _pg3_1 does not
            # exist" on the next batch, seen on the demo); the EXPLAINs are planned afresh anyway
            self.conn.prepare_threshold = None
            self._settings()
            execute(self.conn, "whatif_reset")
            self._session_ready = True

    def reset(self) -> None:
        execute(self.conn, "whatif_reset")
        self._live.clear()
        self._by_oid.clear()
        self._since_reset = 0
        self.stats.resets += 1

    def close(self) -> None:
        """Forget this session's hypothetical indexes (they would vanish with the session anyway)."""
        if self._twin is not None:
            self._twin.close()
            self._twin = None
        if self._session_ready and not self.conn.closed:
            try:
                self.reset()
            except Exception:  # noqa: BLE001 - best effort on the way out
                pass

    # -- hypothetical indexes -----------------------------------------------------------------------
    def _create(self, indexes: list[IndexDef]) -> None:
        if not indexes:
            return
        if self._since_reset + len(indexes) > self.reset_every:
            self.reset()
        defs = [ix.hypothetical_sql() for ix in indexes]
        try:
            rows = fetch_all(self.conn, "whatif_create", {"definitions": defs})
        except Exception:  # noqa: BLE001 - one bad definition fails the batch: find it alone
            rows = None
        if rows is None or len(rows) != len(indexes):
            self._drop_strays()     # those the failed batch created before the bad one
            for ix, d in zip(indexes, defs, strict=True):
                try:
                    one = fetch_all(self.conn, "whatif_create", {"definitions": [d]})
                except Exception as exc:  # noqa: BLE001
                    self.failed[ix] = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    continue
                self._register(ix, one[0])
            return
        for ix, row in zip(indexes, rows, strict=True):
            self._register(ix, row)

    def _drop_strays(self) -> None:
        """Drop the session's hypothetical indexes this object does not know of (a batch that failed
        half-way leaves some: the planner would use them unseen)."""
        strays = [int(r["oid"]) for r in fetch_all(self.conn, "whatif_list") if int(r["oid"]) not in self._by_oid]
        if strays:
            execute(self.conn, "whatif_drop", {"oids": strays})

    def _register(self, ix: IndexDef, row: dict) -> None:
        oid = int(row["oid"])
        self._live[ix] = oid
        self._by_oid[oid] = ix
        self.sizes.setdefault(ix, int(row["size_bytes"] or 0))
        self._since_reset += 1
        self.stats.created += 1

    def _drop(self, indexes: list[IndexDef]) -> None:
        oids = [self._live.pop(ix) for ix in indexes if ix in self._live]
        for o in oids:
            self._by_oid.pop(o, None)
        if oids:
            execute(self.conn, "whatif_drop", {"oids": oids})

    def ensure(self, indexes: frozenset[IndexDef], tables: frozenset[TableName],
               relevant: Callable[[IndexDef], bool] | None = None) -> None:
        """Make the live hypothetical indexes on `tables` exactly `indexes` — or, given the
        statement's `relevant` rule, those plus a few it cannot use."""
        self._session()
        extra, missing = self._changes(indexes, tables, relevant)
        if self._since_reset + len(missing) > self.reset_every:
            extra, missing = self._reset_for(indexes, tables)
        self._drop(extra)
        self._create(missing)

    def _reset_for(self, indexes: frozenset[IndexDef],
                   tables: frozenset[TableName]) -> tuple[list[IndexDef], list[IndexDef]]:
        """Reset (HypoPG's OID range is nearly used up) before making `indexes` live: then every
        one of them is missing (`_create` alone would reset and lose the live ones kept)."""
        self.reset()
        return self._changes(indexes, tables, None)

    def _changes(self, indexes: frozenset[IndexDef], tables: frozenset[TableName],
                 relevant: Callable[[IndexDef], bool] | None) -> tuple[list[IndexDef], list[IndexDef]]:
        """What `ensure` drops and creates."""
        extra = [ix for ix in self._live if ix.table_key in tables and ix not in indexes]
        if relevant is not None and extra:
            kept = [ix for ix in extra if not relevant(ix)]
            if len(indexes) + len(kept) <= KEEP_LIVE * len(tables):
                extra = [ix for ix in extra if relevant(ix)]
        missing = sorted((ix for ix in indexes if ix not in self._live and ix not in self.failed),
                         key=IndexDef.sort_key)
        return extra, missing

    def _explain_ensured(self, sts: list[Statement], indexes: frozenset[IndexDef], tables: frozenset[TableName],
                         relevant: Callable[[IndexDef], bool] | None = None) -> list[Explained]:
        """`ensure(indexes, tables, relevant)`, then EXPLAIN `sts` — the drops and creations sent in
        the same round trip as the first batch of EXPLAINs (`Setup`)."""
        self._session()
        extra, missing = self._changes(indexes, tables, relevant)
        if not extra and not missing:
            return self._explain_texts(sts)
        if self._since_reset + len(missing) > self.reset_every:
            extra, missing = self._reset_for(indexes, tables)
        if len(missing) > CREATE_IN_BATCH or self._since_reset + len(missing) > self.reset_every:
            self._drop(extra)
            self._create(missing)
            return self._explain_texts(sts)
        return self._explain_texts(sts, Setup(indexes, tables, extra, missing))

    def size(self, ix: IndexDef) -> int | None:
        """HypoPG's size estimate in bytes (creates the index when it was never made)."""
        if ix not in self.sizes and ix not in self.failed:
            self._session()
            self._create([ix])
        return self.sizes.get(ix)

    def prepare_sizes(self, indexes) -> None:
        """Estimate many sizes in one round trip (the hypothetical indexes stay until needed)."""
        todo = sorted({ix for ix in indexes if ix not in self.sizes and ix not in self.failed}, key=IndexDef.sort_key)
        if todo:
            self._session()
            for i in range(0, len(todo), 500):
                self._create(todo[i:i + 500])

    def sizes_of(self, indexes: list[IndexDef]) -> dict[IndexDef, int | None]:
        """HypoPG's size estimates of `indexes` (one round trip; None for one it rejects)."""
        self.prepare_sizes(indexes)
        return {ix: self.sizes.get(ix) for ix in indexes}

    # -- costing ------------------------------------------------------------------------------------
    def explain(self, sid: int, indexes: frozenset[IndexDef] = frozenset(), strict: bool = False) -> Explained:
        """Cost of statement `sid` with exactly `indexes` on its tables (cached; `strict`: planned
        afresh with no other hypothetical index on its tables)."""
        key = (sid, indexes)
        hit = None if strict else self.cache.get(key)
        if hit is not None:
            self.stats.cache_hits += 1
            return hit
        st = self.statements[sid]
        usable = frozenset(ix for ix in indexes if ix not in self.failed)
        if usable != indexes:
            result = self.explain(sid, usable, strict)
            self.cache[key] = result
            return result
        if not strict:
            derived = self._derive(sid, indexes)
            if derived is not None:
                self.stats.derived += 1
                self.cache[key] = derived
                return derived
        t0 = time.perf_counter()
        relevant = None if strict else self.relevance.get(sid)
        unused = self._unused.get(sid) if self.reuse_plans and relevant is not None else None
        keep = relevant if not unused else (lambda ix, r=relevant, u=unused: r(ix) and ix not in u)
        result = self._explain_ensured([st], indexes, st.tables, keep)[0]
        self.stats.explains += 1
        planned = indexes
        if relevant is not None and result.used - indexes:
            # the plan used an index kept in place (one it cannot use, or one an earlier plan did not
            # use): plan again with exactly `indexes`
            if unused:
                if result.cost is not None:   # that plan still answers for the sets it lies between
                    self._remember(sid, frozenset(ix for ix in self._live if ix.table_key in st.tables
                                                  and ix not in self.failed), result)
                unused -= result.used
            result = self._explain_ensured([st], indexes, st.tables)[0]
            self.stats.explains += 1
            self.stats.rechecks += 1
        elif relevant is not None and result.cost is not None:
            planned = frozenset(ix for ix in self._live if ix.table_key in st.tables and ix not in self.failed)
        self.stats.seconds += time.perf_counter() - t0
        self.cache[key] = result
        self._remember(sid, planned, result)
        if self.reuse_plans and relevant is not None and result.cost is not None and indexes - result.used:
            self._unused.setdefault(sid, set()).update(indexes - result.used)
        return result

    def _remember(self, sid: int, indexes: frozenset[IndexDef], result: Explained) -> None:
        """Keep (S, plan) for `_derive` (a failed EXPLAIN answers for nothing else)."""
        if self.reuse_plans and result.cost is not None:
            self._plans.setdefault(sid, []).append((indexes, result))

    def _derive(self, sid: int, indexes: frozenset[IndexDef]) -> Explained | None:
        """A plan of statement `sid` planned with a superset S of `indexes` that uses only indexes
        of `indexes`: the planner would choose it for `indexes` too."""
        for planned, ex in self._plans.get(sid, ()):
            if ex.used <= indexes and indexes <= planned:
                return ex
        return None

    def explain_superset(self, sids: list[int], indexes) -> list[Explained]:
        """EXPLAIN each statement with all `indexes` present at once (not cached: the planner
        sees a superset of any one statement's relevant indexes). One batch of
        hypothetical indexes serves all the EXPLAINs. The live indexes on the statements' tables
        (and the indexes') become exactly `indexes`: consecutive calls drop and create only the
        difference, in the round trip of their EXPLAINs (`Setup`). Call `reset` after the last."""
        self._session()
        todo = frozenset(ix for ix in indexes if ix not in self.failed)
        tables = frozenset({t for sid in sids for t in self.statements[sid].tables} | {ix.table_key for ix in todo})
        t0 = time.perf_counter()
        out = self._explain_ensured([self.statements[sid] for sid in sids], todo, tables)
        self.stats.explains += len(sids)
        self.stats.seconds += time.perf_counter() - t0
        live = frozenset(ix for ix in todo if ix not in self.failed)
        for sid, ex in zip(sids, out, strict=True):
            self._remember(sid, frozenset(ix for ix in live if ix.table_key in self.statements[sid].tables), ex)
        return out

    def explain_supersets(self, groups: list[tuple[list[int], frozenset[IndexDef]]]) -> list[list[Explained]]:
        """`explain_superset` for each (statements, indexes) group, in order. From SPLIT_MIN
        statements in all, the later groups (about half the statements) are planned on a sibling
        session with hypothetical indexes of its own (`_beside`; the floors of 4,950
        statements) while this session plans the first ones: the server plans on two backends. A
        plan depends only on the indexes a group makes live, not on the session; what the sibling
        learns (sizes, refused definitions, plans for `_derive`) is taken here. Call `reset` after."""
        total = sum(len(sids) for sids, _ix in groups)
        cut, seen = len(groups), 0
        if total >= SPLIT_MIN and len(groups) > 1:
            for k, (sids, _ix) in enumerate(groups):
                if seen >= total / 2:
                    cut = k
                    break
                seen += len(sids)
        side = self._supersets_beside(groups[cut:]) if cut < len(groups) else None
        if side is None:
            cut = len(groups)
        out = [self.explain_superset(sids, ix) for sids, ix in groups[:cut]]
        if side is not None:
            planned = self._taken(side)
            if planned is None:         # the sibling failed: plan its groups here
                out += [self.explain_superset(sids, ix) for sids, ix in groups[cut:]]
            else:
                out += planned
        return out

    def _supersets_beside(self, groups: list[tuple[list[int], frozenset[IndexDef]]]) -> Beside[Any] | None:
        return self._beside(lambda other: [other.explain_superset(sids, ix) for sids, ix in groups])

    def _beside(self, work: Callable[[WhatIf], Any]) -> Beside[Any] | None:
        """`work(other)` in a thread, `other` a WhatIf on a sibling session set up as this one (its
        search_path, the what-if settings, what this one knows of refused definitions and
        statements that time out), while this session plans its own share (`_explain_all`,
        `explain_supersets`): the server plans on two backends. None when no sibling can be opened."""
        side: Beside[Any] = Beside(self.conn)
        if not side.available():
            side.close()
            return None
        path = (fetch_one(self.conn, "session_search_path") or {}).get("search_path")
        dead, failed = dict(self._dead), dict(self.failed)

        def run(sibling: psycopg.Connection) -> tuple[Any, WhatIf]:
            other = self._set_up_like(sibling, path, dead, failed)
            return work(other), other

        side.submit(run)
        return side

    def _set_up_like(self, sibling: psycopg.Connection, path: str | None, dead: dict[str, str],
                     failed: dict[IndexDef, str]) -> WhatIf:
        """A WhatIf on `sibling` set up as this one: its search_path `path`, the what-if settings, the
        same statements, and what this one knows of statements that time out (`dead`) and refused
        definitions (`failed`, copies taken in this one's thread)."""
        execute(sibling, "session_search_path_restore", {"search_path": path})
        other = WhatIf(sibling, reset_every=self.reset_every, statements=self.statements,
                       reuse_plans=self.reuse_plans, twin=False, _dead=dead, failed=failed)
        other._session()
        return other

    def _learn_from(self, other: WhatIf) -> None:
        """What a sibling's WhatIf learnt, taken here: sizes, refused definitions, timed-out statements."""
        self.sizes.update(other.sizes)
        self.failed.update(other.failed)
        self._dead.update(other._dead)

    def _taken(self, side: Beside[Any]) -> Any | None:
        """What `_beside`'s work returned, with what the sibling learnt taken here (sizes, refused
        definitions, timed-out statements, plans for `_derive`, its counts); None when it failed."""
        try:
            _done, got = side.result()
        except (PerftoolError, psycopg.Error):
            got = None
        finally:
            side.close()
        if got is None:
            return None
        out, other = got
        self._learn_from(other)
        for sid, plans in other._plans.items():
            self._plans.setdefault(sid, []).extend(plans)
        for k in ("explains", "created", "resets"):
            setattr(self.stats, k, getattr(self.stats, k) + getattr(other.stats, k))
        return out

    def explain_all(self, sids: list[int], indexes: frozenset[IndexDef] = frozenset()) -> None:
        """Cost many statements with the same `indexes` on their tables, pipelined, into the cache
        (then `explain`/`cost` answer from it). One stream of batches for all of them, whatever
        tables they read: `indexes` are made live on the union of their tables, and a statement's
        plan sees only the hypothetical indexes of the relations it reads, so each is planned with
        `indexes` on its own tables, as alone. (Grouped by tables, as this was until 2026-12-02, a
        workload over 1,000 tables took 1,000 round trips for its base costs; now 6.) The garbage
        collector is paused meanwhile (`gc_paused`: thousands of plans, no cycles)."""
        with gc_paused():
            self._explain_all(sids, indexes)

    def _explain_all(self, sids: list[int], indexes: frozenset[IndexDef]) -> None:
        self._session()
        todo: dict[int, frozenset[IndexDef]] = {}
        for sid in sids:
            tables = self.statements[sid].tables
            key = frozenset(ix for ix in indexes if ix.table_key in tables)
            if (sid, key) not in self.cache:
                todo.setdefault(sid, key)
        if not todo:
            return
        order = sorted(todo, key=lambda sid: sorted(self.statements[sid].tables))   # as the groups went
        tables = frozenset(t for sid in order for t in self.statements[sid].tables)
        live = frozenset(ix for ix in indexes if ix.table_key in tables)
        t0 = time.perf_counter()
        side, beside = None, []
        if not live and len(order) >= SPLIT_MIN:      # no hypothetical index: any session plans them alike
            order, beside = order[:len(order) // 2], order[len(order) // 2:]
            side = self._plan_beside([self.statements[sid] for sid in beside])
            if side is None:
                order, beside = order + beside, []
        results = self._explain_ensured([self.statements[sid] for sid in order], live, tables)
        if side is not None:
            planned = self._taken(side)
            if planned is None:         # the sibling failed: plan its half here
                results += self._explain_ensured([self.statements[sid] for sid in beside], live, tables)
            else:
                results += planned
            order = order + beside
        self.stats.explains += len(order)
        self.stats.seconds += time.perf_counter() - t0
        for sid, ex in zip(order, results, strict=True):
            key = todo[sid]
            usable = frozenset(ix for ix in key if ix not in self.failed)
            self.cache[(sid, key)] = self.cache[(sid, usable)] = ex
            self._remember(sid, usable, ex)

    def _plan_beside(self, sts: list[Statement]) -> Beside[Any] | None:
        """EXPLAIN `sts` with no hypothetical index on a sibling session (`_beside`), while this one
        plans the other half of a large batch (`_explain_all`: the base costs of 1,060 statements,
        of 4,950)."""
        return self._beside(lambda other: other._explain_texts(sts))

    def prefetch(self, requests: list[tuple[int, frozenset[IndexDef]]], config: frozenset[IndexDef]) -> None:
        """Cost many (statement, index set) pairs whose sets are all part of one configuration, in
        pipelined batches: the configuration's indexes are made live on each group's tables and
        every statement is planned with them, on the rule that it ignores those not in its set.
        A plan that used one of those anyway is not cached (`explain` then plans it on its own)."""
        todo = [(sid, key) for sid, key in dict.fromkeys(requests) if (sid, key) not in self.cache]
        if len(todo) < PREFETCH_MIN:
            return
        self._session()
        groups: dict[frozenset[TableName], list[tuple[int, frozenset[IndexDef]]]] = {}
        for sid, key in todo:
            groups.setdefault(self.statements[sid].tables, []).append((sid, key))
        for tables, group in sorted(groups.items(), key=lambda kv: sorted(kv[0])):
            if len(group) < PREFETCH_MIN:
                continue
            live = frozenset(ix for ix in config if ix.table_key in tables and ix not in self.failed)
            t0 = time.perf_counter()
            results = self._explain_split([self.statements[sid] for sid, _key in group], live, tables)
            self.stats.explains += len(group)
            self.stats.seconds += time.perf_counter() - t0
            for (sid, key), ex in zip(group, results, strict=True):
                if ex.used <= key and not (key - live):
                    self.cache[(sid, key)] = ex
                self._remember(sid, live, ex)

    def _explain_split(self, sts: list[Statement], live: frozenset[IndexDef],
                       tables: frozenset[TableName]) -> list[Explained]:
        """`_explain_ensured(sts, live, tables)`; from TWIN_MIN statements, the later half on the
        twin session (opened at the first such batch, kept until `close`; with `live` made live
        there too) while this session plans the first: the server plans on two backends. A plan
        depends only on the statement and the hypothetical indexes live on its tables."""
        kept = twin = None
        if self.twin and len(sts) >= TWIN_MIN:
            if self._twin is None:
                self._twin = _Twin(self)
            kept = self._twin
            twin = kept.ready()
        if kept is None or twin is None:
            return self._explain_ensured(sts, live, tables)
        cut = len(sts) // 2
        twin.failed.update(self.failed)
        twin._dead.update(self._dead)
        later = kept.submit(lambda other: other._explain_ensured(sts[cut:], live, tables))
        first = self._explain_ensured(sts[:cut], live, tables)
        try:
            second = later.result()
        except (PerftoolError, psycopg.Error):
            kept.close()                    # it failed: this session plans on alone
            self._twin, self.twin = None, False
            return first + self._explain_ensured(sts[cut:], live, tables)
        kept.take_into(self)
        return first + second

    def plan_uses(self, sid: int, indexes: frozenset[IndexDef]) -> frozenset[IndexDef] | None:
        """The hypothetical indexes the cached plan of (statement, index set) uses; None if not cached."""
        hit = self.cache.get((sid, indexes))
        return None if hit is None else hit.used

    def cost(self, sid: int, indexes: frozenset[IndexDef] = frozenset()) -> float | None:
        return self.explain(sid, indexes).cost

    def _explain_texts(self, sts: list[Statement], setup: Setup | None = None) -> list[Explained]:
        """EXPLAIN several statements that see the same hypothetical indexes, pipelined: one round
        trip per PIPELINE statements instead of one each (about 2.5× faster on short plans), each
        batch in a read-only transaction that is rolled back. A statement that fails is given its
        error, and the ones after it go on in a new batch: a bad statement costs only itself.
        `setup`: hypothetical indexes to drop and create first, in the first batch."""
        out: list[Explained] = []
        for start in range(0, len(sts), PIPELINE):
            todo = sts[start:start + PIPELINE]
            while todo:
                done, failed = self._run(todo, setup)
                setup = None
                out.extend(done)
                if failed is None:
                    break
                out.append(failed)
                todo = todo[len(done) + 1:]
        return out

    def _explain_text(self, st: Statement) -> Explained:
        """One statement's EXPLAIN with the hypothetical indexes as they are (its own read-only
        transaction, rolled back)."""
        done, failed = self._run([st])
        return failed if failed is not None else done[0]

    def _commands(self, st: Statement) -> list[Command]:
        """What costs one statement: EXPLAIN; for `$n`, PREPARE + EXPLAIN EXECUTE + DEALLOCATE.
        The statement text is data: only ever sent over the extended protocol."""
        if self._dead.get(st.text):
            return []
        if not st.params:
            return [Command(MARKER + load_fragment("whatif_explain") + " " + st.text, result=True)]
        return prepared_commands(st.text, "whatif_explain_execute", [sql.NULL] * st.params, name=PREPARED_NAME)

    def _run(self, sts: list[Statement], setup: Setup | None = None) -> tuple[list[Explained], Explained | None]:
        """Cost `sts` in one pipelined batch (after `setup`'s drops and creations, in the same
        round trip): the results of the statements costed, and the failure of the one that
        stopped the batch (None when all went through)."""
        self._settings()                  # force_generic_plan before any PREPARE
        if setup is not None and any(self._dead.get(st.text) for st in sts):
            self._set_up_alone(setup)
            setup = None
        pre = self._setup_commands(setup) if setup is not None else []
        commands: list[Command] = list(pre)
        owners: list[int] = [-1] * len(pre)   # per command: the position of its statement
        for k, st in enumerate(sts):
            mine = self._commands(st)
            if not mine:                  # planning it timed out before: never again
                if k == 0:
                    return [], Explained(cost=None, error=self._dead[st.text])
                return self._run(sts[:k])[0], Explained(cost=None, error=self._dead[st.text])
            commands += mine
            owners += [k] * len(mine)
        wanted = sum(1 for c in pre if c.result)
        try:
            docs = run_read_only(self.conn, commands)
        except BatchFailed as failed:
            if setup is not None and failed.index < len(pre):
                # HypoPG refused a definition: start afresh and create them one by one (`_create`)
                self._set_up_alone(setup, after_failure=True)
                return self._run(sts)
            if setup is not None and not self._set_up(setup, failed.results[:wanted]):
                return self._run(sts)
            k = owners[failed.index] if failed.index < len(owners) else len(sts) - 1
            if sts[k].params:
                self._forget_prepared()
            done = [self._explained(d) for d in failed.results[wanted:wanted + k]]
            return done, Explained(cost=None, error=self._failure(sts[k], failed.error))
        except psycopg.OperationalError as exc:
            raise ConnectionFailed(f"connection lost during what-if costing: {_first_line(exc)}") from None
        if setup is not None and not self._set_up(setup, docs[:wanted]):
            return self._run(sts)
        return [self._explained(d) for d in docs[wanted:]], None

    def _setup_commands(self, setup: Setup) -> list[Command]:
        """The drop and create commands of `setup` (perftool's own SQL, literals composed by psycopg)."""
        out = []
        if setup.extra:
            oids = "{" + ",".join(str(self._live[ix]) for ix in setup.extra) + "}"
            out.append(Command(sql.SQL(load("whatif_drop_in_batch")).format(oids=sql.Literal(oids))))
        if setup.missing:
            # ARRAY[<text literal>, …]: psycopg quotes each string in C; a list as one sql.Literal goes
            # through its Python array dumper, 7× slower (the stress case's 550 floor batches: 0.4 s)
            defs = sql.SQL(", ").join(sql.Literal(ix.hypothetical_sql()) for ix in setup.missing)
            out.append(Command(sql.SQL(load("whatif_create_in_batch")).format(definitions=defs), result=True))
        return out

    def _set_up(self, setup: Setup, results: list[Any]) -> bool:
        """Record what `setup` did in the batch (False: it did not create what it should have, and
        the indexes were set up again on their own)."""
        for ix in setup.extra:
            self._by_oid.pop(self._live.pop(ix), None)
        if setup.missing:
            rows = results[0] if results else None
            if isinstance(rows, str):
                rows = json.loads(rows)
            if not isinstance(rows, list) or len(rows) != len(setup.missing):
                self._set_up_alone(setup, after_failure=True)
                return False
            for ix, (oid, size) in zip(setup.missing, rows, strict=True):
                self._register(ix, {"oid": oid, "size_bytes": size})
        return True

    def _set_up_alone(self, setup: Setup, after_failure: bool = False) -> None:
        """Drop and create `setup`'s indexes in round trips of their own (after a failed batch: from
        a clean session, since the batch may have done part of it)."""
        if after_failure:
            self.reset()
        else:
            self._drop(setup.extra)
        self._create(sorted((ix for ix in setup.indexes if ix not in self._live and ix not in self.failed),
                            key=IndexDef.sort_key))

    def _forget_prepared(self) -> None:
        forget_prepared(self.conn, PREPARED_NAME)

    def _failure(self, st: Statement, exc: BaseException) -> str:
        """The skip reason for a statement the server refused; a timeout marks it dead."""
        if is_multiple_commands(exc):
            return MULTIPLE_COMMANDS
        if isinstance(exc, psycopg.errors.QueryCanceled):
            reason = (f"planning took longer than the statement timeout ({self._timeout}): "
                      "raise it with --statement-timeout")
            self._dead[st.text] = reason
            return reason
        return _first_line(exc)

    def _explained(self, doc) -> Explained:
        if isinstance(doc, str):
            doc = json.loads(doc)
        plan = doc[0]["Plan"] if isinstance(doc, list) else doc["Plan"]
        # with no hypothetical index live (the base costs) no plan can use one: no walk over its nodes
        used = frozenset(self._used(plan)) if self._by_oid else frozenset()
        return Explained(cost=float(plan["Total Cost"]), used=used, rows=_written_rows(plan))

    def _used(self, plan: dict) -> set[IndexDef]:
        out: set[IndexDef] = set()
        stack: list[Any] = [plan]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                name = node.get("Index Name")
                if isinstance(name, str) and name.startswith("<"):
                    try:
                        oid = int(name[1:name.index(">")])
                    except ValueError:
                        oid = -1
                    if oid in self._by_oid:
                        out.add(self._by_oid[oid])
                stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
            elif isinstance(node, list):
                stack.extend(node)
        return out


class _Twin:
    """A sibling session kept for the search (`WhatIf._explain_split`), with a WhatIf of its own set
    up as the owner's (its search_path, the what-if settings, what the owner knows of refused
    definitions and statements that time out), in one thread: opened in that thread, so the owner
    never waits for it (a batch before it is open is planned on the owner's session alone)."""

    def __init__(self, owner: WhatIf) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="perftool-whatif-twin")
        path = (fetch_one(owner.conn, "session_search_path") or {}).get("search_path")
        self._counted = (0, 0)
        dead, failed = dict(owner._dead), dict(owner.failed)
        self._opened: Future[WhatIf | None] = self._pool.submit(self._open, owner, path, dead, failed)

    @staticmethod
    def _open(owner: WhatIf, path: str | None, dead: dict[str, str], failed: dict[IndexDef, str]) -> WhatIf | None:
        conn = sibling(owner.conn)
        return owner._set_up_like(conn, path, dead, failed) if conn is not None else None

    def ready(self) -> WhatIf | None:
        """The twin's WhatIf once its session is open (None before, or when it could not be)."""
        if not self._opened.done() or self._opened.exception() is not None:
            return None
        return self._opened.result()

    def submit(self, work: Callable[[WhatIf], list[Explained]]) -> Future[list[Explained]]:
        other = self.ready()
        assert other is not None
        return self._pool.submit(work, other)

    def take_into(self, owner: WhatIf) -> None:
        """What the twin learnt, taken by its owner: sizes, refused definitions, timed-out
        statements, and its counts of hypothetical indexes created and resets."""
        other = self.ready()
        if other is None:
            return
        owner._learn_from(other)
        created, resets = other.stats.created, other.stats.resets
        owner.stats.created += created - self._counted[0]
        owner.stats.resets += resets - self._counted[1]
        self._counted = (created, resets)

    def close(self) -> None:
        def shut() -> None:
            other = self.ready()
            if other is not None:
                other.close()
                other.conn.close()

        self._pool.submit(shut)
        self._pool.shutdown(wait=True)


def _written_rows(plan: dict) -> float | None:
    """Rows an INSERT/UPDATE/DELETE plan writes: its ModifyTable's input rows."""
    if plan.get("Node Type") == "ModifyTable":
        children = plan.get("Plans") or []
        return float(children[0].get("Plan Rows", 0)) if children else float(plan.get("Plan Rows", 0))
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
