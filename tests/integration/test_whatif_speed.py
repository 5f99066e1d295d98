"""What-if costing's shortcuts on a real server with HypoPG (issue 15, item 5): a plan answers for
the index sets between the indexes it uses and the set it was planned with, and the session
plans without JIT. Each shortcut is checked against a fresh, strict EXPLAIN."""

from __future__ import annotations

import psycopg

from perftool.advisor.indexdef import IndexDef
from perftool.advisor.whatif import WhatIf
from perftool.db.connect import connect

SCHEMA = (
    "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL, status text NOT NULL, "
    "created_at timestamptz NOT NULL, total numeric NOT NULL)",
    "INSERT INTO orders SELECT g, g % 5000, (ARRAY['new','paid','sent','done'])[1 + g % 4], "
    "timestamptz '2026-01-01' + g * interval '1 minute', g % 997 FROM generate_series(1, 100000) g",
    "ALTER TABLE orders SET (autovacuum_enabled = off)",
    "VACUUM ANALYZE orders",
)
TABLE = ("public", "orders")


def _index(*columns: str) -> IndexDef:
    return IndexDef(schema="public", table="orders", columns=columns)


def _setup(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for s in SCHEMA:
            conn.execute(s)


def test_a_plan_answers_for_the_sets_between_its_used_indexes_and_its_planned_set(fresh_db):
    _setup(fresh_db)
    customer, status, created = _index("customer_id"), _index("status"), _index("created_at")
    with connect(fresh_db) as conn:
        whatif = WhatIf(conn)
        sid = whatif.add_statement("SELECT * FROM orders WHERE customer_id = 42", [TABLE])
        everything = whatif.explain(sid, frozenset({customer, status, created}))
        assert everything.used == frozenset({customer})
        explains = whatif.stats.explains
        derived = whatif.explain(sid, frozenset({customer, created}))     # used ⊆ K ⊆ planned
        assert whatif.stats.explains == explains and whatif.stats.derived == 1
        assert derived.cost == everything.cost
        assert whatif.explain(sid, frozenset({customer, created}), strict=True).cost == derived.cost
        # without the index the plan used, the plan does not answer: a real EXPLAIN, a dearer plan
        explains = whatif.stats.explains
        without = whatif.explain(sid, frozenset({status, created}))
        assert whatif.stats.explains == explains + 1 and whatif.stats.derived == 1
        assert without.cost is not None and without.cost > everything.cost
        whatif.close()


def test_an_index_a_plan_did_not_use_stays_in_place_and_the_next_plan_answers_for_it(fresh_db):
    """A relevant index an earlier plan of the statement had and did not use is left in place
    while the statement is planned under another set (not dropped): that plan then answers for
    the set with it too, with the cost a strict EXPLAIN gives."""
    _setup(fresh_db)
    customer, status, created = _index("customer_id"), _index("status"), _index("created_at")
    with connect(fresh_db) as conn:
        whatif = WhatIf(conn)
        sid = whatif.add_statement("SELECT * FROM orders WHERE customer_id = 42 AND status = 'new'", [TABLE])
        whatif.relevance[sid] = lambda ix: True
        first = whatif.explain(sid, frozenset({customer, status}))
        assert first.used == frozenset({customer})            # status: present, not used
        second = whatif.explain(sid, frozenset({customer, created}))
        assert second.used == frozenset({customer})
        explains = whatif.stats.explains
        both = whatif.explain(sid, frozenset({customer, status, created}))
        assert whatif.stats.explains == explains              # planned with status still in place
        assert both.cost == whatif.explain(sid, frozenset({customer, status, created}), strict=True).cost
        assert second.cost == whatif.explain(sid, frozenset({customer, created}), strict=True).cost
        whatif.close()


def test_the_baseline_can_turn_plan_reuse_off(fresh_db):
    _setup(fresh_db)
    customer, status = _index("customer_id"), _index("status")
    with connect(fresh_db) as conn:
        whatif = WhatIf(conn, reuse_plans=False)
        sid = whatif.add_statement("SELECT * FROM orders WHERE customer_id = 42", [TABLE])
        whatif.explain(sid, frozenset({customer, status}))
        whatif.explain(sid, frozenset({customer}))
        assert whatif.stats.derived == 0 and whatif.stats.explains == 2
        whatif.close()


def test_floor_batches_answer_for_their_subsets(fresh_db):
    """explain_superset (the floors) plans with many indexes at once; its plans answer later sets."""
    _setup(fresh_db)
    customer, status, created = _index("customer_id"), _index("status"), _index("created_at")
    with connect(fresh_db) as conn:
        whatif = WhatIf(conn)
        sid = whatif.add_statement("SELECT * FROM orders WHERE customer_id = 42 AND status = 'new'", [TABLE])
        [floor] = whatif.explain_superset([sid], [customer, status, created])
        explains = whatif.stats.explains
        got = whatif.explain(sid, frozenset(floor.used | {created}))
        assert whatif.stats.explains == explains and got.cost == floor.cost
        whatif.close()


def test_the_what_if_session_plans_without_jit_and_the_costs_do_not_move(fresh_db):
    """JIT compiles a plan's expressions even for a plain EXPLAIN (milliseconds per statement);
    the session turns it off, and the planner's cost is the same either way."""
    _setup(fresh_db)
    text = "SELECT status, sum(total) FROM orders WHERE created_at > now() - interval '1 year' GROUP BY status"
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("SET jit_above_cost = 0")
        with_jit = conn.execute("EXPLAIN (FORMAT JSON) " + text).fetchone()[0][0]["Plan"]["Total Cost"]
    with connect(fresh_db) as conn:
        conn.execute("SET jit_above_cost = 0")
        whatif = WhatIf(conn)
        sid = whatif.add_statement(text, [TABLE])
        assert whatif.cost(sid) == with_jit
        assert conn.execute("SELECT current_setting('jit')").fetchone()[0] == "off"
        whatif.close()


def test_advise_records_where_its_time_goes(fresh_db):
    """The phases `make bench` prints: in order, and their EXPLAINs add up to the run's."""
    from perftool.advisor.pipeline import AdvisorOptions, advise
    from perftool.workload.sources import WorkloadStatement

    _setup(fresh_db)
    statements = [WorkloadStatement(text="SELECT * FROM orders WHERE customer_id = 42", source="file"),
                  WorkloadStatement(text="SELECT * FROM orders WHERE status = 'new' ORDER BY created_at LIMIT 10",
                                    source="file")]
    with connect(fresh_db) as conn:
        result = advise(conn, statements, AdvisorOptions())
    stats = result.selector.model.oracle.stats
    assert [p.name for p in stats.phases] == ["parse statements, read catalog", "cost with no new index",
                                              "candidates", "floors and sizes", "greedy", "local search",
                                              "verify, name, report"]
    assert sum(p.explains for p in stats.phases) == stats.explains == result.explains
    assert stats.phases[1].explains == 2 and all(p.seconds >= 0 for p in stats.phases)
    assert abs(sum(p.seconds for p in stats.phases) - result.seconds) < 0.05



def _live_on_server(conn) -> set[int]:
    return {int(r[0]) for r in conn.execute("SELECT indexrelid FROM hypopg_list_indexes").fetchall()}


def _costs(conn, sets) -> list[tuple[float | None, frozenset[IndexDef]]]:
    whatif = WhatIf(conn)
    sid = whatif.add_statement("SELECT * FROM orders WHERE customer_id = 42 AND status = 'new'", [TABLE])
    other = whatif.add_statement("SELECT * FROM orders WHERE created_at > $1 ORDER BY created_at LIMIT 5",
                                 [TABLE], params=1)
    out = []
    for s in sets:
        for statement in (sid, other):
            ex = whatif.explain(statement, s, strict=True)
            out.append((ex.cost, ex.used))
            assert _live_on_server(conn) == set(whatif._live.values())
    whatif.close()
    return out


def test_index_changes_ride_in_the_explain_round_trip(fresh_db, monkeypatch):
    """Costing under another index set drops and creates hypothetical indexes in the EXPLAIN's own
    round trip (no whatif_create / whatif_drop of their own), with the same costs and used indexes
    as when they are set up in round trips of their own, and the session's bookkeeping matches the
    server's hypothetical indexes."""
    from perftool.advisor import whatif as module

    _setup(fresh_db)
    customer, status, created = _index("customer_id"), _index("status"), _index("created_at")
    sets = [frozenset({customer}), frozenset({status, created}), frozenset({customer, status, created}),
            frozenset(), frozenset({created})]
    own: list[str] = []
    real_fetch_all, real_execute = module.fetch_all, module.execute
    monkeypatch.setattr(module, "fetch_all",
                        lambda conn, name, *a, **k: own.append(name) or real_fetch_all(conn, name, *a, **k))
    monkeypatch.setattr(module, "execute",
                        lambda conn, name, *a, **k: own.append(name) or real_execute(conn, name, *a, **k))
    with connect(fresh_db) as conn:
        batched = _costs(conn, sets)
    assert "whatif_create" not in own and "whatif_drop" not in own
    monkeypatch.setattr(module, "CREATE_IN_BATCH", 0)     # the old way: a round trip per change
    own.clear()
    with connect(fresh_db) as conn:
        alone = _costs(conn, sets)
    assert "whatif_create" in own and "whatif_drop" in own
    assert batched == alone
    assert batched[0][1] == frozenset({customer}) and batched[2][1] == frozenset({status})   # the plans saw them
    assert batched[6] == (batched[6][0], frozenset()) and batched[7][1] == frozenset()


def test_a_definition_hypopg_refuses_in_the_batch_is_set_aside(fresh_db):
    """One bad definition fails the batch that would create it: the session starts afresh, creates
    the indexes one by one (the bad one recorded in `failed`), and the EXPLAIN still runs."""
    _setup(fresh_db)
    customer, bad = _index("customer_id"), _index("no_such_column")
    with connect(fresh_db) as conn:
        whatif = WhatIf(conn)
        sid = whatif.add_statement("SELECT * FROM orders WHERE customer_id = 42", [TABLE])
        got = whatif.explain(sid, frozenset({customer, bad}))
        assert got.cost is not None and got.used == frozenset({customer})
        assert bad in whatif.failed and customer in whatif._live
        assert _live_on_server(conn) == set(whatif._live.values())
        assert whatif.explain(sid, frozenset({customer}), strict=True).cost == got.cost
        whatif.close()


def test_a_statement_that_fails_after_the_batch_set_up_its_indexes_keeps_the_bookkeeping(fresh_db):
    """The indexes are created in the batch, then the EXPLAIN fails: the failure is the statement's
    alone, the indexes count as created, and the next statement is planned with them."""
    _setup(fresh_db)
    customer = _index("customer_id")
    with connect(fresh_db) as conn:
        whatif = WhatIf(conn)
        bad = whatif.add_statement("SELECT no_such_column FROM orders WHERE customer_id = $1", [TABLE], params=1)
        good = whatif.add_statement("SELECT * FROM orders WHERE customer_id = 42", [TABLE])
        failed = whatif.explain(bad, frozenset({customer}))
        assert failed.cost is None and "no_such_column" in (failed.error or "")
        assert customer in whatif._live and _live_on_server(conn) == set(whatif._live.values())
        created = whatif.stats.created
        ok = whatif.explain(good, frozenset({customer}))
        assert ok.used == frozenset({customer}) and whatif.stats.created == created   # nothing made twice
        assert conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()[0] == 0
        whatif.close()


def _live_definitions(conn) -> set[int]:
    """The OIDs of the session's hypothetical indexes (HypoPG's own list)."""
    from perftool.db.sql import fetch_all

    return {int(r["oid"]) for r in fetch_all(conn, "whatif_list")}


def test_consecutive_floor_batches_create_only_their_difference(fresh_db):
    """The floors' batches drop and create only what differs from the batch before (in the
    round trip of their EXPLAINs), and each EXPLAIN sees exactly its batch's indexes."""
    _setup(fresh_db)
    customer, status, created, total = _index("customer_id"), _index("status"), _index("created_at"), _index("total")
    with connect(fresh_db) as conn:
        whatif = WhatIf(conn)
        sid = whatif.add_statement("SELECT * FROM orders WHERE customer_id = 42 AND total = 5", [TABLE])
        [first] = whatif.explain_superset([sid], [customer, status])
        created_before = whatif.stats.created
        [second] = whatif.explain_superset([sid], [status, total, created])
        assert whatif.stats.created == created_before + 2          # total and created_at; status stays
        assert set(whatif._live) == {status, total, created}
        assert len(_live_definitions(conn)) == 3                   # customer_id's is gone from the session
        assert first.used == frozenset({customer}) and second.used <= frozenset({total, status, created})
        strict = whatif.explain(sid, frozenset({status, total, created}), strict=True)
        assert second.cost == strict.cost
        whatif.reset()
        assert not _live_definitions(conn)
        whatif.close()


def test_a_reset_for_hypopgs_oid_range_keeps_the_indexes_a_statement_needs(fresh_db):
    """When the OID range is nearly used up the session resets before creating: the indexes that
    were live and are still wanted are created again, not lost (the planner would miss them)."""
    _setup(fresh_db)
    customer, status, created = _index("customer_id"), _index("status"), _index("created_at")
    with connect(fresh_db) as conn:
        whatif = WhatIf(conn, reset_every=2)
        sid = whatif.add_statement("SELECT * FROM orders WHERE customer_id = 42 AND status = 'new'", [TABLE])
        whatif.ensure(frozenset({customer, status}), frozenset({TABLE}))
        whatif.ensure(frozenset({customer, status, created}), frozenset({TABLE}))    # 3 > 2: reset first
        assert whatif.stats.resets >= 1
        assert set(whatif._live) == {customer, status, created} and len(_live_definitions(conn)) == 3
        got = whatif.explain(sid, frozenset({customer, status, created}))
        assert got.used and got.used <= frozenset({customer, status})
        whatif.close()


def test_explain_all_costs_statements_over_many_tables_in_one_stream(fresh_db, monkeypatch):
    """`explain_all` pipelines statements that read different tables together (one round trip
    here, where grouping by tables took one per table), and each is costed as if alone: the same
    cost and used indexes as a strict EXPLAIN with only the indexes on its own tables."""
    from perftool.advisor import whatif as module

    _setup(fresh_db)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        for t in ("a", "b", "c"):
            conn.execute(f"CREATE TABLE {t} (id int PRIMARY KEY, k int NOT NULL, v int NOT NULL)")
            conn.execute(f"INSERT INTO {t} SELECT g, g % 1000, g % 7 FROM generate_series(1, 50000) g")
            conn.execute(f"VACUUM ANALYZE {t}")
    ks = {t: IndexDef(schema="public", table=t, columns=("k",)) for t in ("a", "b", "c")}
    customer = _index("customer_id")
    texts = [("SELECT * FROM a WHERE k = 5", [("public", "a")]),
             ("SELECT * FROM b WHERE k = $1", [("public", "b")]),
             ("SELECT * FROM c WHERE v = 3", [("public", "c")]),
             ("SELECT * FROM a JOIN b USING (id) WHERE a.k = 7 AND b.v = 1", [("public", "a"), ("public", "b")]),
             ("SELECT * FROM orders WHERE customer_id = 42", [TABLE])]
    everything = frozenset({*ks.values(), customer})
    trips = []
    real = module.run_read_only
    monkeypatch.setattr(module, "run_read_only", lambda conn, commands: trips.append(len(commands)) or real(conn, commands))
    with connect(fresh_db) as conn:
        whatif = WhatIf(conn)
        sids = [whatif.add_statement(text, tables, params=text.count("$")) for text, tables in texts]
        whatif.explain_all(sids, everything)
        assert len(trips) == 1 and whatif.stats.explains == len(sids)
        batched = [whatif.explain(sid, frozenset(ix for ix in everything if ix.table_key in set(tables)))
                   for sid, (_text, tables) in zip(sids, texts, strict=True)]
        assert len(trips) == 1      # answered from the cache
        alone = [whatif.explain(sid, frozenset(ix for ix in everything if ix.table_key in set(tables)), strict=True)
                 for sid, (_text, tables) in zip(sids, texts, strict=True)]
        whatif.close()
    assert [(b.cost, b.used) for b in batched] == [(a.cost, a.used) for a in alone]
    assert batched[0].used == {ks["a"]} and batched[4].used == {customer}    # the plans saw their indexes
    assert batched[2].used == frozenset()       # c.v has no index: c.k's is not one it can use


def _base_costs(dsn: str, texts: list[str]) -> tuple[list[tuple], WhatIf]:
    with connect(dsn) as conn:
        conn.execute("SET search_path = app, public")
        whatif = WhatIf(conn)
        sids = [whatif.add_statement(t, [TABLE], t.count("$")) for t in texts]
        whatif.explain_all(sids)
        return [(whatif.cache[(s, frozenset())].cost, whatif.cache[(s, frozenset())].error,
                 whatif.cache[(s, frozenset())].rows) for s in sids], whatif


def test_a_large_batch_of_base_costs_is_planned_on_two_sessions_alike(fresh_db, monkeypatch):
    """Base costs (no hypothetical index) of many statements: half planned on a sibling session
    set up as the first (its search_path and what-if settings), the same costs and errors as on
    one session; a sibling that fails leaves its half to the first session."""
    from perftool.advisor import whatif as whatif_module

    _setup(fresh_db)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA app")
        conn.execute("CREATE TABLE app.orders (id bigint, customer_id int)")     # first in the search_path
    texts = [f"SELECT * FROM orders WHERE customer_id = {k}" for k in range(6)]
    texts += ["SELECT * FROM orders WHERE id = $1", "SELECT * FROM nowhere", "SELECT * FROM orders WHERE status = 'x'",
              "UPDATE orders SET customer_id = $1 WHERE id = $2"]
    alone, _ = _base_costs(fresh_db, texts)
    assert alone[7][1] and "nowhere" in alone[7][1] and all(c is not None for c, _e, _r in alone[:7])
    monkeypatch.setattr(whatif_module, "SPLIT_MIN", 4)
    planned = _spied(monkeypatch, "_plan_beside")
    split, w = _base_costs(fresh_db, texts)
    assert planned == [len(texts) - len(texts) // 2] and split == alone and w.stats.explains == len(texts)
    monkeypatch.setattr(whatif_module.WhatIf, "_plan_beside", _failing_sibling)
    assert _base_costs(fresh_db, texts)[0] == alone


def _spied(monkeypatch, name: str) -> list[int]:
    """How many statements or groups each call of WhatIf.`name` handed to a sibling."""
    from perftool.advisor import whatif as whatif_module

    handed: list[int] = []
    orig = getattr(whatif_module.WhatIf, name)

    def spy(self, work):
        handed.append(len(work))
        return orig(self, work)

    monkeypatch.setattr(whatif_module.WhatIf, name, spy)
    return handed


def _failing_sibling(self, _work):
    """A sibling whose work fails (in place of WhatIf._plan_beside / _supersets_beside)."""
    from perftool.advisor import whatif as whatif_module

    side = whatif_module.Beside(self.conn)
    side.submit(lambda sibling: sibling.execute("SELECT 1/0"))
    return side


def test_groups_of_hypothetical_indexes_are_planned_on_two_sessions_alike(fresh_db, monkeypatch):
    """The floors' groups (`explain_supersets`): the later half planned on a sibling session with
    hypothetical indexes of its own gives the same costs, used indexes and sizes as one session;
    a definition HypoPG refuses there is known here; a failing sibling leaves its groups here."""
    from perftool.advisor import whatif as whatif_module

    _setup(fresh_db)
    customer, status, created, total = (_index("customer_id"), _index("status"), _index("created_at"),
                                        _index("total"))
    bad = IndexDef(schema="public", table="orders", columns=("no_such_column",))
    texts = ["SELECT * FROM orders WHERE customer_id = 42", "SELECT * FROM orders WHERE status = 'paid'",
             "SELECT id FROM orders WHERE created_at > now() - interval '1 day'",
             "SELECT * FROM orders WHERE total = 5 AND status = 'new'"]
    groups_of = [(0, {customer, status}), (1, {status}), (2, {created, customer}), (3, {total, status, bad})]

    def run() -> tuple[list, dict, set]:
        with connect(fresh_db) as conn:
            whatif = WhatIf(conn)
            sids = [whatif.add_statement(t, [TABLE]) for t in texts]
            out = whatif.explain_supersets([([sids[k]], frozenset(ix)) for k, ix in groups_of])
            whatif.reset()
            return ([[(e.cost, e.used) for e in group] for group in out], dict(whatif.sizes), set(whatif.failed))

    alone = run()
    assert all(c is not None for group in alone[0] for c, _u in group) and bad in alone[2]
    assert alone[0][0][0][1] == {customer} and alone[0][2][0][1] == {created}
    monkeypatch.setattr(whatif_module, "SPLIT_MIN", 2)
    sides = _spied(monkeypatch, "_supersets_beside")
    assert run() == alone and sides == [2]
    monkeypatch.setattr(whatif_module.WhatIf, "_supersets_beside", _failing_sibling)
    assert run() == alone


def test_the_searchs_large_batches_are_planned_half_on_a_twin_session_alike(fresh_db, monkeypatch):
    """The search's EXPLAIN batches (`prefetch`) from TWIN_MIN statements: the later half planned
    on a twin session kept for the search, with the configuration made live there too — the same
    costs, used indexes, sizes and refused definitions as on one session, over successive
    configurations; a twin that fails leaves the batch (and the rest) to the first session."""
    from perftool.advisor import whatif as whatif_module

    _setup(fresh_db)
    customer, status, created, total = (_index("customer_id"), _index("status"), _index("created_at"),
                                        _index("total"))
    bad = IndexDef(schema="public", table="orders", columns=("no_such_column",))
    texts = [f"SELECT * FROM orders WHERE customer_id = {k}" for k in range(3)]
    texts += ["SELECT * FROM orders WHERE status = 'paid'", "SELECT id FROM orders WHERE created_at > $1",
              "SELECT * FROM orders WHERE total = 5 AND status = 'new'", "SELECT * FROM nowhere",
              "SELECT * FROM orders WHERE customer_id = 7 AND created_at > now() - interval '1 day'"]
    configs = [frozenset({customer, status}), frozenset({customer, status, created, bad}),
               frozenset({total, created}), frozenset({customer, status, created, total})]

    def run(twin: bool, fail: bool = False) -> tuple[list, dict, set, int]:
        with connect(fresh_db) as conn:
            whatif = WhatIf(conn, twin=twin)
            sids = [whatif.add_statement(t, [TABLE], t.count("$")) for t in texts]
            if twin:        # opened at once (in the search, the batches before it opens run here)
                whatif._twin = whatif_module._Twin(whatif)
                assert whatif._twin._opened.result() is not None
                if fail:        # its session gone: its first batch fails
                    whatif._twin.ready().conn.close()
            seen = []
            for config in configs:
                whatif.prefetch([(sid, config) for sid in sids], config)
                seen.append([(whatif.cache[(sid, config)].cost, whatif.cache[(sid, config)].used,
                              whatif.cache[(sid, config)].error is not None) if (sid, config) in whatif.cache
                             else None for sid in sids])
            twinned = whatif._twin is not None and whatif.twin
            whatif.close()
            return seen, dict(whatif.sizes), set(whatif.failed), twinned

    alone = run(twin=False)
    assert bad in alone[2] and alone[1][customer] > 0
    assert alone[0][0][0][1] == {customer} and alone[0][0][3][1] == {status}
    monkeypatch.setattr(whatif_module, "TWIN_MIN", 4)
    handed: list[int] = []
    orig = whatif_module._Twin.submit
    monkeypatch.setattr(whatif_module._Twin, "submit", lambda self, work: handed.append(1) or orig(self, work))
    twinned = run(twin=True)
    assert twinned[:3] == alone[:3] and twinned[3] and len(handed) == len(configs)
    failed = run(twin=True, fail=True)
    assert failed[:3] == alone[:3] and not failed[3]     # the twin was given up after its first failure
