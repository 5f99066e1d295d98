"""`indexes recommend --literals` and `--verify-on` through the CLI (issue 15): exit codes, one-line
errors without secrets, the unverified marker on stdout."""

from __future__ import annotations

import psycopg

from tests.cli.test_recommend_cli import NOWHERE, one_error_line, perftool, recommend

GIN_QUERY = "SELECT id FROM items WHERE attrs @> '{\"k\": 7}'"


def setup_items(dsn: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id bigint PRIMARY KEY, shop int NOT NULL, attrs jsonb NOT NULL)")
        conn.execute("INSERT INTO items SELECT g, g % 300, jsonb_build_object('k', g % 1000) "
                     "FROM generate_series(1, 50000) g")
        conn.execute("VACUUM ANALYZE items")
    return dsn


def test_literals_must_be_example_or_constant():
    code, out, err = perftool("indexes", "recommend", "--dsn", NOWHERE, "-q", "SELECT 1", "--literals", "maybe")
    assert (code, out) == (2, "")
    assert "--literals" in err and "Traceback" not in err


def test_literals_constant_on_the_command_line(fresh_db):
    setup_items(fresh_db)
    query = "SELECT id FROM items WHERE shop = 7 AND id > 100"
    assert recommend(fresh_db, "-q", query)["workload"]["literals"] == "example"
    doc = recommend(fresh_db, "-q", query, "--literals", "constant", "--budget", "64kB")
    assert doc["workload"]["literals"] == "constant"
    assert [r["where"] for r in doc["recommendations"]] == ["shop = 7"]


def test_gin_is_marked_unverified_on_stdout(fresh_db):
    setup_items(fresh_db)
    code, out, err = perftool("indexes", "recommend", "--dsn", fresh_db, "-q", GIN_QUERY)
    assert code == 0, err
    assert 'public.items USING gin (attrs) — unverified' in out
    assert "(unverified: HypoPG cannot cost gin)" in out


def test_verify_on_an_unreachable_server_exits_3_without_its_password(fresh_db):
    setup_items(fresh_db)
    staging = "postgresql://someone:s3cret-pw@127.0.0.1:1/staging?connect_timeout=2"
    code, out, err = perftool("indexes", "recommend", "--dsn", fresh_db, "-q", GIN_QUERY, "--verify-on", staging)
    assert (code, out) == (3, "")
    line = one_error_line(err)
    assert "s3cret-pw" not in err and "127.0.0.1:1/staging" in line


def test_postgis_gist_on_stdout_unverified_then_verified(fresh_db, sandbox_dsn_factory):
    """The PostGIS recommendations as people read them: one GiST per spatial column, marked
    unverified with the shapes that need it; with --verify-on, measured and counted in the
    workload's cost after and the statements table."""
    import uuid

    import pytest

    from tests.integration.test_advisor import setup
    from tests.integration.test_advisor_postgis import PLACES, E, G, P, q

    with psycopg.connect(fresh_db) as conn:
        if not conn.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'").fetchone()[0]:
            pytest.skip("PostGIS is not installed on this machine (postgresql-15-postgis-3)")
    setup(fresh_db, *PLACES)
    queries = [q(f"ST_DWithin(geom, {P}, 0.05)"), q(f"{E} && geom"), q(f"ST_Intersects(geog, {G})"),
               q(f"ST_Distance(geom, {P}) < 0.05")]
    args = [a for query in queries for a in ("-q", query)]
    code, out, err = perftool("indexes", "recommend", "--dsn", fresh_db, *args)
    assert code == 0, err
    assert "2 recommended index(es), 2 unverified (GIN/GiST: HypoPG cannot cost them)" in out
    assert "not costed with them (--verify-on DSN measures them" in out and "(0.0% saved)" not in out
    assert "public.places USING gist (geog) — unverified" in out
    assert "public.places USING gist (geom) — unverified" in out
    assert "(unverified: HypoPG cannot cost gist)" in out
    assert "recommended from the predicate (geometry ST_DWithin, geometry &&)" in out
    assert "recommended from the predicate (geography ST_Intersects)" in out
    assert 'USING gist ("geom");' in out and "Traceback" not in err

    staging = sandbox_dsn_factory(f"staging_{uuid.uuid4().hex[:8]}")
    setup(staging, *PLACES)
    code, out, err = perftool("indexes", "recommend", "--dsn", fresh_db, *args, "--verify-on", staging)
    assert code == 0, err
    where = staging.rsplit("@", 1)[1].split("?")[0]
    lines = out.splitlines()
    head = next(line for line in lines if "recommended index(es)" in line)
    assert head.startswith("2 recommended index(es): estimated workload cost") and "(0.0% saved)" not in head, head
    assert f"public.places USING gist (geom) — verified on {where}" in out
    assert f"public.places USING gist (geog) — verified on {where}" in out
    assert "— unverified" not in out and "(unverified:" not in out
    dwithin = next(line for line in lines if line.startswith("SELECT id FROM places WHERE ST_DWithin"))
    assert dwithin.rstrip().endswith("public.places USING gist (geom)"), dwithin
    distance = next(line for line in lines if line.startswith("SELECT id FROM places WHERE ST_Distance"))
    assert "0.0 %" in distance and "gist" not in distance, distance
