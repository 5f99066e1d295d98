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
