"""DSN resolution, safe read-only sessions, server capabilities, and redaction.

Every analysis connection is made here: `application_name=perftool`, read-only by default, with
`statement_timeout`, `lock_timeout` and `idle_in_transaction_session_timeout`, so perftool never
changes a database or queues behind a lock unless a command says it writes.
"""

from __future__ import annotations

import os
import re
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from perftool.db.errors import ConnectionFailed, MissingExtension, MissingPrivilege, PerftoolError, UsageError

if TYPE_CHECKING:
    import psycopg

APPLICATION_NAME = "perftool"
DEFAULT_STATEMENT_TIMEOUT_MS = 30_000
DEFAULT_LOCK_TIMEOUT_MS = 2_000
DEFAULT_IDLE_TX_TIMEOUT_MS = 60_000
DEFAULT_CONNECT_TIMEOUT_S = 10
STARTUP_OPTIONS = "-c default_transaction_read_only=on -c standard_conforming_strings=on"

MASK = "***"
MIN_SECRET_LEN = 3  # shorter passwords are masked where they stand in a DSN, not wherever they occur

_SCHEME = re.compile(r"^\s*(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*):(?://)?")
_URL_SCHEMES = ("postgresql", "postgres")
# user:password@ in any URL (any scheme, or none): up to the LAST '@' of the token, so a password
# with an unencoded '@' or '/' is masked whole
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")   # shown as \x09 … by a message that escapes them
_URL_PASSWORD = re.compile(
    r"(?P<pre>[A-Za-z][A-Za-z0-9+.-]*://[^ \t\r\n:/?#@'\"]*:|(?<![^ \t\r\n'\"(<=,])[^ \t\r\n:/?#@'\"]+:(?!//))"
    r"(?P<pw>[^ \t\r\n]*)(?=@)")
# other schemes' user info is all secret (`https://TOKEN@host`, `redis://PASSWORD@host`)
_OTHER_URL_USERINFO = re.compile(
    r"(?P<pre>(?<![A-Za-z0-9+.-])(?!postgres(?:ql)?://)[A-Za-z][A-Za-z0-9+.-]*://)(?P<pw>[^ \t\r\n]*)(?=@)",
    re.IGNORECASE)
# scheme://user:password without '@' (a cut-off DSN): what follows ':' is no port when not digits
_URL_CUT_PASSWORD = re.compile(
    r"(?P<pre>[A-Za-z][A-Za-z0-9+.-]*://[^ \t\r\n:/?#@'\",]*:)(?P<pw>(?=[^ \t\r\n/?#@,]*[^\d \t\r\n/?#@,])"
    r"[^ \t\r\n/?#@,]*)(?![^ \t\r\n]*@)")
# ?password=... / &sslpassword=... in a URL's query string: up to the next parameter
_QUERY_PASSWORD = re.compile(r"(?P<pre>[?&](?:ssl)?password=)(?P<pw>[^&#\s]*)", re.IGNORECASE)
# password=... in key=value form: a quoted value (with \-escapes, maybe unterminated) or one word
_KV_PASSWORD = re.compile(
    r"(?P<pre>(?<![?&\w])(?:ssl)?password\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'?|\"(?:[^\"\\]|\\.)*\"?|\S+)",
    re.IGNORECASE)


def redact(text: str | None, *dsns: str | None) -> str:
    """`text` with every password masked: the one function for any message that may hold a DSN.

    Two layers, so that neither alone has to be perfect:
    - every password that `dsns` (and `text` itself, when it is a DSN) could hold — as libpq parses
      it and as a tolerant reading of a malformed DSN would, raw, percent-decoded and -encoded,
      quoted — is masked wherever it occurs;
    - then `user:password@` in URLs of any scheme (or none) and `password=` values (key=value,
      query strings, quoted with escapes) are masked by their shape.
    """
    if not text:
        return text or ""
    text = str(text)
    secrets: set[str] = set()
    for dsn in (*dsns, text if _looks_like_dsn(text) else ""):
        if dsn:
            secrets |= dsn_secrets(str(dsn))
    hidden = [False] * len(text)  # every layer marks what to hide in the original text: overlaps merge
    for secret in secrets:
        at = text.find(secret)
        while at >= 0:
            hidden[at:at + len(secret)] = [True] * len(secret)
            at = text.find(secret, at + 1)
    for pattern in (_URL_PASSWORD, _OTHER_URL_USERINFO, _URL_CUT_PASSWORD, _QUERY_PASSWORD, _KV_PASSWORD):
        for m in pattern.finditer(text):
            hidden[m.start("pw"):m.end("pw")] = [True] * (m.end("pw") - m.start("pw"))
    out, i = [], 0
    while i < len(text):
        if hidden[i]:
            while i < len(text) and hidden[i]:
                i += 1
            out.append(MASK)
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _looks_like_dsn(text: str) -> bool:
    """A URL (any scheme), `user:password@host…`, or key=value pairs — not a sentence quoting one."""
    t = text.strip()
    m = _SCHEME.match(t)
    return bool((m and "//" in m.group(0)) or (re.match(r"[^\s:/@]*:", t) and "@" in t)
                or re.match(r"\w+\s*=", t))


def dsn_secrets(dsn: str) -> set[str]:
    """Every string that may be a password in `dsn` (or part of one, for malformed DSNs), in the forms
    a message could show it: as written, percent-decoded, percent-encoded, and escaped by repr/JSON.
    Strings shorter than MIN_SECRET_LEN are left out (they would mask ordinary words)."""
    import json
    from urllib.parse import quote, unquote

    raw: set[str] = set()
    try:
        from psycopg.conninfo import conninfo_to_dict

        parsed = conninfo_to_dict(dsn)
        raw |= {str(parsed[k]) for k in ("password", "sslpassword") if parsed.get(k)}
    except Exception:  # noqa: BLE001 - a DSN libpq rejects: the tolerant readings below still apply
        pass
    m = _SCHEME.match(dsn)
    url = m is not None and "//" in m.group(0)
    rest = dsn[m.end():] if m is not None and url else dsn
    if m is not None and url and m["scheme"].lower() not in _URL_SCHEMES and "@" in rest:  # `https://TOKEN@host`
        raw.add(rest[:rest.rfind("@")])
        raw.add(dsn[dsn.find(":") + 1:dsn.rfind("@")])  # or `user://password@host`, a scheme-less URL
    colon = rest.find(":")
    if colon >= 0:  # user:password@host — libpq stops at the first '@'; a person may mean the last
        at = rest.find("@", colon)
        if at < 0 and url:  # cut off before '@': a non-numeric "port"
            port = re.split(r"[/?#,]", rest[colon + 1:])[0]
            if not port.isdigit():
                raw.add(port)
        while at >= 0:
            raw.add(rest[colon + 1:at])
            at = rest.find("@", at + 1)
    for m in re.finditer(r"password\s*=\s*", dsn, re.IGNORECASE):
        value = dsn[m.end():]
        if value[:1] in ("'", '"'):
            quote_char, out, i = value[0], [], 1
            while i < len(value) and value[i] != quote_char:
                if value[i] == "\\" and i + 1 < len(value):
                    i += 1
                out.append(value[i])
                i += 1
            raw |= {"".join(out), value[:i + 1]}
        raw |= {value, value.split()[0] if value.split() else value}
        raw |= {re.split(r"[&#\s]", value)[0], re.split(r"[&#]", value)[0]}
    forms: set[str] = set()
    for r in raw:
        r = r.strip("\r\n")
        for form in (r, unquote(r), quote(r, safe="")):
            forms |= {form, repr(form)[1:-1], json.dumps(form, ensure_ascii=False)[1:-1],
                      json.dumps(form)[1:-1], _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", form)}
    return {f for f in forms if len(f) >= MIN_SECRET_LEN}


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
    from perftool.units import parse_duration_ms

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


DSN_HINT = "use postgresql://user@host:5432/db or 'host=... dbname=...'"
_ENCODE_HINT = "percent-encode '@' as %40 and '/' as %2F in a URL's user name, password and parameter values"


def parse_dsn(dsn: str) -> dict[str, str]:
    """Parse and check a URL or key=value DSN into libpq parameters (no connection made).

    A DSN that is malformed, or that libpq would read differently from what its author meant (a
    password with an unencoded '@' or '/' spills into the host, port or database name), is a usage
    error (exit 2). The message never echoes the DSN: it says what is wrong, and names values from
    it only when the DSN holds no password.
    """
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    if "\x00" in dsn:
        raise _invalid(dsn, "it contains a NUL character")
    m = _SCHEME.match(dsn)
    if m and "//" in m.group(0) and m["scheme"].lower() not in _URL_SCHEMES:
        scheme = m["scheme"] if len(m["scheme"]) <= 20 else m["scheme"][:20] + "…"
        raise _invalid(dsn, f"unknown URL scheme {scheme!r}",
                       "perftool connects to PostgreSQL: postgresql://user@host:5432/db")
    if m and "//" in m.group(0):
        _check_url_shape(dsn, dsn[m.end():])
    try:
        params = {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}
    except ProgrammingError as exc:
        raise _invalid(dsn, _libpq_reason(dsn, str(exc))) from None
    _check_params(dsn, params)
    return params


def _may_hold_secret(dsn: str) -> bool:
    """Whether messages about `dsn` must not quote values from it: it has an '@', a password
    keyword, or a URL "port" that is no number (a password cut off before its '@')."""
    return "@" in dsn or "password" in dsn.lower() or bool(re.search(r"://[^/?#]*:[^/?#]*[^\d/?#,]", dsn))


def _invalid(dsn: str, reason: str, hint: str = DSN_HINT, host: str = "") -> UsageError:
    """The usage error for a bad DSN: never the DSN itself; its host only when nothing in it is secret."""
    where = f" (host {host})" if host and not _may_hold_secret(dsn) and host.isprintable() else ""
    return UsageError(f"invalid DSN{where}: {redact(reason, dsn)}", hint)


def _check_url_shape(dsn: str, rest: str) -> None:
    """A URL's only raw '@' is the one that ends user:password, before the host. Any other is a
    password (or user) with an unencoded '@' or '/', which libpq would read as part of the host,
    port, database or a parameter — and then print in its messages. (`?user=me%40corp` works.)"""
    first_at, first_slash = rest.find("@"), rest.find("/")
    if first_at < 0:
        return
    if rest.count("@") > 1 or 0 <= first_slash < first_at:
        raise _invalid(dsn, "'@' in a URL may appear only once, before the host", _ENCODE_HINT)


def _libpq_reason(dsn: str, message: str) -> str:
    """libpq's complaint, without the values it quotes when the DSN may hold a password."""
    message = _first_line(message)
    low = message.lower()
    if low.startswith('missing "=" after'):
        if "@" in dsn and "=" not in dsn:
            return "neither a postgresql:// URL nor key=value pairs (did you mean postgresql://…?)"
        return "expected key=value pairs separated by spaces, or a postgresql:// URL"
    if not _may_hold_secret(dsn):
        return message
    if low.startswith("unexpected spaces found"):
        return "unexpected spaces (write %20 for a space in a URL)"
    if low.startswith("invalid percent-encoded token"):
        return "invalid percent-encoding ('%' must be followed by two hex digits; write %25 for '%')"
    if low.startswith("forbidden value %00"):
        return "a percent-encoded NUL (%00)"
    return message.split('"', 1)[0].rstrip(" :") or "libpq cannot parse it"


def _check_params(dsn: str, params: dict[str, str]) -> None:
    """What libpq accepts in a DSN but fails on only when connecting (or that shows a password)."""
    show = not _may_hold_secret(dsn)
    if any("@" in h for h in params.get("host", "").split(",")):
        raise _invalid(dsn, "'@' in the host name", _ENCODE_HINT)
    for port in params.get("port", "").split(","):
        port = port.strip()
        if port and not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
            what = f"port {port!r}" if show else "the port"
            raise _invalid(dsn, f"{what} is not a number from 1 to 65535", host=params.get("host", ""))


def describe_target(dsn: str) -> dict[str, Any]:
    """host, port, database and user the DSN (plus PG* variables) would connect to; no password.

    With several hosts (`host=a,b`), host and port are the comma-separated lists."""
    params = parse_dsn(dsn)
    port = params.get("port") or os.environ.get("PGPORT") or "5432"
    return {
        "host": params.get("host") or os.environ.get("PGHOST") or "localhost",
        "port": int(port) if port.isascii() and port.isdigit() else port,
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
        message = redact(_first_line(str(exc)), dsn)
        target = describe_target(dsn)
        raise ConnectionFailed(
            f"cannot connect to {target['host']}:{target['port']}/{target['database']}: {message}",
            _connection_hint(message),
        ) from None
    except psycopg.ProgrammingError as exc:
        raise UsageError(f"invalid DSN: {redact(_first_line(str(exc)), dsn)}") from None
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
    if read_only and session_settings:
        _OPENED[conn] = (dsn, statement_timeout_ms, lock_timeout_ms, connect_timeout_s)
    return conn


# how each read-only session was opened, so that a reader may open a sibling (see `sibling`)
_OPENED: weakref.WeakKeyDictionary[psycopg.Connection, tuple[str, int | None, int | None, int]] = (
    weakref.WeakKeyDictionary())


def sibling(conn: psycopg.Connection) -> psycopg.Connection | None:
    """A second read-only session like `conn` (same DSN, settings and timeouts), for a reader
    that sends two independent queries at once (the catalog of a large schema: the server works
    on both in parallel). None when `conn` was not opened read-only by `connect`, or when the
    second session cannot be opened (max_connections reached, a pooler that refuses it): the
    reader then reads on `conn` alone, as it would anyway."""
    opened = _OPENED.get(conn)
    if opened is None:
        return None
    dsn, statement_timeout_ms, lock_timeout_ms, connect_timeout_s = opened
    try:
        return connect(dsn, statement_timeout_ms=statement_timeout_ms, lock_timeout_ms=lock_timeout_ms,
                       connect_timeout_s=connect_timeout_s)
    except PerftoolError:
        return None


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
    from perftool.db.sql import execute

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
    from perftool.db.sql import execute

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
    from perftool.db.sql import fetch_all, fetch_one

    row = fetch_one(conn, "server_info")
    assert row is not None, "server_info.sql returns one row"
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
