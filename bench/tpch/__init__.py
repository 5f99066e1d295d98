"""TPC-H for the advisor benchmark: data generation, a cached and resumable load, the 22 queries.

Data: PyPI `tpchgen-cli` (a Rust port of dbgen, byte-compatible output) writes CSV files under
`bench/data/tpch-sf<N>/` (git-ignored); it is installed into this Python environment only when
missing. Load: the schema without any index (`schema.sql`), `COPY` per table, then one
`VACUUM ANALYZE` with synchronous commit on (DOMAIN.md: a VACUUM before durable commits leaves the
visibility map empty, which changes index-only-scan costs). A table whose row count already
matches its file is not reloaded, and the VACUUM ANALYZE runs only when something was loaded or
was never vacuumed, so a second `make bench` starts in seconds and on the same statistics.

Queries: `queries/<n>.sql`, the TPC-H 2.x query texts with the specification's validation
substitution parameters (what dbgen's `qgen -d` prints), written for PostgreSQL.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data"
TABLES = ("region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem")
GENERATOR = "tpchgen-cli"
GENERATOR_SPEC = "tpchgen-cli>=1.1"

Progress = Callable[[str], None]

# dbgen's row counts per scale factor (what `generate` finds in the files): a database that already
# holds them needs no CSV files at all (a fresh worktree reuses the sandbox's loaded database)
KNOWN_COUNTS: dict[float, dict[str, int]] = {
    1: {"region": 5, "nation": 25, "supplier": 10000, "customer": 150000, "part": 200000,
        "partsupp": 800000, "orders": 1500000, "lineitem": 6001215},
}


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def query_text(number: int) -> str:
    return (HERE / "queries" / f"{number}.sql").read_text(encoding="utf-8")


def queries(numbers: list[int] | None = None) -> dict[int, str]:
    numbers = numbers or list(range(1, 23))
    return {n: query_text(n) for n in numbers}


def _generator() -> str:
    """Path of tpchgen-cli, installed with pip into this environment when missing."""
    found = shutil.which(GENERATOR, path=str(Path(sys.executable).parent)) or shutil.which(GENERATOR)
    if found:
        return found
    _say(f"installing {GENERATOR_SPEC} (TPC-H data generator) with pip")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", GENERATOR_SPEC], check=True)
    found = shutil.which(GENERATOR, path=str(Path(sys.executable).parent)) or shutil.which(GENERATOR)
    if not found:
        raise SystemExit(f"{GENERATOR} was installed but is not on PATH")
    return found


def data_dir(scale: float) -> Path:
    return DATA / f"tpch-sf{scale:g}"


def generate(scale: float = 1, progress: Progress = _say) -> dict[str, int]:
    """CSV files for every table (made once) and their row counts (cached in manifest.json)."""
    target = data_dir(scale)
    manifest = target / "manifest.json"
    if manifest.exists():
        counts = json.loads(manifest.read_text())
        if all((target / f"{t}.csv").exists() for t in TABLES) and set(counts) == set(TABLES):
            return counts
    target.mkdir(parents=True, exist_ok=True)
    if not all((target / f"{t}.csv").exists() for t in TABLES):
        progress(f"generating TPC-H SF{scale:g} CSV files in {target}")
        t0 = time.perf_counter()
        subprocess.run([_generator(), "csv", "-s", f"{scale:g}", "-o", str(target), "--overwrite"], check=True,
                       stdout=subprocess.DEVNULL)
        progress(f"generated in {time.perf_counter() - t0:.0f} s")
    counts = {}
    for t in TABLES:
        with open(target / f"{t}.csv", "rb") as fh:
            counts[t] = sum(buf.count(b"\n") for buf in iter(lambda fh=fh: fh.read(1 << 24), b"")) - 1
    manifest.write_text(json.dumps(counts, indent=1))
    return counts


def _count(conn, table: str) -> int | None:
    from psycopg import sql

    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"public.{table}",)).fetchone()[0]
    if not exists:
        return None
    return conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]


def load(dsn: str, scale: float = 1, progress: Progress = _say) -> dict[str, int]:
    """Make the database hold TPC-H at `scale`, vacuumed and analysed; return the row counts.

    Idempotent: tables whose row counts match the generated files are kept as they are."""
    import psycopg
    from psycopg import sql

    target = data_dir(scale)
    expected = KNOWN_COUNTS.get(scale) if not (target / "manifest.json").exists() else None
    if expected is not None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            if any(_count(conn, t) != expected[t] for t in TABLES):
                expected = None
    expected = expected or generate(scale, progress)
    schema = (HERE / "schema.sql").read_text(encoding="utf-8")
    creates = {}
    for stmt in schema.split(";"):
        body = "\n".join(ln for ln in stmt.splitlines() if not ln.lstrip().startswith("--")).strip()
        if body:
            creates[body.split()[2]] = body
    loaded_any = False
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = on")
        for table in TABLES:
            if _count(conn, table) == expected[table]:
                continue
            progress(f"loading {table} ({expected[table]:,} rows)")
            t0 = time.perf_counter()
            with conn.transaction():
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
                conn.execute(creates[table])
                with conn.cursor() as cur, cur.copy(
                        sql.SQL("COPY {} FROM STDIN (FORMAT csv, HEADER true)").format(sql.Identifier(table))) as cp, \
                        open(target / f"{table}.csv", "rb") as fh:
                    while chunk := fh.read(1 << 20):
                        cp.write(chunk)
            loaded_any = True
            progress(f"  {table}: {time.perf_counter() - t0:.0f} s")
        # never vacuumed or analysed: no statistics or an empty visibility map (pg_stat_user_tables'
        # last_vacuum is lost when the server restarts after a crash, so it is not asked)
        never = conn.execute(
            "SELECT count(*) FROM pg_class c WHERE c.relname = ANY(%s) AND c.relkind = 'r' "
            "AND c.relnamespace = 'public'::regnamespace AND (c.relallvisible = 0 OR NOT EXISTS "
            "(SELECT 1 FROM pg_stats s WHERE s.schemaname = 'public' AND s.tablename = c.relname))",
            (list(TABLES),)).fetchone()[0]
        if loaded_any or never:
            progress("VACUUM ANALYZE (once, after the load's commits)")
            t0 = time.perf_counter()
            conn.execute("VACUUM ANALYZE")
            progress(f"  {time.perf_counter() - t0:.0f} s")
    return expected
