"""DSN resolution, safe read-only sessions, server capabilities, and redaction.

Every analysis connection is made here: `application_name=perftool`, read-only by default, with
`statement_timeout`, `lock_timeout` and `idle_in_transaction_session_timeout`, so perftool never
changes a database or queues behind a lock unless a command says it writes.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from perftool.core.errors import ConnectionFailed, MissingExtension, MissingPrivilege, UsageError

if TYPE_CHECKING:
    import psycopg

APPLICATION_NAME = "perftool"
DEFAULT_STATEMENT_TIMEOUT_MS = 30_000
DEFAULT_LOCK_TIMEOUT_MS = 2_000
DEFAULT_IDLE_TX_TIMEOUT_MS = 60_000
DEFAULT_CONNECT_TIMEOUT_S = 10
STARTUP_OPTIONS = "-c default_transaction_read_only=on -c standard_conforming_strings=on"

_URL_PASSWORD = re.compile(r"(?P<pre>postgres(?:ql)?://[^:/?#@\s]*:)(?P<pw>[^@/?#\r\n]*)(?P<post>@)")
_KV_PASSWORD = re.compile(r"(?P<pre>\bpassword\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
_QUERY_PASSWORD = re.compile(r"(?P<pre>[?&]password=)(?P<pw>[^&#\s]*)", re.IGNORECASE)


def redact(text: str | None) -> str:
    """Mask every password in `text`: URLs (`user:pw@`), `?password=` and `password=...` pairs."""
    if not text:
        return text or ""
    text = _URL_PASSWORD.sub(lambda m: f"{m['pre']}***{m['post']}", text)
    text = _QUERY_PASSWORD.sub(lambda m: f"{m['pre']}***", text)
    return _KV_PASSWORD.sub(lambda m: f"{m['pre']}***", text)


@dataclass
class SessionLimits:
    """The statement and lock timeouts of every session this process opens (set once by the CLI)."""

    statement_timeout_ms: int | None = None
    lock_timeout_ms: int | None = None

    def statement_timeout(self) -> int:
        return _limit(self.statement_timeout_ms, "PERFTOOL_STATEMENT_TIMEOUT", DEFAULT_STATEMENT_TIMEOUT_MS)

    def lock_timeout(self) -> int:
        return _limit(self.lock_timeout_ms, "PERFTOOL_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT_MS)


def _limit(given: int | None, env: str, default: int) -> int:
    from perftool.core.units import parse_duration_ms

    if given is not None:
        return given
    value = parse_duration_ms(os.environ.get(env), what=f"${env}")
    return default if value is None else value


LIMITS = SessionLimits()


def resolve_dsn(dsn: str | None = None, *, config_dsn: str | None = None) -> str:
    """The DSN to use: explicit `--dsn`, else `$DATABASE_URL`, else the config's default host,
    else "" — an empty conninfo, which makes libpq read its own `PG*` variables."""
    for candidate in (dsn, os.environ.get("DATABASE_URL"), config_dsn):
        if candidate and candidate.strip():
            return candidate.strip()
    return ""


def parse_dsn(dsn: str) -> dict[str, str]:
    """Parse a URL or key=value DSN into libpq parameters (no connection made).

    A malformed DSN is a usage error (exit 2) with the password redacted from the message.
    """
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    try:
        return {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}
    except ProgrammingError as exc:
        raise UsageError(
            f"invalid DSN {redact(dsn)!r}: {redact(_first_line(str(exc)))}",
            "use postgresql://user@host:5432/db or 'host=... dbname=...'",
        ) from None


def describe_target(dsn: str) -> dict[str, Any]:
    """host, port, database and user the DSN (plus PG* variables) would connect to; no password."""
    params = parse_dsn(dsn)
    return {
        "host": params.get("host") or os.environ.get("PGHOST") or "localhost",
        "port": int(params.get("port") or os.environ.get("PGPORT") or 5432),
        "database": params.get("dbname") or os.environ.get("PGDATABASE") or params.get("user")
        or os.environ.get("PGUSER") or os.environ.get("USER", ""),
        "user": params.get("user") or os.environ.get("PGUSER") or os.environ.get("USER", ""),
    }


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in str(text).strip().splitlines() if ln.strip()]
    return lines[0] if lines else ""


def _connection_hint(message: str) -> str:
    low = message.lower()
    if "password authentication failed" in low or "no password supplied" in low:
        return "check the user and password in the DSN, or PGPASSWORD / ~/.pgpass"
    if "does not exist" in low and "database" in low:
        return "check the database name in the DSN (psql -l lists them)"
    if "role" in low and "does not exist" in low:
        return "check the user name in the DSN"
    if "connection refused" in low or "no such file or directory" in low:
        return "is the server running and listening on that host and port?"
    if "could not translate host name" in low or "name or service not known" in low:
        return "check the host name in the DSN"
    if "timeout" in low or "timed out" in low:
        return "the server did not answer in time; check the host, port and firewall"
    if "pg_hba.conf" in low:
        return "the server's pg_hba.conf rejects this host/user/database"
    if "ssl" in low:
        return "check sslmode and the server's SSL settings"
    return "check the DSN (--dsn, $DATABASE_URL or PG* variables)"


def connect(
    dsn: str,
    *,
    read_only: bool = True,
    statement_timeout_ms: int | None = None,
    lock_timeout_ms: int | None = None,
    connect_timeout_s: int = DEFAULT_CONNECT_TIMEOUT_S,
    autocommit: bool = True,
    session_settings: bool = True,
) -> psycopg.Connection:
    """Open a safe session. Read-only unless a writing command asks otherwise.

    Timeouts not given come from `LIMITS` (the CLI's --statement-timeout / --lock-timeout, else
    $PERFTOOL_STATEMENT_TIMEOUT / $PERFTOOL_LOCK_TIMEOUT, else 30 s and 2 s).

    `session_settings=False` skips the SET commands (the pgbouncer admin console accepts none).
    """
    import psycopg

    params = parse_dsn(dsn)
    kwargs: dict[str, Any] = {"autocommit": autocommit}
    if "application_name" not in params:
        kwargs["application_name"] = APPLICATION_NAME
    if "connect_timeout" not in params and not os.environ.get("PGCONNECT_TIMEOUT"):
        kwargs["connect_timeout"] = connect_timeout_s
    if read_only and session_settings:
        # a server-side guard from the first statement on (SET SESSION CHARACTERISTICS AS
        # TRANSACTION READ ONLY in startup-packet form), before any setting below runs
        kwargs["options"] = " ".join(filter(None, [params.get("options", ""), STARTUP_OPTIONS]))
    try:
        try:
            conn = psycopg.connect(dsn, **kwargs)
        except psycopg.OperationalError as exc:
            if "options" not in kwargs or "unsupported startup parameter" not in str(exc):
                raise
            # pgbouncer refuses `options` unless told to ignore it: the session settings still apply
            kwargs.pop("options")
            conn = psycopg.connect(dsn, **kwargs)
    except psycopg.OperationalError as exc:
        message = redact(_first_line(str(exc)))
        target = describe_target(dsn)
        raise ConnectionFailed(
            f"cannot connect to {target['host']}:{target['port']}/{target['database']}: {message}",
            _connection_hint(message),
        ) from None
    except psycopg.ProgrammingError as exc:
        raise UsageError(f"invalid DSN {redact(dsn)!r}: {redact(_first_line(str(exc)))}") from None
    conn.read_only = read_only or None     # psycopg's own BEGINs say READ ONLY too
    if session_settings:
        try:
            apply_session_settings(
                conn,
                read_only=read_only,
                statement_timeout_ms=LIMITS.statement_timeout() if statement_timeout_ms is None
                else statement_timeout_ms,
                lock_timeout_ms=LIMITS.lock_timeout() if lock_timeout_ms is None else lock_timeout_ms,
            )
        except Exception:
            conn.close()
            raise
    return conn


def apply_session_settings(
    conn: psycopg.Connection,
    *,
    read_only: bool = True,
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
    lock_timeout_ms: int = DEFAULT_LOCK_TIMEOUT_MS,
    idle_in_transaction_timeout_ms: int = DEFAULT_IDLE_TX_TIMEOUT_MS,
) -> None:
    """Session GUCs every perftool session carries (set_config is parameterised, no SQL text built):
    read-only, timeouts, standard_conforming_strings, and a pinned search_path for perftool's own
    queries (the caller's is kept for the workload: `use_workload_search_path`)."""
    from perftool.core.sql import execute

    execute(
        conn,
        "session_settings",
        {
            "read_only": "on" if read_only else "off",
            "statement_timeout": f"{int(statement_timeout_ms)}ms",
            "lock_timeout": f"{int(lock_timeout_ms)}ms",
            "idle_tx_timeout": f"{int(idle_in_transaction_timeout_ms)}ms",
        },
    )


def use_workload_search_path(conn: psycopg.Connection) -> None:
    """Resolve the workload's statements with the connecting role's search_path, not perftool's."""
    from perftool.core.sql import execute

    execute(conn, "workload_search_path")


@dataclass
class ServerInfo:
    """What the server is and what this session may do there (docs/privileges.md)."""

    version_num: int
    version: str
    host: str
    port: int
    database: str
    user: str
    is_superuser: bool
    can_read_all_stats: bool
    in_recovery: bool
    # None: hidden from this role (shared_preload_libraries needs pg_read_all_settings)
    shared_preload_libraries: list[str] | None = field(default_factory=list)
    extensions: dict[str, str] = field(default_factory=dict)
    available_extensions: set[str] = field(default_factory=set)
    can_read_all_settings: bool = True

    @property
    def major(self) -> int:
        return self.version_num // 10000

    def has_extension(self, name: str) -> bool:
        return name in self.extensions

    def preloads(self, library: str) -> bool | None:
        """Whether `library` is in shared_preload_libraries; None when this role may not see the
        setting (then reading the library's views is the proof)."""
        if self.shared_preload_libraries is None:
            return None
        return library in self.shared_preload_libraries

    def as_dict(self) -> dict[str, Any]:
        """The no-secrets description used in report envelopes."""
        return {
            "host": self.host,
            "port": self.port,
            "database": self.database,
            "version": self.version,
            "version_num": self.version_num,
            "in_recovery": self.in_recovery,
        }


def server_info(conn: psycopg.Connection) -> ServerInfo:
    """Read version, role privileges, preloaded libraries and extensions (one round trip each).

    Needs no privilege: shared_preload_libraries comes from pg_settings, which hides it (None)
    from a role without pg_read_all_settings instead of failing."""
    from perftool.core.sql import fetch_all, fetch_one

    row = fetch_one(conn, "server_info")
    info = conn.info
    exts = fetch_all(conn, "extensions")
    preload = row["shared_preload_libraries"]
    return ServerInfo(
        version_num=int(row["version_num"]),
        version=row["version"],
        host=info.host if not info.host.startswith("/") else "localhost",
        port=int(info.port),
        database=info.dbname,
        user=info.user,
        is_superuser=bool(row["is_superuser"]),
        can_read_all_stats=bool(row["is_superuser"] or row["read_all_stats"]),
        can_read_all_settings=bool(row["is_superuser"] or row["read_all_settings"]),
        in_recovery=bool(row["in_recovery"]),
        shared_preload_libraries=None if preload is None else [s.strip() for s in preload.split(",") if s.strip()],
        extensions={e["name"]: e["installed_version"] for e in exts if e["installed_version"]},
        available_extensions={e["name"] for e in exts},
    )


def require_pg_stat_statements(info: ServerInfo) -> None:
    """Raise a MissingExtension with the exact steps when pg_stat_statements is not usable.

    When this role cannot see shared_preload_libraries, an installed extension is taken as
    usable: reading the view then proves it is loaded, or fails with "must be loaded via
    shared_preload_libraries" (a MissingExtension as well)."""
    preloaded = info.preloads("pg_stat_statements")
    if preloaded is False and not info.has_extension("pg_stat_statements"):
        raise MissingExtension(
            "pg_stat_statements is not loaded on this server",
            "add it to shared_preload_libraries in postgresql.conf, restart, then run "
            "CREATE EXTENSION pg_stat_statements in this database",
        )
    if not info.has_extension("pg_stat_statements"):
        raise MissingExtension(
            f"extension pg_stat_statements is not installed in database {info.database!r}",
            "run CREATE EXTENSION pg_stat_statements (as a superuser or the database owner)"
            + ("" if preloaded else "; it must also be in shared_preload_libraries"),
        )
    if preloaded is False:
        raise MissingExtension(
            "pg_stat_statements is installed but not in shared_preload_libraries",
            "add it to shared_preload_libraries in postgresql.conf and restart the server",
        )


def check_privilege(ok: bool, what: str, grant: str) -> None:
    if not ok:
        raise MissingPrivilege(f"permission denied: {what}", grant)
