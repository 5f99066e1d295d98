"""No traceback is reachable without --debug (issue 10, item 5).

Hypothesis builds command lines for every command and subcommand, from the commands' own option
lists (so a new option is fuzzed without touching this file): hostile values for every option and
argument, global options before the command, `--help`. Each run must exit 0, 1, 2, 3 or 130 with
no traceback and no "internal error" (the CLI's last-resort line for a bug). No server is needed:
every DSN is garbage or points at a closed loopback port, libpq's PG* defaults too, and the
sandbox is an empty directory (commands that would create one only get `--help` or bad values).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.main import get_command

from perftool.cli.app import app
from tests.cli.fast_runner import invoke

ALLOWED_EXIT = {0, 1, 2, 3, 130}
# these create a cluster (initdb) or load data when their options are valid: only --help or bad values
HEAVY = {("demo",), ("sandbox", "start"), ("sandbox", "load-demo")}

WORK = Path(tempfile.mkdtemp(prefix="perftool-fuzz-"))
SANDBOX_DIR = WORK / "no-sandbox"
FILES = {
    "missing": WORK / "does-not-exist.sql",
    "dir": WORK,
    "empty": WORK / "empty.sql",
    "binary": WORK / "binary.sql",
    "sql": WORK / "statements.sql",
    "yaml": WORK / "set.yaml",
    "badyaml": WORK / "bad.yaml",
    "config": WORK / "perftool.yaml",
    "log": WORK / "server.log",
}
FILES["empty"].write_text("")
FILES["binary"].write_bytes(b"\x00\xff\xfe SELECT \x00 1;\x1b[31m\n" * 3)
FILES["sql"].write_text("SELECT * FROM t WHERE id = $1; SELECT 'unterminated")
FILES["yaml"].write_text("version: 1\ntables:\n  t:\n    - columns: [id]\n")
FILES["badyaml"].write_text("tables: [\n")
FILES["config"].write_text("hosts:\n  primary: postgresql://127.0.0.1:1/db\n  r1: {dsn: 'host=127.0.0.1 port=1', role: replica}\n"
                           "thresholds:\n  slow_ms: 5\n")
FILES["log"].write_text("2024-01-01 00:00:00 UTC LOG:  duration: 12.3 ms  statement: SELECT 1\n\x00garbage\n")

DSNS = ["postgresql://127.0.0.1:1/db", "host=127.0.0.1 port=1 dbname=x", "host=127.0.0.1 port=abc",
        "postgresql://u:pw@127.0.0.1:abc/db", "postgresql://u:p@ss@127.0.0.1:1/db", "mysql://u:pw@h/db",
        "host=127.0.0.1 port=1 sslmode=bogus", "host=127.0.0.1 port=99999", "host=127.0.0.1,127.0.0.1 port=1,2,3",
        "postgresql://[::1:1/db", "postgresql://127.0.0.1:1/db?bogus=1", "'", "=", "", " ", "host=", "\u202e"]
FORMATS = ["table", "json", "yaml", "csv", "markdown", "html", "prometheus", "sarif", "github", "junit", "summary",
           "nagios", "bogus", ""]
HOSTILE = st.one_of(
    st.sampled_from(["-1", "0", "1", "3", "3601", "1e309", "nan", "inf", "-0", "2147483648", "9223372036854775808",
                     "abc", "", " ", "--", "-", "1MB", "-5MB", "10XB", "I101", "I1*", "nosuch", "public.nosuch",
                     "a.b.c", "'; DROP TABLE t; --", "SELECT 1", "SELECT * FROM t WHERE id = $1", "\x1b[31m",
                     "é", "My DB", "a/b", "%zz"]),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12),
)


def _value(name: str):
    """Values for an option, by what its name says it takes (anything else: HOSTILE)."""
    if name in ("dsn",):
        return st.sampled_from(DSNS)
    if name in ("fmt", "format"):
        return st.sampled_from(FORMATS)
    if name in ("output", "write_baseline"):
        return st.sampled_from([str(WORK / "out.txt"), str(WORK), str(WORK / "no" / "such" / "dir.txt")])
    if name in ("sets", "baseline", "from_file", "log", "source", "config"):
        return st.sampled_from([str(p) for p in FILES.values()] + ["-"])
    if name in ("host",):
        return st.sampled_from(["primary", "r1", "nosuch", ""])
    if name in ("section",):
        return st.sampled_from(["workload", "tables", "indexes", "connections", "replication", "bogus"])
    return HOSTILE


def _commands():
    out = []

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        out.append((path, cmd))
        for name, sub in (subs or {}).items():
            walk(sub, (*path, name))

    walk(get_command(app), ())
    return out


COMMANDS = _commands()


@st.composite
def command_lines(draw) -> tuple[tuple[str, ...], list[str]]:
    path, cmd = draw(st.sampled_from(COMMANDS))
    args: list[str] = []
    if draw(st.integers(0, 9)) == 0:
        return path, [*path, "--help"]
    params = [p for p in cmd.params if not getattr(p, "hidden", False)]
    for p in draw(st.lists(st.sampled_from(params), max_size=4, unique_by=lambda p: p.name)) if params else []:
        if p.param_type_name == "argument":
            args.append(draw(_value(p.name or "")))
            continue
        if getattr(p, "is_flag", False):
            args.append(draw(st.sampled_from([*p.opts, *(p.secondary_opts or [])])))
            continue
        for _ in range(draw(st.integers(1, 2)) if getattr(p, "multiple", False) else 1):
            args += [draw(st.sampled_from(p.opts)), draw(_value(p.name or ""))]
    if any(p.name == "dsn" for p in params) and "--dsn" not in args and draw(st.integers(0, 4)):
        args += ["--dsn", draw(st.sampled_from(DSNS))]  # most runs get as far as connecting
    if path in HEAVY and "--help" not in args:
        args.append("--iterations=-1" if "--iterations" not in args else "--clients=0")  # refused before work
    head: list[str] = []
    for opt, values in (("--dsn", st.sampled_from(DSNS)), ("--format", st.sampled_from(FORMATS)),
                        ("--no-color", None), ("--verbose", None), ("--config", _value("config"))):
        if draw(st.integers(0, 4)) == 0:
            head += [opt] if values is None else [opt, draw(values)]
    return path, [*head, *path, *args]


ENV = {"PGHOST": "127.0.0.1", "PGPORT": "1", "PGCONNECT_TIMEOUT": "2", "DATABASE_URL": None,
       "PERFTOOL_SANDBOX_DIR": str(SANDBOX_DIR), "PERFTOOL_CONFIG": None, "PERFTOOL_DEBUG": None}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(command_lines())
@example((("indexes", "generate"), ["indexes", "generate", str(WORK / "binary.sql")]))   # not UTF-8: found so
def test_any_command_line_exits_cleanly(case):
    path, argv = case
    result = _run(argv)
    out = result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), (argv, result.exception)
    assert result.exit_code in ALLOWED_EXIT, (argv, result.exit_code, out)
    assert "Traceback" not in out, (argv, out)
    assert "internal error" not in out, (argv, out)


def _run(argv):
    from perftool.db.connect import LIMITS

    cwd = os.getcwd()
    saved = (LIMITS.statement_timeout_ms, LIMITS.lock_timeout_ms)
    os.chdir(WORK)  # no ./perftool.yaml or ./index_sets/ of the checkout
    try:
        return invoke(argv, env=ENV, catch_exceptions=True)
    finally:
        os.chdir(cwd)
        # a drawn `--statement-timeout 1` sets the process's session limits: not for the tests after this one
        LIMITS.statement_timeout_ms, LIMITS.lock_timeout_ms = saved


DSN_COMMANDS = [" ".join(p) for p, cmd in COMMANDS if p and p != ("indexes",) and any(x.name == "dsn" for x in cmd.params)]


@pytest.mark.parametrize("dsn", DSNS)
def test_every_bad_dsn_on_every_command(dsn):
    """Each DSN of the list through every command that connects: a clean exit 2 or 3."""
    for command in [*DSN_COMMANDS, "indexes --check"]:
        for argv in ([*command.split(), "--dsn", dsn], ["--dsn", dsn, *command.split()]):
            result = _run(argv)
            out = result.stdout + result.stderr
            assert result.exit_code in (2, 3), (argv, result.exit_code, out)
            assert "Traceback" not in out and "internal error" not in out, (argv, out)
            assert len(result.stderr.strip().splitlines()) == 1, (argv, out)


def test_every_command_is_fuzzed():
    """The command list comes from the app itself; this pins that it is the whole tree."""
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"queries", "analyze", "indexes", "indexes health", "indexes snapshot", "indexes diff", "indexes check",
            "indexes recommend", "sandbox url", "sandbox status", "sandbox workload", "explain", "pool", "replicas",
            "demo"} <= names
