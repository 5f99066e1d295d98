"""GIN and GiST recommendations from the predicate shapes that need them (`predicates.Search`).

HypoPG costs btree, BRIN and hash indexes but refuses GIN and GiST (`hypopg: access method "gin"
is not supported`), so these are recommended from the pattern alone, with a size estimated here
(`estimated_size`), marked **unverified**, and kept out of the budgeted what-if selection. With
`--verify-on DSN` (a staging copy) each one is built for real inside a rolled-back transaction and
the statements are costed with it (`verify.verify_on`): then it is verified, with the measured
before → after and its real size, and competes inside the budgeted selection on those
(`fixed_candidates` → `select.with_fixed`: it may displace what-if picks when the workload is
cheaper that way).

| shape | column type | index |
|---|---|---|
| `tsv @@ q` | tsvector | GIN (tsv) |
| `to_tsvector('cfg', body) @@ q` | text | GIN ((to_tsvector('cfg'::regconfig, body))) |
| `data @> …`, `data ? k`, `?|`, `?&` | jsonb | GIN (data) |
| `tags @> …`, `<@`, `&&` | array | GIN (tags) |
| `title LIKE '%abc%'`, `ILIKE '%abc%'` | text | GIN (title gin_trgm_ops) — pg_trgm installed or installable |
| `ST_DWithin(geom, …)`, `ST_Intersects`, `ST_Contains` …, `geom && …` | geometry | GiST (geom) |
| `ST_DWithin(geog, …)`, `ST_Intersects`, `ST_Covers`, `ST_CoveredBy`, `geog && …` | geography | GiST (geog) |
| `ORDER BY geom <-> const LIMIT n` (nearest neighbours) | geometry, geography | GiST (geom) |
| `during && …`, `@>`, `<@` | range, multirange | GiST (during) |

PostGIS (3.x; checked on the server in tests/integration/test_advisor_postgis.py): the planner uses
a GiST index on a geometry column for the functions of `predicates.SPATIAL_FUNCTIONS` (either
geometry argument, through PostGIS's index support function) and for `&&` on either side, when the
other arguments (the other geometry, the distance) do not read the same table. It does not for
`ST_Distance(geom, …) < d` (write `ST_DWithin`), `ST_Disjoint`, a function of the column
(`ST_Buffer(geom, 1) && …`, `geom::geography`), or `geom = …` (geometry equality is a btree
operator: HypoPG costs that one). geography has only the functions listed above.

`LIKE 'abc%'` is no trigram case: a btree serves it (with `text_pattern_ops` under a collation
other than C, see candidates.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from perftool.advisor.candidates import PAGE
from perftool.advisor.definitions import NameBook, definition
from perftool.advisor.indexdef import IndexDef
from perftool.advisor.items import Item
from perftool.advisor.options import AdvisorOptions
from perftool.advisor.predicates import Access, Search, is_expression
from perftool.advisor.report import Recommendation
from perftool.advisor.select import FixedIndex, FixedOutcome
from perftool.advisor.verify import verify_on
from perftool.catalog.schema import Catalog, ColumnInfo, TableInfo
from perftool.db.connect import server_info

if TYPE_CHECKING:
    import psycopg

TRGM = "pg_trgm"
SPATIAL_NAMES = {n.lower(): n for n in ("ST_DWithin", "ST_Intersects", "ST_Contains", "ST_Within", "ST_Covers",
                                        "ST_CoveredBy", "ST_Overlaps", "ST_Touches", "ST_Crosses", "ST_DFullyWithin",
                                        "ST_Equals", "ST_ContainsProperly", "ST_3DIntersects", "ST_3DDWithin",
                                        "ST_3DDFullyWithin")}
# geography has these (ST_Contains, ST_Within … exist for geometry only)
GEOGRAPHY_FUNCTIONS = frozenset({"st_dwithin", "st_intersects", "st_covers", "st_coveredby"})
# GiST bytes per row, measured (--verify-on) on 60,000 rows (PostgreSQL 15, PostGIS 3.3): geometry
# 43 whatever the shape (a 2-D float box per entry, sorted build), geography 70-78 (a 3-D box,
# built by insertion), a tstzrange 81 (its avg_width 22 + 60)
GIST_PER_ROW = {"geometry": 44.0, "geography": 76.0}


@dataclass
class SearchIndex:
    """A GIN or GiST index for some statements' search predicates."""

    index: IndexDef
    shape: str                      # what needs it, for people: "tsvector @@", "jsonb @>", "LIKE '%…%'" …
    statements: list[Item] = field(default_factory=list)
    extension: str | None = None    # pg_trgm when the operator class comes from it
    extension_installed: bool = True


def _source(table: TableInfo, access: Access, s: Search) -> ColumnInfo | None:
    return table.columns.get(s.columns[0]) if len(s.columns) == 1 else None


def index_for(s: Search, access: Access, table: TableInfo, extensions: dict[str, bool]
              ) -> tuple[IndexDef, str, str | None] | None:
    """The index that serves `s` (method, operator class), what needs it, and the extension it
    needs; None when no index type does (or pg_trgm is not available)."""
    info = _source(table, access, s)
    if info is None:
        return None

    def make(method: str, opclass: str = "") -> IndexDef:
        return IndexDef(schema=table.schema, table=table.name, columns=(s.key,), method=method,
                        opclasses=(opclass,) if opclass else ())

    op, base, category = s.operator, info.base_type, info.category
    if op == "@@":
        if is_expression(s.key) and category == "S":
            return make("gin"), "to_tsvector(…) @@ tsquery", None
        if not is_expression(s.key) and base == "tsvector":
            return make("gin"), "tsvector @@ tsquery", None
        return None
    if is_expression(s.key):
        return None
    if op in ("@>", "?", "?|", "?&") and base == "jsonb":
        return make("gin"), f"jsonb {op}", None
    if op in ("@>", "<@", "&&") and category == "A":
        return make("gin"), f"array {op}", None
    if op in ("@>", "<@", "&&") and category == "R":
        return make("gist"), f"range {op}", None
    if op == "<->" and base in ("geometry", "geography"):
        return make("gist"), f"{base} ORDER BY <-> LIMIT", None
    if base == "geometry" and (op == "&&" or op in SPATIAL_NAMES) or \
            base == "geography" and (op == "&&" or op in GEOGRAPHY_FUNCTIONS):
        return make("gist"), f"{base} {SPATIAL_NAMES.get(op, op)}", None
    if op in ("LIKE", "ILIKE") and category == "S" and TRGM in extensions:
        return make("gin", "gin_trgm_ops"), f"{op} '%…%'", TRGM
    return None


def _existing(table: TableInfo, ix: IndexDef, access: Access) -> str | None:
    """An existing valid index of the same method on the same column or expression's column."""
    cols = access.expressions[ix.columns[0]].columns if is_expression(ix.columns[0]) else ix.columns[:1]
    for info in table.indexes:
        if not info.is_valid or info.method != ix.method or info.predicate or not info.columns:
            continue
        first = info.columns[0]
        if is_expression(ix.columns[0]):
            if first.name is None and "to_tsvector" in first.definition and cols[0] in first.definition:
                return info.name
        elif first.name == cols[0] and (first.opclass_default or ix.opclass(0) == first.opclass):
            return info.name
    return None


def search_indexes(items: list[Item], catalog: Catalog, extensions: dict[str, bool]
                   ) -> tuple[list[SearchIndex], dict[IndexDef, str]]:
    """The GIN/GiST indexes the statements' search predicates need (deterministic order), and
    those an existing index already provides (index → its name). `extensions`: name →
    installed (False: available to CREATE EXTENSION)."""
    found: dict[IndexDef, SearchIndex] = {}
    covered: dict[IndexDef, str] = {}
    for it in items:
        for acc in it.analysis.accesses:
            table = catalog.get(acc.table)
            if table is None:
                continue
            for s in acc.searches:
                got = index_for(s, acc, table, extensions)
                if got is None:
                    continue
                ix, shape, ext = got
                if ix in covered:
                    continue
                cover = _existing(table, ix, acc)
                if cover is not None:
                    covered[ix] = cover
                    continue
                entry = found.get(ix)
                if entry is None:
                    entry = found[ix] = SearchIndex(ix, shape, extension=ext,
                                                    extension_installed=extensions.get(ext, True) if ext else True)
                if shape not in entry.shape.split(", "):
                    entry.shape += f", {shape}"     # several shapes: "geometry ST_DWithin, geometry &&"
                if it not in entry.statements:
                    entry.statements.append(it)
    return sorted(found.values(), key=lambda e: e.index.sort_key()), covered


def estimated_size(entry: SearchIndex, table: TableInfo) -> int:
    """A rough size for an index HypoPG cannot make: non-null rows × bytes per row, from the
    column's average width (pg_stats). Bytes per row, calibrated on the sandbox (60,000 rows, the
    test table of tests/integration/test_advisor_index_types.py, measured with --verify-on; within
    about 2× there): GIN trigram 2.9 × (width + 2), to_tsvector(text) 2.25 × width, tsvector
    1.25 × width, jsonb 1.5 × width, array 0.5 × width; GiST: `GIST_PER_ROW` for PostGIS types
    (within 10 % of the real size there), 60 bytes (a range's tuple header and page share) plus its
    width for a range. Verified sizes (--verify-on) replace it."""
    ix = entry.index
    col = ix.columns[0]
    source = col
    if is_expression(col):
        for it in entry.statements:
            for acc in it.analysis.accesses:
                if col in acc.expressions:
                    source = acc.expressions[col].columns[0]
    info = table.columns.get(source)
    width = float(info.avg_width or 32) if info is not None else 32.0
    rows = max(table.reltuples, 1.0) * (1.0 - ((info.null_frac or 0.0) if info is not None else 0.0))
    if ix.method == "gist":
        per_row = GIST_PER_ROW.get(info.base_type, 60.0 + width) if info is not None else 60.0
    elif ix.opclass(0) == "gin_trgm_ops":
        per_row = 2.9 * (width + 2)
    elif entry.shape.startswith("to_tsvector"):
        per_row = 2.25 * width
    elif entry.shape.startswith("tsvector"):
        per_row = 1.25 * width
    elif entry.shape.startswith("jsonb"):
        per_row = 1.5 * width
    else:
        per_row = 0.5 * width
    return int(max(PAGE * 2, rows * max(per_row, 4.0) + PAGE * math.ceil(rows / 50_000)))


def extension_states(installed: dict[str, str] | set[str], available: set[str]) -> dict[str, bool]:
    """name → installed (True) or only available to CREATE EXTENSION (False)."""
    return {**{n: False for n in available}, **{n: True for n in installed}}


def search_recommendations(items: list[Item], catalog: Catalog, extensions: dict[str, bool],
                           names: NameBook | None = None) -> tuple[list[Recommendation], list[str]]:
    """The unverified GIN/GiST recommendations of `items` and the report's notes about them."""
    entries, covered = search_indexes(items, catalog, extensions)
    recs: list[Recommendation] = []
    for e in entries:
        table = catalog.get(e.index.table_key)
        if table is None:
            continue
        text = definition(e.index, catalog, names)
        ext = ""
        if e.extension:
            if e.extension_installed:
                ext = f"needs {e.extension} (installed)"
            else:
                ext = f"needs {e.extension} (not installed, available: CREATE EXTENSION {e.extension} first)"
                text = f"CREATE EXTENSION IF NOT EXISTS {e.extension};\n" + text
        recs.append(Recommendation(
            index=e.index, size_bytes=estimated_size(e, table), benefit=0.0, definition=text,
            statements=e.statements, verified=False, shape=e.shape, extension=ext,
            unverified_reason=f"HypoPG cannot cost {e.index.method} indexes: recommended from the predicate "
                              f"({e.shape}), size estimated; check with --verify-on DSN (a staging copy)"))
    notes = []
    wanted = sorted({f"{acc.table[0]}.{acc.table[1]}.{s.key}" for it in items for acc in it.analysis.accesses
                     for s in acc.searches if s.operator in ("LIKE", "ILIKE")})
    if wanted and TRGM not in extensions:
        notes.append(f"pg_trgm is not available on this server: LIKE/ILIKE '%…%' on {', '.join(wanted[:5])} "
                     "cannot be indexed (install the postgresql contrib package, then CREATE EXTENSION pg_trgm)")
    for ix, name in sorted(covered.items(), key=lambda kv: kv[0].sort_key()):
        notes.append(f"{ix.label()}: already provided by existing index {name}")
    return recs, notes


@dataclass
class Measured:
    """--verify-on's measurements, taken before the selection is final (`measure_search_indexes`):
    each GIN/GiST recommendation by index — verified, or unverified when it could not be built;
    absent when no plan used it — the notes, and which verified ones the selection kept."""

    recs: dict[IndexDef, Recommendation]
    notes: list[str]
    kept: set[IndexDef] = field(default_factory=set)


def measure_search_indexes(conn: psycopg.Connection, items: list[Item], catalog: Catalog, options: AdvisorOptions,
                           progress: Callable[[str], None] | None = None) -> Measured:
    """Build each GIN/GiST recommendation of `items` on `options.verify_on` and measure it."""
    info = server_info(conn)
    found, _notes = search_recommendations(items, catalog, extension_states(info.extensions,
                                                                            info.available_extensions))
    if not found or not options.verify_on:
        return Measured({}, [])
    measured, notes = verify_on(options.verify_on, found, progress)
    return Measured({r.index: r for r in measured}, notes)


def improves_enough(rec: Recommendation, options: AdvisorOptions) -> bool:
    """A measured index pays and improves some statement by --min-improvement."""
    best = max((1 - (a or 0.0) / b for b, a in rec.measured.values() if b), default=0.0)
    return rec.benefit > 0 and best >= options.min_improvement


def fixed_candidates(measured: Measured, options: AdvisorOptions,
                     penalty: Callable[[IndexDef], float]) -> list[FixedIndex]:
    """The verified indexes that pay, as fixed candidates for `select.with_fixed`: each
    statement's cost with one is its what-if base × the measured after/before ratio (the staging
    copy's costs in the analysed database's units); `penalty`: an index's write cost."""
    out = []
    for rec in measured.recs.values():
        if rec.verification != "verify-on":
            continue
        if not improves_enough(rec, options):
            measured.notes.append(f"{rec.index.label()}: measured on {rec.verified_on}, improves no statement by "
                                  f"{options.min_improvement:.0%}: not recommended")
            continue
        fixed = FixedIndex(rec.index, int(rec.size_bytes), measured_costs(rec), penalty(rec.index))
        rec.benefit -= fixed.penalty        # net of its write cost, as the what-if picks' benefits are
        out.append(fixed)
    return out


def measured_costs(rec: Recommendation) -> dict[int, float]:
    """Statement position → its cost with the measured index: its what-if base × the measured
    after/before ratio (the staging copy's costs in the analysed database's units)."""
    costs: dict[int, float] = {}
    for it in rec.statements:
        b, a = rec.measured.get(it.position, (None, None))
        if b and a is not None and it.base is not None:
            costs[it.position] = it.base * a / b
    return costs


def outcome_notes(measured: Measured, outcomes: list[FixedOutcome], options: AdvisorOptions) -> None:
    """Record which fixed indexes the selection kept, and a note for each it did not (or kept by
    displacing what-if picks)."""
    limit = " / ".join(x for x, on in (("--budget", options.budget_bytes is not None),
                                       ("--max-indexes", options.max_indexes is not None)) if on) or "the limits"
    for o in outcomes:
        rec = measured.recs[o.fixed.index]
        label, where = rec.index.label(), rec.verified_on
        if o.kept:
            measured.kept.add(o.fixed.index)
            if o.displaced:
                measured.notes.append(
                    f"{label}: measured on {where}, displaces {', '.join(ix.label() for ix in o.displaced)} within "
                    f"{limit}: workload cost {o.cost_without:,.0f} → {o.cost_with:,.0f}")
        elif o.too_large:
            measured.notes.append(f"{label}: measured on {where}, larger than {limit} allows: not recommended")
        elif o.reran:
            measured.notes.append(
                f"{label}: measured on {where}, does not fit what the what-if picks leave of {limit}, and "
                f"displacing them costs more than it saves (workload cost {o.cost_without:,.0f} with them, "
                f"{o.cost_with:,.0f} with it): not recommended")
        else:
            measured.notes.append(f"{label}: measured on {where}, saves nothing the what-if picks do not already "
                                  "(or its write cost outweighs it): not recommended")


def add_search_indexes(conn: psycopg.Connection, recs: list[Recommendation], items: list[Item], catalog: Catalog,
                       options: AdvisorOptions, names: NameBook | None = None,
                       progress: Callable[[str], None] | None = None, measured: Measured | None = None) -> list[str]:
    """Append the GIN/GiST recommendations to `recs`: unverified (after the what-if ones), or with
    `options.verify_on` measured on that staging copy. With `measured` (the what-if path:
    measured before the selection was final, `measure_search_indexes`) those the selection kept
    (`select.with_fixed`, `Measured.kept`); without (--no-whatif) they are measured here and those
    that pay and fit the rest of --budget / --max-indexes are kept. Kept ones rank by their
    measured benefit among the what-if ones and, with what-if costs, count in their statements'
    final costs. Returns the report's notes."""
    info = server_info(conn)
    found, notes = search_recommendations(items, catalog, extension_states(info.extensions,
                                                                           info.available_extensions), names)
    if found and options.verify_on and measured is not None:
        notes += measured.notes
        fresh, found = found, []
        for rec in fresh:
            got = measured.recs.get(rec.index)
            if got is None:                             # no plan used it (verify_on's note says so)
                continue
            got.definition, got.extension = rec.definition, rec.extension     # the names free now
            if got.verification != "verify-on":
                found.append(got)
            elif rec.index in measured.kept:
                found.append(got)
                if options.whatif:
                    _fold_measured(got)
    elif found and options.verify_on:
        ran, more = verify_on(options.verify_on, found, progress)
        notes += more
        found = []
        used = sum(int(r.size_bytes) for r in recs)
        for rec in sorted(ran, key=lambda r: (-r.benefit / max(r.size_bytes, PAGE), r.index.sort_key())):
            if rec.verification != "verify-on":
                found.append(rec)
            elif not improves_enough(rec, options):
                notes.append(f"{rec.index.label()}: measured on {rec.verified_on}, improves no statement by "
                             f"{options.min_improvement:.0%}: not recommended")
            elif options.budget_bytes is not None and used + rec.size_bytes > options.budget_bytes:
                notes.append(f"{rec.index.label()}: measured on {rec.verified_on}, does not fit the remaining --budget")
            elif options.max_indexes is not None and len(recs) + len(found) >= options.max_indexes:
                notes.append(f"{rec.index.label()}: measured on {rec.verified_on}, --max-indexes reached")
            else:
                used += rec.size_bytes
                found.append(rec)
                if options.whatif:
                    _fold_measured(rec)
    recs.extend(found)
    if options.whatif:      # a verified one ranks by its measured benefit among the what-if picks; unverified last
        recs.sort(key=lambda r: (r.verification == "pattern", -r.benefit))
    return notes


def _fold_measured(rec: Recommendation) -> None:
    """A kept verified index into its statements' final costs (so the workload's cost after and
    the statements table count it): each statement's `measured_costs`, where that beats its
    what-if final (the better of the two, not both: the staging copy measured it without the
    btree picks; `select.total_with` counts it the same way)."""
    costs = measured_costs(rec)
    for it in rec.statements:
        mine = costs.get(it.position)
        if mine is not None and mine < (it.final if it.final is not None else it.base or 0.0):
            it.final = mine
            it.used = it.used | {rec.index}
