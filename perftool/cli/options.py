"""Options shared by every command, declared once.

Global options (`perftool --dsn … queries`) and the same options after the command
(`perftool queries --dsn …`) both work; the command's own value wins.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

if TYPE_CHECKING:
    from perftool.config import Config
    from perftool.report.model import Report



class FailOn(str, Enum):
    """--fail-on: a finding severity (perftool.report.model.Severity), or never."""

    info = "info"
    warning = "warning"
    error = "error"
    never = "never"


class Sort(str, Enum):
    """queries --sort (perftool.workload.queries.SORT_KEYS)."""

    total = "total"
    mean = "mean"
    calls = "calls"
    rows = "rows"
    io = "io"
    temp = "temp"


class Weight(str, Enum):
    """indexes recommend --weight (perftool.advisor.options.WEIGHTS)."""

    calls = "calls"
    total_time = "total_time"


DsnOpt = Annotated[Optional[str], typer.Option(
    "--dsn", "-d", help="libpq URL or key=value string. Default: $DATABASE_URL, then PG* variables.",
    show_default=False)]
FormatOpt = Annotated[Optional[str], typer.Option(
    "--format", "-f", help="Output format: table, json, yaml, csv, markdown, html, prometheus, … (per command).",
    show_default=False)]
# explain: -f is its statement FILE (as psql's), so --format has no short form there
ExplainFormatOpt = Annotated[Optional[str], typer.Option(
    "--format", help="Output format: table (the plan tree), json, yaml, markdown, csv, …", show_default=False)]
OutputOpt = Annotated[Optional[Path], typer.Option(
    "--output", "-o", help="Write the result to FILE instead of stdout.", show_default=False)]
FailOnOpt = Annotated[Optional[FailOn], typer.Option(
    "--fail-on", help="Exit 1 when a finding has this severity or worse (default: never).", show_default=False)]
GateFailOnOpt = Annotated[Optional[FailOn], typer.Option(
    "--fail-on", help="Exit 1 when a finding has this severity or worse (default: error).", show_default=False)]
HostOpt = Annotated[Optional[str], typer.Option(
    "--host", help="Use the named host from perftool.yaml.", show_default=False)]
SlowMsOpt = Annotated[Optional[float], typer.Option(
    "--slow-ms", help="Mean time that makes a statement slow (warning). Default 1000.", show_default=False)]
SlowCriticalMsOpt = Annotated[Optional[float], typer.Option(
    "--slow-critical-ms", help="Mean time that makes it an error. Default 5000.", show_default=False)]
NestedOpt = Annotated[bool, typer.Option(
    "--nested", help="Include statements run inside functions (pg_stat_statements.track = all).")]
MinCallsOpt = Annotated[int, typer.Option(
    "--min-calls", help="Leave out pg_stat_statements entries with fewer calls.")]
IterationsOpt = Annotated[int, typer.Option("--iterations", min=1, help="Workload iterations per client.")]
ClientsOpt = Annotated[int, typer.Option("--clients", min=1, help="Concurrent workload clients.")]
StatementTimeoutOpt = Annotated[Optional[str], typer.Option(
    "--statement-timeout", help="Cancel any one statement perftool runs after this long (500ms, 30s, 2min; "
    "default 30s, or $PERFTOOL_STATEMENT_TIMEOUT).", show_default=False)]
LockTimeoutOpt = Annotated[Optional[str], typer.Option(
    "--lock-timeout", help="Give up waiting for a lock after this long (default 2s, or $PERFTOOL_LOCK_TIMEOUT).",
    show_default=False)]
ServerLogOpt = Annotated[Optional[list[Path]], typer.Option(
    "--log", help="A PostgreSQL server log (repeatable): indexes recommend reads its log_min_duration_statement "
                  "lines, explain its auto_explain plans (stderr, csvlog or jsonlog; with --top N the N slowest).",
    show_default=False)]
IntervalOpt = Annotated[Optional[float], typer.Option(
    "--interval", "-i", help="Take two samples SECONDS apart: analyze reports the delta (rates per second) instead of "
    "totals since the last reset; replicas adds each slot's WAL growth and a fill forecast.", show_default=False)]
AllHostsOpt = Annotated[bool, typer.Option(
    "--all-hosts", help="Every host in perftool.yaml but pgbouncer: analyze merges them (a host that cannot be "
    "analysed is named in an R103 finding); replicas shows them in one table, read in parallel (a replica that does "
    "not answer is 'receiver down').")]
WATCH_DEFAULT_S = 2.0
WatchOpt = Annotated[Optional[float], typer.Option(
    "--watch", "-w", min=0.2, metavar="[SECONDS]",
    help="Live view: read again every SECONDS (default 2) until Ctrl-C; a terminal redraws in place.",
    show_default=False)]


def optional_watch_value(args: list[str]) -> list[str]:
    """`--watch` / `-w` without a number after it means every WATCH_DEFAULT_S seconds (Typer has no
    options with an optional value: the default is put in before parsing; after `--` nothing is)."""
    out: list[str] = []
    for i, a in enumerate(args):
        if a == "--":
            return out + args[i:]
        out.append(a)
        if a in ("--watch", "-w"):
            nxt = args[i + 1] if i + 1 < len(args) else None
            try:
                float(nxt)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                out.append(f"{WATCH_DEFAULT_S:g}")
    return out


def set_limits(statement_timeout: str | None = None, lock_timeout: str | None = None) -> None:
    """Apply --statement-timeout / --lock-timeout to every session this process opens."""
    if statement_timeout is None and lock_timeout is None:
        return
    from perftool.db.connect import LIMITS
    from perftool.units import parse_duration_ms

    if statement_timeout is not None:
        LIMITS.statement_timeout_ms = parse_duration_ms(statement_timeout, what="--statement-timeout")
    if lock_timeout is not None:
        LIMITS.lock_timeout_ms = parse_duration_ms(lock_timeout, what="--lock-timeout")


@dataclass
class CliState:
    dsn: str | None = None
    config_path: Path | None = None
    fmt: str | None = None
    output: Path | None = None
    no_color: bool = False
    verbose: bool = False
    debug: bool = False
    known_dsns: list[str] = field(default_factory=list)  # every DSN this run used: error lines mask them
    _config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            from perftool.config import load_config

            self._config = load_config(self.config_path)
        return self._config

    def thresholds(self, **overrides: Any):
        """The config's thresholds with the options the user gave on the command line applied."""
        from dataclasses import replace

        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(self.config.thresholds, **given) if given else self.config.thresholds

    def resolve_dsn(self, dsn: str | None = None, host: str | None = None) -> str:
        from perftool.db.connect import resolve_dsn

        if host:
            resolved = self.config.host(host).dsn
        elif dsn or self.dsn:
            resolved = resolve_dsn(dsn or self.dsn)
        else:
            resolved = resolve_dsn(None, config_dsn=self.config.default_dsn())
        self.known_dsns.append(resolved)
        return resolved


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def check_output(ctx: typer.Context, fmt: str | None = None, fail_on: FailOn | str | None = None,
                 default_fail_on: str = "never", formats: list[str] | None = None) -> tuple[str, str]:
    """Validate --format and --fail-on before any work is done (usage errors exit 2 at once)."""
    from perftool.db.errors import UsageError
    from perftool.report.render import FORMATS

    fail_on = fail_on.value if isinstance(fail_on, FailOn) else fail_on
    fmt = fmt or state(ctx).fmt or "table"
    allowed = formats or list(FORMATS)
    if fmt not in allowed:
        raise UsageError(f"unknown format {fmt!r}", f"choose one of: {', '.join(allowed)}")
    fail_on = fail_on or default_fail_on
    if fail_on not in ("info", "warning", "error", "never"):
        raise UsageError(f"--fail-on must be info, warning, error or never, not {fail_on!r}")
    return fmt, fail_on


def reader_went_away() -> None:
    """stdout's reader closed the pipe (`perftool queries | head -1`): send the rest of our output
    to /dev/null so that Python's final flush cannot fail too (Python docs, "Note on SIGPIPE")."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (CliRunner, io.StringIO)
        pass


def write_stdout(write) -> None:
    """Call `write(sys.stdout)` and flush. A closed pipe is not an error: the output was complete,
    only its reader stopped reading, so the command goes on to its own exit code (docs/cli.md)."""
    try:
        write(sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:
        reader_went_away()


def emit(ctx: typer.Context, report: Report, *, fmt: str | None = None, output: Path | None = None,
         fail_on: FailOn | str | None = None, default_fail_on: str = "never", formats: list[str] | None = None) -> None:
    """Render `report` to stdout or --output, then exit with the --fail-on code."""
    from perftool.db.errors import UsageError
    from perftool.report.render import render

    st = state(ctx)
    fmt, fail_on = check_output(ctx, fmt, fail_on, default_fail_on, formats)
    output = output or st.output
    if output:
        try:
            with open(output, "w", encoding="utf-8") as fh:
                render(report, fmt, fh, no_color=True)
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror}") from None
    else:
        write_stdout(lambda out: render(report, fmt, out, no_color=st.no_color))
    if fmt == "nagios":   # the plugin convention: 0 OK, 1 WARNING, 2 CRITICAL (3 UNKNOWN: nagios_unknown)
        from perftool.report.nagios_format import exit_code

        code = exit_code(report)
    else:
        code = report.exit_code(fail_on)
    if code:
        raise typer.Exit(code)


def nagios_unknown(ctx: typer.Context, command: str, exc: Exception) -> None:
    """A check that could not run, as Nagios wants it: the UNKNOWN line on stdout, exit 3 (the
    message masked like every error line)."""
    from perftool.db.connect import redact
    from perftool.report.nagios_format import unknown_line

    message = exc.one_line() if hasattr(exc, "one_line") else str(exc)
    write_stdout(lambda out: out.write(unknown_line(command, redact(message, *state(ctx).known_dsns)) + "\n"))
    raise typer.Exit(3)


def monitor(ctx: typer.Context, command: str, prepare: Callable[[], Callable[[], Report]], *,
            watch: float | None, fmt: str, output: Path | None, fail_on: FailOn | str | None) -> None:
    """`pool` and `replicas`: `prepare()` resolves the targets and returns the function that reads
    one report; that report is emitted, or read again every `watch` seconds in a live view. With
    --format nagios, a check that could not run is the UNKNOWN line (exit 3)."""
    from perftool.db.errors import PerftoolError

    try:
        produce = prepare()
        if watch is not None:
            from perftool.report.live import watch as live

            live(produce, watch, no_color=state(ctx).no_color)
            return
        report = produce()
    except PerftoolError as exc:
        if fmt == "nagios":
            nagios_unknown(ctx, command, exc)
        raise
    emit(ctx, report, fmt=fmt, output=output, fail_on=fail_on)
