"""The index advisor's orchestration (`advise`, `recommend_report`): candidates from the workload's
predicates, whole-workload selection under a storage budget with HypoPG what-if costs, pruning,
and the report.

Algorithm (docs/advisor.md has the long form; each step's module says more):

1. **Analyse** every statement (`predicates.analyze`, `items.build_items`): per base-table access,
   its equality, range, join, ORDER BY and GROUP BY columns. Statements that cannot be used are
   *skipped* with a reason.
2. **Cost** each statement with no new index (`whatif.WhatIf`; generic plans for `$n`).
3. **Candidates** (`candidates.generate_candidates`), minus those an existing index covers; each
   statement's **floor**, its cost with all its own candidates (`costs.seed_floors`).
4. **Select** (`select.select`): the benefit-per-byte greedy with widening, pruning and refill
   (`greedy.GreedySearch` over a `costs.CostModel`), then the local search (`refine.LocalSearch`).
   With `--verify-on`, the GIN/GiST indexes measured on the staging copy then compete for
   `--budget` / `--max-indexes` with its picks (`select.with_fixed`: the selection re-run with
   what a measured index leaves, kept when the workload is cheaper that way).
5. **Verify**: every statement is costed once more with the whole recommended set, and those
   numbers (not the search's estimates) are reported (`report.build_report`).

Without HypoPG (`--no-whatif`) step 2 onwards is `heuristic.heuristic_advice`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from perftool.advisor.alternatives import literal_alternatives
from perftool.advisor.candidates import generate_candidates
from perftool.advisor.costs import seed_floors
from perftool.advisor.definitions import definition, name_book
from perftool.advisor.heuristic import heuristic_advice
from perftool.advisor.indexdef import IndexDef
from perftool.advisor.items import Item, build_items, explainable, set_weights, written_rows
from perftool.advisor.options import AdvisorOptions
from perftool.advisor.predicates import StatementKind
from perftool.advisor.report import AdvisorResult, Recommendation, build_report
from perftool.advisor.search_indexes import (
    Measured,
    add_search_indexes,
    fixed_candidates,
    measure_search_indexes,
    outcome_notes,
)
from perftool.advisor.select import FixedIndex, select, with_fixed
from perftool.advisor.whatif import WhatIf
from perftool.catalog.schema import Catalog, TableName, collect_catalog
from perftool.db.beside import Beside
from perftool.db.connect import connect, server_info, use_workload_search_path
from perftool.db.errors import MissingExtension, MissingPrivilege, UsageError
from perftool.db.privileges import grant_select, named, unexplainable_note, unexplainable_writes_note
from perftool.db.sql import execute, fetch_one
from perftool.gc_pause import gc_paused
from perftool.report.model import Report
from perftool.workload import sources as ws
from perftool.workload.sources import WorkloadStatement
from perftool.workload.statement_text import relation_names, release_trees, word_names

if TYPE_CHECKING:
    import psycopg

__all__ = ["AdvisorOptions", "AdvisorResult", "advise", "read_catalog", "recommend_report"]

READ_BESIDE_MIN_STATEMENTS = 200   # read_catalog reads the catalog beside the parse from this many statements …
READ_BESIDE_SAMPLE = 20             # … when the first 20 name at least 10 relations (a workload over many tables:
                                    # over a few, the words of 4,950 statements cost 34 ms for a read of 10 ms)
VERIFY_MAX_STATEMENTS = 1000    # up to this many statements the final plans see every recommended index

Progress = Callable[[str], None]


def read_catalog(conn: psycopg.Connection, statements: list[WorkloadStatement]) -> Catalog:
    """The advisor's scope of the catalog: the relations the statements name (and those their views
    use), with the tables' row writes; the statements parsed (and their parse cached) meanwhile.

    From READ_BESIDE_MIN_STATEMENTS statements on, the catalog is read on a sibling session (in
    `conn`'s search_path) while this thread parses, for every word of the statements
    (`statement_text.word_names`: a superset of the relations they name, found without parsing),
    then narrowed to what the parse finds they name (`Catalog.named`): the read need not wait for
    the parse (on 10,000 tables with 1,060 statements its server time is hidden behind it).
    Without a sibling, below that many statements or when the first READ_BESIDE_SAMPLE name few
    relations, the statements are parsed first and only the relations they name are read."""
    side: Beside[Catalog] | None = None
    sampled = {n for s in statements[:READ_BESIDE_SAMPLE] for _schema, n in relation_names(s.text)}
    if len(statements) >= READ_BESIDE_MIN_STATEMENTS and len(sampled) >= READ_BESIDE_SAMPLE // 2:
        words: set[str] = set()
        for s in statements:
            found = word_names(s.text)
            words |= found if found is not None else {n for _schema, n in relation_names(s.text)}
        side = Beside(conn)
        if side.available():
            path = (fetch_one(conn, "session_search_path") or {}).get("search_path")
            side.submit(lambda sibling: _catalog_of(sibling, words, search_path=path))
        else:
            side.close()
            side = None
    try:
        with gc_paused():       # the statements are parsed here: thousands of trees (see items.build_items)
            names = {name for s in statements for _schema, name in relation_names(s.text)}
        if side is not None:
            done, catalog = side.result()
            if done and catalog is not None:
                return catalog.named(names)     # what collect_catalog(names=names) reads
    finally:
        if side is not None:
            side.close()
    return _catalog_of(conn, names)


def _catalog_of(conn: psycopg.Connection, names: set[str], search_path: str | None = None) -> Catalog:
    if search_path is not None:     # a sibling: names resolve as on the advisor's session
        execute(conn, "session_search_path_restore", {"search_path": search_path})
    return collect_catalog(conn, names=names, bloat=False, sequences=False, definitions=False, writes=True,
                           exact_sizes=False)      # the advisor reads no table or index size


def advise(conn: psycopg.Connection, statements: list[WorkloadStatement], options: AdvisorOptions,
           *, progress: Progress | None = None, deadline_s: float | None = None) -> AdvisorResult:
    """Analyse, cost, select and verify. `conn` is a safe read-only session with HypoPG (unless
    `options.whatif` is off)."""
    t0 = time.perf_counter()
    say = progress or (lambda _m: None)
    use_workload_search_path(conn)      # names resolve as the application's would
    with gc_paused():   # one pause: the trees are still young when they are let go (release_trees)
        catalog = read_catalog(conn, statements)
        items = build_items(statements, catalog)
        release_trees()     # analysed: the parse trees are not needed again (their outlines stay cached)
    usable = [it for it in items if it.skip is None]
    say(f"{len(usable)} of {len(items)} statements analysable ({time.perf_counter() - t0:.1f} s)")
    if not options.whatif:
        result = heuristic_advice(conn, items, usable, catalog, options, t0)
        literal_alternatives(result.recommendations, usable, catalog, options.literals)
        result.notes += add_search_indexes(conn, result.recommendations, usable, catalog, options, progress=say)
        return result
    if not server_info(conn).has_extension("hypopg"):
        raise MissingExtension("extension hypopg is not installed in this database",
                               "run CREATE EXTENSION hypopg, or pass --no-whatif for an unverified heuristic ranking")
    role, major = conn.info.user, conn.info.server_version // 10000
    whatif = WhatIf(conn)
    whatif.stats.phase("parse statements, read catalog", started=t0)
    try:
        for it in usable:
            it.sid = whatif.add_statement(explainable(it.statement.text), it.tables, it.analysis.params)
        whatif.explain_all([it.costed_sid for it in usable])       # pipelined; explain() below reads the cache
        denied: dict[int, list[TableName]] = {}     # item position → tables it may not read
        denied_writes = 0                           # writes the role may not EXPLAIN (it may only read)
        for it in usable:
            sid = it.costed_sid
            ex = whatif.explain(sid, frozenset())
            if ex.cost is None:
                it.skip = f"EXPLAIN failed: {ex.error}"
                it.sid = None
                unreadable = unreadable_relations(it.statement.text, catalog)
                if unreadable:
                    denied[it.position] = unreadable
                elif (ex.error or "").lower().startswith("permission denied"):
                    if it.analysis.kind.writes:
                        denied_writes += 1
                    else:
                        denied[it.position] = []
                continue
            it.base = ex.cost
            it.written_rows = written_rows(it, ex.rows)
            whatif.relevance[sid] = it.relevant
        costed = [it for it in usable if it.skip is None]
        notes: list[str] = []
        tables = {t for ts in denied.values() for t in ts}
        if (denied or denied_writes) and not costed:
            raise MissingPrivilege(
                f"role {role!r} cannot EXPLAIN any statement of the workload: "
                + (f"no SELECT privilege on {named(tables)}" if tables else "permission denied"),
                (grant_select(tables, role, major) if tables else "docs/privileges.md")
                + " — or pass --no-whatif for an unverified heuristic ranking")
        if denied:
            notes.append(unexplainable_note(role, tables, len(denied), major))
        if denied_writes:
            notes.append(unexplainable_writes_note(role, denied_writes))
        usable = costed
        whatif.stats.phase("cost with no new index")
        set_weights(usable, options.weight)
        readers = [it for it in usable if it.analysis.accesses]
        writers = [it for it in usable if it.analysis.kind.writes and it.analysis.target is not None]
        notes += unseen_writes(conn, statements, usable, writers, catalog)
        candidates, covered = generate_candidates(readers, catalog, options.max_width, options.partial,
                                                 options.literals)
        say(f"{len(candidates)} candidate indexes, {len(covered)} already covered by existing indexes "
            f"({time.perf_counter() - t0:.1f} s)")
        whatif.stats.phase("candidates")
        table_floors = seed_floors(readers, whatif)
        whatif.prepare_sizes(candidates)
        candidates = [ix for ix in candidates if ix not in whatif.failed]
        whatif.stats.phase("floors and sizes")
        say(f"best cost per statement with its own candidates known ({time.perf_counter() - t0:.1f} s)")
        deadline = (time.perf_counter() + deadline_s) if deadline_s else None
        selector = select(readers, whatif, options, catalog, candidates, writers, deadline, started=t0,
                          table_floors=table_floors)
        whatif.stats.phase("local search")      # select() closed "greedy" before it
        measured: Measured | None = None
        kept_fixed: list[FixedIndex] = []
        if options.verify_on:       # GIN/GiST measured on the staging copy compete for --budget / --max-indexes
            measured = measure_search_indexes(conn, readers, catalog, options, say)
            whatif.stats.phase("--verify-on: built on the staging copy")
            fixed = fixed_candidates(measured, options, selector.model.penalty)
            selector, outcomes = with_fixed(selector, fixed, options, lambda narrower: select(
                readers, whatif, narrower, catalog, candidates, writers, deadline, started=t0,
                table_floors=table_floors, phase=None))
            outcome_notes(measured, outcomes, options)
            kept_fixed = [o.fixed for o in outcomes if o.kept]
            whatif.stats.phase("--verify-on in the selection")
        config = list(selector.config)
        say(f"{len(config)} indexes selected after {whatif.stats.explains} EXPLAINs ({time.perf_counter() - t0:.1f} s)")
        # verification: every statement planned with the whole recommended set on its tables (a
        # cached plan of that set stands: it was re-planned if it used an index kept as irrelevant);
        # on very large workloads, with the recommended indexes relevant to it (mostly cached)
        whole = len(usable) <= VERIFY_MAX_STATEMENTS
        if whole:
            whatif.explain_all([it.costed_sid for it in usable], frozenset(config))
        model = selector.model
        for it in usable:
            mine = set(it.tables)
            on_tables = (frozenset(ix for ix in config if ix.table_key in mine) if whole
                         else model.relevant_set(it, config))     # = those it.relevant() accepts
            ex = whatif.explain(it.costed_sid, on_tables)
            it.final = ex.cost if ex.cost is not None else it.base
            it.used = ex.used
        helped_by: dict[IndexDef, list[Item]] = {}
        for it in usable:
            for ix in it.used:
                helped_by.setdefault(ix, []).append(it)
        recs: list[Recommendation] = []
        ranked = sorted(((selector.model.marginal(ix)[0], ix) for ix in config),
                        key=lambda t: (-t[0], t[1].sort_key()))
        names = name_book(conn, [ix for _b, ix in ranked], catalog)   # the best-ranked keeps the plain name
        for benefit, ix in ranked:
            helped = helped_by.get(ix, [])
            recs.append(Recommendation(index=ix, size_bytes=selector.model.size(ix), benefit=benefit,
                                       definition=definition(ix, catalog, names), statements=helped))
        recs.sort(key=lambda r: (-r.benefit, r.index.sort_key()))
        literal_alternatives(recs, readers, catalog, options.literals, whatif.sizes_of,
                             lambda ix: definition(ix, catalog, names))
        notes += add_search_indexes(conn, recs, readers, catalog, options, names, progress=say, measured=measured)
        before = sum(it.weight * (it.base or 0.0) for it in usable)      # every costed statement has a base
        after = sum(it.weight * (it.final if it.final is not None else it.base or 0.0) for it in usable)
        after += sum(selector.model.penalty(ix) for ix in config) + sum(f.penalty for f in kept_fixed)
        whatif.stats.phase("verify, name, report")
        return AdvisorResult(items=items, recommendations=recs, cost_before=before, cost_after=after,
                             options=options, seconds=time.perf_counter() - t0, explains=whatif.stats.explains,
                             cache_hits=whatif.stats.cache_hits, covered=covered, selector=selector, notes=notes)
    finally:
        whatif.close()


def unreadable_relations(text: str, catalog: Catalog) -> list[TableName]:
    """The relations `text` names that this session may not read (EXPLAIN fails on them)."""
    out = []
    for schema, name in relation_names(text):
        t = catalog.resolve(schema, name)
        if t is not None and not t.can_select and t.key not in out:
            out.append(t.key)
    return out


def unseen_writes(conn: psycopg.Connection, statements: list[WorkloadStatement], usable: list[Item],
                  writers: list[Item], catalog: Catalog) -> list[str]:
    """Write volume the workload's statements do not show (COPY, evicted or unparsed statements):
    rows inserted or non-HOT-updated per pg_stat_user_tables, scaled to pg_stat_statements' time
    window, minus what the analysed INSERT/UPDATE statements write. Only for a pg_stat_statements
    workload (a file's statements have no time window to compare with) on PG14+, and only when
    both windows have a reset time (a database whose counters were never reset has none). Sets
    `TableInfo.unseen_write_rows` (in the workload's weighted cost units: with `--weight total_time`,
    rows × the workload's milliseconds per cost unit), which every index on that table pays."""
    if not statements or any(s.source != "pg_stat_statements" for s in statements):
        return []
    windows = fetch_one(conn, "advisor_stats_windows") or {}
    t_s, s_s = windows.get("tables_seconds"), windows.get("statements_seconds")
    if not t_s or not s_s or t_s <= 0:
        return []   # a window never reset (or PG13's pg_stat_statements): the counters cannot be compared
    scale = min(1.0, s_s / t_s)
    seen: dict[TableName, float] = {}
    for w in writers:
        if w.analysis.kind in (StatementKind.INSERT, StatementKind.UPDATE) and w.analysis.target is not None:
            rows = max(float(w.statement.calls), 0.0) * max(w.written_rows, 0.0)
            seen[w.analysis.target] = seen.get(w.analysis.target, 0.0) + rows
    per_call = sum(float(it.statement.calls) * (it.base or 0.0) for it in usable)
    unit = sum(it.weight * (it.base or 0.0) for it in usable) / per_call if per_call > 0 else 1.0
    notes = []
    for table in sorted(catalog.tables, key=lambda t: t.key):
        if table.kind not in ("r", "p", "m") or not table.writes:
            continue
        rows = (table.writes.get("n_tup_ins", 0) + table.writes.get("n_tup_upd", 0)
                - table.writes.get("n_tup_hot_upd", 0)) * scale
        extra = rows - seen.get(table.key, 0.0)
        if extra >= 1.0 and extra > 0.05 * rows:
            table.unseen_write_rows = extra * unit
            notes.append(f"write cost: {extra:,.0f} rows written to {table.qualified} by statements outside the "
                         "analysed workload (pg_stat_user_tables) weigh against indexes on it")
    return notes


def recommend_report(dsn: str, statements_from: dict[str, Any], options: AdvisorOptions,
                     progress: Progress | None = None) -> Report:
    """Library entry point: connect read-only, gather the workload, advise, build the Report.

    `statements_from`: {"files": [...], "queries": [...], "logs": [...]} — empty means
    pg_stat_statements of the connected database."""
    files = statements_from.get("files") or []
    queries = statements_from.get("queries") or []
    logs = statements_from.get("logs") or []
    statements: list[WorkloadStatement] = []
    sources: list[str] = []
    for f in files:
        statements += ws.from_file(f)
        sources.append("stdin" if str(f) == "-" else f"file:{f}")
    if queries:
        statements += ws.from_queries(queries)
        sources.append("query")
    for lg in logs:
        statements += ws.from_log(lg)
        sources.append(f"log:{lg}")
    with connect(dsn) as conn:
        info = server_info(conn)
        if not (files or queries or logs):
            statements = ws.from_stat_statements(conn, min_calls=options.min_calls)
            sources.append("pg_stat_statements")
        statements = ws.merge(statements)
        if not statements:
            raise UsageError("no statements to analyse",
                             "pass --from FILE, --query SQL or --log FILE, or run the workload first so "
                             "pg_stat_statements has entries")
        result = advise(conn, statements, options, progress=progress)
    return build_report(result, server=info.as_dict(), sources=sources)
