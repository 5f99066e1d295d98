"""The root Typer app: global options, command registration, error handling.

Command modules import only typer at import time (core modules load inside the command
functions), so `perftool --help` stays fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from perftool import __version__
from perftool.cli.options import (
    CliState,
    DsnOpt,
    FormatOpt,
    LockTimeoutOpt,
    OutputOpt,
    StatementTimeoutOpt,
    set_limits,
)


class PerftoolGroup(TyperGroup):
    """Turns errors into one line on stderr and an exit code (tracebacks only with --debug).

    Every message goes through `redact()` with every DSN this run knows of (--dsn, $DATABASE_URL,
    perftool.yaml's hosts, and each command-line argument, in case a DSN landed where an option
    value was expected), so no error line can show a password."""

    def make_context(self, info_name, args, parent=None, **extra):
        from perftool.cli.options import optional_watch_value

        args = optional_watch_value(list(args))
        argv = list(args)
        try:
            ctx = super().make_context(info_name, args, parent=parent, **extra)
        except _usage_errors() as exc:
            _redact_click(exc, *argv)
            raise
        ctx.meta["perftool.argv"] = argv
        return ctx

    def invoke(self, ctx):
        from perftool.db.errors import PerftoolError

        def debug() -> bool:  # known only once the root callback has run
            st = ctx.obj if isinstance(ctx.obj, CliState) else None
            return bool((st and st.debug) or os.environ.get("PERFTOOL_DEBUG"))

        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            raise
        except _usage_errors() as exc:
            _redact_click(exc, *_known_dsns(ctx))
            if _is_bad_choice(exc):  # a closed set (--fail-on, --sort, …): one line, like perftool's own errors
                _fail(ctx, exc.format_message().replace("Value error, ", ""), 2)
            raise
        except BrokenPipeError:
            from perftool.cli.options import reader_went_away

            reader_went_away()
            raise typer.Exit(0) from None
        except PerftoolError as exc:
            if debug():
                raise
            _fail(ctx, exc.one_line(), exc.exit_code)
        except KeyboardInterrupt:
            _fail(ctx, "interrupted", 130)
        except Exception as exc:  # a bug: still one line (and a hint) unless --debug
            if debug():
                raise
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            _fail(ctx, f"internal error: {type(exc).__name__}{': ' + text if text else ''} "
                       "(run with --debug for the traceback, and please report it)", 3)


def _usage_errors() -> tuple[type[Exception], ...]:
    """The exceptions Typer prints for a bad command line: its own (it vendors Click since 0.27),
    and Click's when a Click is installed beside it."""
    try:
        from click import ClickException
    except ImportError:
        return (typer.TyperException,)
    return (typer.TyperException, ClickException)


def _is_bad_choice(exc: Exception) -> bool:
    """A bad value for an Enum-typed option (Typer validated it against the choices): Typer 0.29
    describes the type with `type_descriptor.is_choice`, earlier versions with a Click `Choice`."""
    param = getattr(exc, "param", None)
    descriptor = getattr(param, "type_descriptor", None)
    return isinstance(exc, typer.BadParameter) and (bool(getattr(descriptor, "is_choice", False))
                                                    or type(getattr(param, "type", None)).__name__ in ("Choice", "TyperChoice"))


def _known_dsns(ctx) -> list[str]:
    st = ctx.find_root().obj if ctx is not None else None
    dsns = [os.environ.get("DATABASE_URL") or "", *(ctx.meta.get("perftool.argv", []) if ctx else [])]
    if isinstance(st, CliState):
        dsns += [st.dsn or "", *st.known_dsns]
        if st._config is not None:
            dsns += [h.dsn for h in st._config.hosts.values()]
    return [d for d in dsns if d]


def _redact_click(exc, *dsns: str) -> None:
    from perftool.db.connect import redact

    exc.message = redact(exc.message, *dsns)


def _fail(ctx, message: str, code: int):
    from perftool.cli.console import error
    from perftool.db.connect import redact

    error(redact(message, *_known_dsns(ctx)))
    raise typer.Exit(code) from None


app = typer.Typer(
    name="perftool",
    cls=PerftoolGroup,
    help="Tune PostgreSQL databases behind web APIs: slow statements, health report, index advice, CI gate.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"perftool {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    dsn: DsnOpt = None,
    config: Annotated[Optional[Path], typer.Option("--config", help="perftool.yaml with hosts, thresholds, ignores (default: ./perftool.yaml).", show_default=False)] = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
    no_color: Annotated[bool, typer.Option("--no-color", help="No colour (also: NO_COLOR=1).")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Progress and details on stderr.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    statement_timeout: StatementTimeoutOpt = None,
    lock_timeout: LockTimeoutOpt = None,
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = None,
) -> None:
    from perftool.cli.console import set_color, set_verbose

    ctx.obj = CliState(dsn=dsn, config_path=config, fmt=fmt, output=output, no_color=no_color,
                       verbose=verbose or debug, debug=debug)
    set_verbose(verbose or debug)
    set_limits(statement_timeout, lock_timeout)
    set_color(not no_color)


def _register() -> None:
    from perftool.cli import analyze, demo, explain, indexes, pool, queries, replicas, sandbox

    app.command("queries", help="Top statements from pg_stat_statements, with slow-statement findings.")(queries.queries)
    app.command("analyze", help="One-shot health report: workload, tables, indexes, connections, score.")(analyze.analyze)
    # reserved names, not built yet: callable (exit 2, "not available yet") but not listed in --help
    app.command("explain", help="EXPLAIN (ANALYZE, BUFFERS) a statement safely: the plan as a tree, P1xx tips proven with HypoPG.")(explain.explain)
    app.add_typer(indexes.app, name="indexes")
    app.command("pool", help="Connections, leaks, lock tree, xmin horizon, wraparound; pgbouncer pools.")(pool.pool)
    app.command("replicas", help="Replica lag verdicts (time and bytes) and replication slots, fleet-wide.")(replicas.replicas)
    app.add_typer(sandbox.app, name="sandbox")
    app.command("demo", help="Start the sandbox, load the demo database, run its workload, and analyse it.")(demo.demo)


_register()


def main() -> None:
    try:
        app(prog_name="perftool")
    except BrokenPipeError:
        # the reader went away outside a command's own output (`perftool sandbox status | head -1`)
        from perftool.cli.options import reader_went_away

        reader_went_away()
        sys.exit(0)


def console() -> None:
    """The `perftool` program (console script, `python -m perftool`): `main`, then the process
    ends once the command is done and its output flushed, without the interpreter's teardown —
    freeing every object one by one, which after `analyze` on 10,000 tables (a million objects,
    nothing left to close: connections and sibling threads are closed by then) is 60 ms of
    nothing. perftool registers no atexit handler. `main` itself raises SystemExit as usual (for
    callers in Python)."""
    try:
        main()
    except SystemExit as done:
        _exit_now(done.code)


def _exit_now(code: object) -> None:
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        from perftool.cli.options import reader_went_away

        reader_went_away()
    try:
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass
    os._exit(status)
