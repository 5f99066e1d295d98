"""SQL lives in `*.sql` files beside this module, loaded by name and cached.

Version variants: `name.pgNN.sql` is used on servers of major version NN or later (the highest
such NN wins); `name.sql` is the default. Example: `top_statements.sql` serves PG13,
`top_statements.pg14.sql` PG14–16 and `top_statements.pg17.sql` PG17+, where pg_stat_statements renamed `blk_read_time`.

`execute`, `fetch_all` and `fetch_one` run a named query and turn the server errors a user can
cause (timeout, permission, missing extension, lost connection) into PerftoolErrors.

Every statement perftool sends carries the marker twice: before the statement (kept by
pg_stat_statements up to PG17, and readable in pg_stat_activity and server logs) and right after
its first keyword (`SELECT /* perftool */ ...`), because PG18's pg_stat_statements stores the text
without leading comments. A comment inside a statement survives normalisation on every version
(constants become `$n`, comments stay), so `own_statement_filter()` recognises perftool's own
entries by it everywhere — also the nested entries that EXPLAIN of a workload statement leaves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from perftool.db.errors import ConnectionFailed, MissingExtension, MissingPrivilege, QueryTimeout

if TYPE_CHECKING:
    import psycopg

# Prefixed to every statement perftool sends, and repeated after its first keyword (`mark()`), so
# its own queries can be left out of pg_stat_statements reports on every version.
MARKER = "/* perftool */ "

_VARIANT = re.compile(r"^(?P<name>[a-z0-9_]+)(?:\.pg(?P<major>\d+))?\.sql$")


@cache
def _variants() -> dict[str, dict[int, str]]:
    found: dict[str, dict[int, str]] = {}
    for entry in resources.files(__name__).iterdir():
        m = _VARIANT.match(entry.name)
        if m:
            found.setdefault(m["name"], {})[int(m["major"] or 0)] = entry.name
    return found


@cache
def load_text(name: str, major: int = 0) -> str:
    """The file's own text for server major version `major` (0: the default file), no marker."""
    variants = _variants().get(name)
    if not variants:
        raise KeyError(f"no SQL file named {name}.sql")
    usable = [v for v in variants if v <= major] or [0]
    chosen = variants.get(max(usable)) or variants[min(variants)]
    return resources.files(__name__).joinpath(chosen).read_text(encoding="utf-8")


def load_fragment(name: str, major: int = 0) -> str:
    """A statement fragment from a .sql file (`PREPARE {name} AS `, `EXPLAIN … EXECUTE …`): its
    comment lines dropped, outer blank lines removed — the text perftool completes with a
    statement or with identifiers."""
    lines = [ln for ln in load_text(name, major).splitlines() if not ln.lstrip().startswith("--")]
    return "\n".join(lines).rstrip("\n ").lstrip("\n")


# leading white space and comments, then the statement's first keyword
_FIRST_KEYWORD = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*[A-Za-z]+", re.DOTALL)


def mark(text: str) -> str:
    """`text` as perftool sends it: the marker before the statement and after its first keyword
    (`/* perftool */ -- comment\nSELECT /* perftool */ ...`), where PG18 keeps it too."""
    m = _FIRST_KEYWORD.match(text)
    if m:
        text = f"{text[:m.end()]} {MARKER.strip()}{text[m.end():]}"
    return MARKER + text


def own_statement_filter() -> str:
    """The marker as it appears in pg_stat_statements' text of every perftool statement (the
    `%(marker)s` parameter of top_statements.sql: entries containing it are perftool's own)."""
    return MARKER.strip()


def load(name: str, major: int = 0) -> str:
    """The text of query `name` as perftool sends it: the file, marked (`mark()`)."""
    return mark(load_text(name, major))


def names() -> list[str]:
    return sorted(_variants())


def _major(conn: psycopg.Connection) -> int:
    return conn.info.server_version // 10000


@contextmanager
def translate_errors(what: str = "query", role: str | None = None) -> Iterator[None]:
    """Map server errors a user can cause to PerftoolErrors with hints (`role`: the session's
    user, named in a GRANT hint)."""
    import psycopg
    from psycopg import errors as e

    try:
        yield
    except e.QueryCanceled as exc:
        raise QueryTimeout(
            f"{what} was cancelled: {str(exc).strip().splitlines()[0]}",
            "raise --statement-timeout, or run when the server is less busy",
        ) from None
    except e.LockNotAvailable as exc:
        raise QueryTimeout(f"{what} waited too long for a lock: {str(exc).splitlines()[0]}") from None
    except e.InsufficientPrivilege as exc:
        msg = str(exc).strip().splitlines()[0]
        raise MissingPrivilege(f"permission denied while running {what}: {msg}", privilege_hint(msg, role)) from None
    except e.ObjectNotInPrerequisiteState as exc:
        msg = str(exc).strip().splitlines()[0]
        raise MissingExtension(
            msg, "add the library to shared_preload_libraries and restart the server"
        ) from None
    except (e.UndefinedTable, e.UndefinedFunction) as exc:
        msg = str(exc).strip().splitlines()[0]
        if "pg_stat_statements" in msg:
            raise MissingExtension(msg, "run CREATE EXTENSION pg_stat_statements") from None
        if "hypopg" in msg:
            raise MissingExtension(msg, "run CREATE EXTENSION hypopg, or pass --no-whatif") from None
        raise
    except e.IdleInTransactionSessionTimeout:
        raise ConnectionFailed(
            f"the server ended the session during {what}: it sat idle in a transaction for longer than "
            "idle_in_transaction_session_timeout while perftool worked on the previous results",
            "run again when the machine running perftool is less busy, or narrow the scope (--schema, --table)",
        ) from None
    except psycopg.OperationalError as exc:
        raise ConnectionFailed(f"connection lost during {what}: {str(exc).strip().splitlines()[0]}") from None


_DENIED = re.compile(r"permission denied for (table|relation|view|materialized view|sequence|schema|function) (\S+)")


def privilege_hint(message: str, role: str | None = None) -> str:
    """What to GRANT for a server's "permission denied" / "must be ... to" message (docs/privileges.md)."""
    low = message.lower()
    grantee = role or "<role>"
    for predefined in ("pg_read_all_settings", "pg_read_all_stats", "pg_stat_scan_tables", "pg_monitor"):
        if predefined in low:
            return f"GRANT {predefined} TO {grantee} (pg_monitor includes it); docs/privileges.md"
    m = _DENIED.search(message)
    if m:
        kind, name = m[1], m[2]
        privilege = {"schema": "USAGE", "function": "EXECUTE"}.get(kind, "SELECT")
        on = {"relation": "TABLE", "view": "TABLE", "materialized view": "TABLE"}.get(kind, kind.upper())
        return f"GRANT {privilege} ON {on} {name} TO {grantee}; docs/privileges.md"
    return "docs/privileges.md lists the privileges each command needs (pg_monitor covers most)"


Params = Mapping[str, Any] | Sequence[Any] | None


def execute(conn: psycopg.Connection, name: str, params: Params = None) -> None:
    with translate_errors(name, conn.info.user), conn.cursor() as cur:
        cur.execute(load(name, _major(conn)), params)


def fetch_all(conn: psycopg.Connection, name: str, params: Params = None) -> list[dict[str, Any]]:
    from psycopg.rows import dict_row

    return list(_stream(conn, name, params, dict_row))


class Record(Mapping[str, Any]):
    """A result row as a read-only mapping over its tuple of values, the field positions shared by
    every row of the result: a third of a dict's memory (a statistics snapshot holds one per table
    and index: 40,000 on a schema of 10,000 tables, 15 MB less than as dicts)."""

    __slots__ = ("_fields", "_values")

    def __init__(self, fields: dict[str, int], values: Sequence[Any]) -> None:
        self._fields = fields
        self._values = values

    def __getitem__(self, key: str) -> Any:
        return self._values[self._fields[key]]

    def get(self, key: str, default: Any = None) -> Any:
        i = self._fields.get(key)
        return default if i is None else self._values[i]

    def __contains__(self, key: object) -> bool:
        return key in self._fields

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"Record({dict(self)!r})"


def fetch_records(conn: psycopg.Connection, name: str, params: Params = None) -> list[Record]:
    """The rows of query `name` as Records (read like dicts, held in a third of the memory)."""

    def factory(cursor: psycopg.Cursor) -> Any:
        fields = {c.name: i for i, c in enumerate(cursor.description or ())}
        return lambda values: Record(fields, tuple(values))   # (a tuple is not copied)

    return list(_stream(conn, name, params, factory))


# rows per chunk when streaming a result (libpq 17+ chunked mode): the client never holds a whole
# large catalog result (70,000 column rows are ~18 MB in libpq) and spends no more CPU on it
STREAM_CHUNK = 2000


def iterate_tuples(conn: psycopg.Connection, name: str, params: Params, fields: Sequence[str]) -> Iterator[tuple]:
    """The rows of query `name` as they arrive, in chunks (a libpq older than 17 has no chunked
    mode: the result is fetched whole), for the readers of very large results (the catalog of
    10,000 tables): each row a plain tuple, to unpack in the order of `fields` — a dict per row
    costs a third of the CPU of reading 100,000 rows. `fields` must be the query's column names,
    in order; checked once, so a query edited without its reader fails loudly instead of filling
    the wrong attributes."""
    from psycopg.rows import tuple_row

    def checked(cursor: psycopg.Cursor) -> Any:
        got = tuple(c.name for c in cursor.description or ())
        if got != tuple(fields):
            raise RuntimeError(f"{name}.sql returns columns {got}, its reader expects {tuple(fields)}")
        return tuple_row(cursor)

    yield from _stream(conn, name, params, checked)


def _stream(conn: psycopg.Connection, name: str, params: Params, row_factory: Any) -> Iterator[Any]:
    import psycopg

    query = load(name, _major(conn))
    with translate_errors(name, conn.info.user), conn.cursor(row_factory=row_factory) as cur:
        if psycopg.pq.version() >= 170000 and conn.pgconn.pipeline_status == psycopg.pq.PipelineStatus.OFF:
            yield from cur.stream(query, params, size=STREAM_CHUNK)
        else:
            cur.execute(query, params)
            yield from cur


def oid_array(oids: Iterable[int]) -> str:
    """An `oid[]` parameter as its text literal (the query casts it: `%(oids)s::oid[]`): psycopg
    dumps a list of 10,000 oids element by element in Python (14 ms a query), the literal in 2 ms."""
    return "{" + ",".join(map(str, oids)) + "}"


@contextmanager
def read_transaction(conn: psycopg.Connection, settings: str) -> Iterator[None]:
    """perftool's own reads (the catalog, a statistics snapshot) in one read-only transaction: one
    consistent view, and the planner settings of the SQL file `settings` local to it
    (catalog_session.sql, stats_session.sql), rolled back: nothing to keep. A connection already
    in a transaction reads in that one, inside a savepoint that is rolled back, so that the
    settings do not outlive the reads (they would change the caller's EXPLAINs)."""
    own = conn.autocommit
    execute(conn, "read_only_begin" if own else "catalog_savepoint")
    try:
        execute(conn, settings)
        yield
    finally:
        if not conn.closed:
            execute(conn, "read_only_rollback" if own else "catalog_savepoint_rollback")


def fetch_one(conn: psycopg.Connection, name: str, params: Params = None) -> dict[str, Any] | None:
    rows = fetch_all(conn, name, params)
    return rows[0] if rows else None


def compose(name: str, major: int = 0, **identifiers: str | list[str]):
    """A statement whose SQL file has `{placeholders}` for identifiers (database, schema, table
    names), filled with `psycopg.sql.Identifier` — never by string formatting. A list value becomes
    a comma-separated list of identifiers (index columns)."""
    return _compose(load(name, major), identifiers)


def statement_text(name: str, literals: Mapping[str, Any] | None = None,
                   **identifiers: str | list[str] | list[tuple[str, str]]) -> str:
    """The same statement as text for people (fix SQL, migrations): no marker, no trailing space,
    ending with a semicolon. `literals` fill `{placeholders}` that stand for values (a pid, a slot
    name) with `psycopg.sql.Literal`, quoted and escaped."""
    text = load_text(name).strip().rstrip(";")
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("--")]
    return _compose("\n".join(lines).strip(), identifiers, literals).as_string(None) + ";"


def _compose(text: str, identifiers: dict, literals: Mapping[str, Any] | None = None):
    from psycopg import sql

    def part(v):
        if isinstance(v, (list, tuple)):  # a list of names; a (schema, name) pair in it is qualified
            return sql.SQL(", ").join(sql.Identifier(*x) if isinstance(x, tuple) else sql.Identifier(x) for x in v)
        return sql.Identifier(v)

    values = {k: part(v) for k, v in identifiers.items()} | {k: sql.Literal(v) for k, v in (literals or {}).items()}
    return sql.SQL(text).format(**values)
