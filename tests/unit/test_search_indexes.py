"""Which GIN/GiST index a search predicate needs, from the column's type (no server), on a
hand-built catalog. The same shapes are checked on a real server in
tests/integration/test_advisor_index_types.py (ranges, GIN) and tests/integration/test_advisor_postgis.py
(PostGIS, where the planner's use of a GiST index is compared with these recommendations)."""

from __future__ import annotations

import pytest

from perftool.advisor.items import build_items
from perftool.advisor.search_indexes import estimated_size, search_indexes
from perftool.catalog.schema import Catalog, ColumnInfo, TableInfo
from perftool.workload.sources import WorkloadStatement

COLUMNS = {
    "id": ("int8", "N"), "geom": ("geometry", "U"), "geog": ("geography", "U"), "title": ("text", "S"),
    "doc": ("jsonb", "U"), "js": ("json", "U"), "tags": ("_text", "A"), "during": ("tstzrange", "R"),
    "tsv": ("tsvector", "U"), "n": ("int4", "N"),
}


@pytest.fixture
def cat() -> Catalog:
    c = Catalog(search_path=["pg_catalog", "public"])
    c.add(TableInfo(schema="public", name="places", kind="r", reltuples=100_000.0,
                    columns={n: ColumnInfo(n, base_type=t, category=k, avg_width=32) for n, (t, k) in COLUMNS.items()}))
    c.add(TableInfo(schema="public", name="zones", kind="r", reltuples=1_000.0,
                    columns={n: ColumnInfo(n, base_type=t, category=k) for n, (t, k) in COLUMNS.items()}))
    return c


def found(cat, *queries, extensions=None):
    items = build_items([WorkloadStatement(text=q, calls=1) for q in queries], cat)
    assert all(it.skip is None for it in items), [it.skip for it in items]
    entries, _covered = search_indexes(items, cat, {"pg_trgm": False} if extensions is None else extensions)
    return [(e.index.label(), e.shape) for e in entries]


@pytest.mark.parametrize(("query", "label", "shape"), [
    ("SELECT id FROM places WHERE ST_DWithin(geom, ST_MakePoint(1, 2), 100)",
     "public.places USING gist (geom)", "geometry ST_DWithin"),
    ("SELECT id FROM places WHERE ST_Intersects(geog, $1)", "public.places USING gist (geog)", "geography ST_Intersects"),
    ("SELECT id FROM places WHERE geom && ST_MakeEnvelope(0, 0, 1, 1)", "public.places USING gist (geom)", "geometry &&"),
    ("SELECT id FROM places WHERE ST_MakeEnvelope(0, 0, 1, 1) && geom", "public.places USING gist (geom)", "geometry &&"),
    ("SELECT id FROM places WHERE ST_Contains($1, geom)", "public.places USING gist (geom)", "geometry ST_Contains"),
    ("SELECT id FROM places WHERE ST_Equals(geom, $1)", "public.places USING gist (geom)", "geometry ST_Equals"),
    ("SELECT id FROM places WHERE ST_Covers($1, geog)", "public.places USING gist (geog)", "geography ST_Covers"),
    ("SELECT id FROM places ORDER BY geom <-> $1 LIMIT 5", "public.places USING gist (geom)", "geometry ORDER BY <-> LIMIT"),
    ("SELECT id, geog <-> $1 AS d FROM places ORDER BY d FETCH FIRST 3 ROWS ONLY", "public.places USING gist (geog)",
     "geography ORDER BY <-> LIMIT"),
    ("SELECT id FROM places WHERE $1 && during", "public.places USING gist (during)", "range &&"),
    ("SELECT id FROM places WHERE now() <@ during", "public.places USING gist (during)", "range @>"),
    ("SELECT id FROM places WHERE $1 @> tags", "public.places USING gin (tags)", "array <@"),
    ("SELECT id FROM places WHERE during && $1", "public.places USING gist (during)", "range &&"),
    ("SELECT id FROM places WHERE during @> now()", "public.places USING gist (during)", "range @>"),
    ("SELECT id FROM places WHERE doc @> $1", "public.places USING gin (doc)", "jsonb @>"),
    ("SELECT id FROM places WHERE doc ?| $1", "public.places USING gin (doc)", "jsonb ?|"),
    ("SELECT id FROM places WHERE tags <@ $1", "public.places USING gin (tags)", "array <@"),
    ("SELECT id FROM places WHERE tsv @@ $1", "public.places USING gin (tsv)", "tsvector @@ tsquery"),
    ("SELECT id FROM places WHERE title ILIKE '%abc%'", "public.places USING gin (title gin_trgm_ops)", "ILIKE '%…%'"),
])
def test_the_index_each_shape_needs(cat, query, label, shape):
    assert found(cat, query) == [(label, shape)]


@pytest.mark.parametrize("query", [
    "SELECT id FROM places WHERE js @> $1",             # json (not jsonb) has no GIN operator class
    "SELECT id FROM places WHERE n && $1",              # an integer: no such operator, nothing to index
    "SELECT id FROM places WHERE title @@ $1",          # text @@ … is no tsvector match we can index
    "SELECT id FROM places WHERE title LIKE 'abc%'",    # a btree case
    "SELECT id FROM places WHERE $1 @> doc",            # jsonb <@: no GIN operator class has it
    "SELECT id FROM places WHERE ST_Contains(geog, $1)",   # geography has no ST_Contains
    "SELECT id FROM places WHERE ST_Intersects(geom, geom)",     # both sides of the same row
    "SELECT id FROM places WHERE ST_DWithin(geom, $1, n)",       # the distance read from the row
    "SELECT id FROM places WHERE ST_Buffer(geom, 1) && $1",      # a function of the column
    "SELECT id FROM places WHERE ST_Distance(geom, $1) < 10",    # a distance compared (ST_DWithin is indexable)
    "SELECT id FROM places WHERE ST_Disjoint(geom, $1)",
    "SELECT id FROM places ORDER BY geom <-> $1",                # no LIMIT: a sort of all rows
    "SELECT id FROM places ORDER BY geom <-> $1 DESC LIMIT 5",
    "SELECT id FROM places ORDER BY id, geom <-> $1 LIMIT 5",    # not the first key
    "SELECT id FROM places ORDER BY n <-> $1 LIMIT 5",           # not a PostGIS type
])
def test_near_misses(cat, query):
    assert found(cat, query) == []


def test_trigram_needs_pg_trgm_installed_or_available(cat):
    q = "SELECT id FROM places WHERE title LIKE '%abcd%'"
    assert found(cat, q, extensions={}) == []
    assert found(cat, q, extensions={"pg_trgm": True}) == [("public.places USING gin (title gin_trgm_ops)", "LIKE '%…%'")]


def test_a_spatial_join_indexes_both_sides(cat):
    got = found(cat, "SELECT p.id FROM places p JOIN zones z ON ST_Intersects(p.geom, z.geom)")
    assert sorted(label for label, _ in got) == ["public.places USING gist (geom)", "public.zones USING gist (geom)"]


def test_size_estimate_grows_with_rows(cat):
    items = build_items([WorkloadStatement(text="SELECT id FROM places WHERE doc @> $1", calls=1),
                         WorkloadStatement(text="SELECT id FROM zones WHERE doc @> $1", calls=1)], cat)
    entries, _ = search_indexes(items, cat, {})
    big, small = sorted(entries, key=lambda e: e.index.table)
    assert estimated_size(big, cat.get(("public", "places"))) > estimated_size(small, cat.get(("public", "zones"))) > 0


@pytest.mark.parametrize(("query", "per_row"), [
    ("SELECT id FROM places WHERE ST_DWithin(geom, $1, 10)", 44),     # measured 43 on PostGIS 3.3
    ("SELECT id FROM places WHERE ST_DWithin(geog, $1, 10)", 76),     # measured 70-78
    ("SELECT id FROM places WHERE during && $1", 60 + 32),            # measured 81 with avg_width 22
])
def test_gist_size_per_row(cat, query, per_row):
    items = build_items([WorkloadStatement(text=query, calls=1)], cat)
    (entry,), _ = search_indexes(items, cat, {})
    assert estimated_size(entry, cat.get(("public", "places"))) == 100_000 * per_row + 2 * 8192
