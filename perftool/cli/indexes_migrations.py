"""`perftool indexes generate | lint | apply`: index migrations (perftool/migrations)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from perftool.cli.options import DsnOpt, FormatOpt, HostOpt, LockTimeoutOpt, OutputOpt
from perftool.cli.options import GateFailOnOpt as GateFailOn

SourceArg = Annotated[Optional[str], typer.Argument(
    help="perftool's JSON (indexes recommend, diff, check or health with --format json) or a change list "
    "(YAML/JSON); - reads stdin.", show_default=False)]
FrameworkOpt = Annotated[Optional[str], typer.Option(
    "--framework", help="sql, alembic, django, rails, flyway, goose, golang-migrate, knex or prisma (generate: "
    "default sql; lint: default from each file's name and content).", show_default=False)]
IncludeDropsOpt = Annotated[bool, typer.Option(
    "--include-drops", help="Also drop the indexes an index set does not declare (I202), and an index replaced by its declared form (I203).")]


def _lock_timeout(value: str | None) -> tuple[int, str]:
    """--lock-timeout (the shared option; default $PERFTOOL_LOCK_TIMEOUT, else 2s) in ms and as SQL text."""
    from perftool.cli.options import set_limits
    from perftool.db.connect import LIMITS

    set_limits(lock_timeout=value)
    ms = LIMITS.lock_timeout()
    return ms, (f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms")


def generate(
    ctx: typer.Context,
    source: SourceArg = None,
    framework: FrameworkOpt = None,
    out_dir: Annotated[Optional[Path], typer.Option(
        "--out-dir", "-o", help="Directory to write the migration file(s) into (default: stdout).", show_default=False)] = None,
    name: Annotated[str, typer.Option("--name", help="Migration name (file names, class names).")] = "perftool_indexes",
    stamp: Annotated[Optional[str], typer.Option(
        "--stamp", help="Version/timestamp in the file names. Default: now, UTC, YYYYMMDDHHMMSS.", show_default=False)] = None,
    revises: Annotated[Optional[str], typer.Option(
        "--revises", help="alembic: the down_revision; django: the dependency as app.migration.", show_default=False)] = None,
    recommend: Annotated[bool, typer.Option(
        "--recommend", help="Run the advisor on the database's pg_stat_statements (--dsn) instead of reading a file. "
        "With a file, --dsn looks up the partitions of partitioned tables.")] = False,
    include_drops: IncludeDropsOpt = False,
    lock_timeout: LockTimeoutOpt = None,
    dsn: DsnOpt = None,
    host: HostOpt = None,
) -> None:
    """Write a migration that creates (or drops) indexes safely for your framework: outside a
    transaction, CONCURRENTLY, with lock_timeout, the invalid-index guard and a down step."""
    import datetime as dt

    from perftool.cli.console import info, warn
    from perftool.cli.options import state, write_stdout
    from perftool.db.errors import UsageError
    from perftool.migrations.changes import read_changes, recommended_changes
    from perftool.migrations.frameworks import FRAMEWORKS, Options, concatenated, write_migration
    from perftool.migrations.frameworks import generate as render

    framework = framework or "sql"
    if framework not in FRAMEWORKS:
        raise UsageError(f"unknown framework {framework!r}", f"choose one of: {', '.join(FRAMEWORKS)}")
    if stamp is not None and not stamp.isdigit():
        raise UsageError(f"--stamp must be digits, not {stamp!r}")
    if recommend == (source is not None):
        raise UsageError("give one of FILE, - or --recommend")
    _, lock_text = _lock_timeout(lock_timeout)
    if recommend:
        from perftool.cli.console import status

        with status("running the advisor"):
            changes = recommended_changes(state(ctx).resolve_dsn(dsn, host))
    else:
        changes = read_changes(source or "-", include_drops=include_drops)
    if dsn or host:     # the partitions of partitioned tables, from the database
        from perftool.db.connect import connect
        from perftool.migrations.changes import resolve_partitions

        with connect(state(ctx).resolve_dsn(dsn, host)) as conn:
            changes.notes += resolve_partitions(conn, changes.changes)
    for note in changes.notes:
        warn(note)
    if not changes.changes:
        raise UsageError(f"{changes.source}: no index changes in it", "nothing to generate")
    options = Options(name=name, stamp=stamp or dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d%H%M%S"),
                      lock_timeout=lock_text, revises=revises)
    migration = render(changes.changes, framework, options)
    target = out_dir or state(ctx).output
    if target is None:
        text = concatenated(migration)
        write_stdout(lambda out: out.write(text))
        return
    for path in write_migration(migration, target):
        info(f"wrote {path}")


def lint(
    ctx: typer.Context,
    paths: Annotated[list[str], typer.Argument(help="Migration files or directories (searched for .sql, .py, .rb, .js, .ts).")],
    framework: FrameworkOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
    fail_on: GateFailOn = None,
) -> None:
    """Find the index-migration traps (M1xx) in migration files: CONCURRENTLY inside a transaction,
    builds that block writes, IF NOT EXISTS without the invalid-index guard, no lock_timeout, …"""
    from perftool.cli.options import check_output, emit
    from perftool.migrations.lint import lint_report

    check_output(ctx, fmt, fail_on, default_fail_on="error")
    report = lint_report(paths, framework)
    emit(ctx, report, fmt=fmt, output=output, fail_on=fail_on, default_fail_on="error")


class _ProgressBar:
    """apply's progress on stderr: a rich progress bar per index on a terminal (phase, blocks or
    tuples from pg_stat_progress_create_index), one line per event otherwise (with -v)."""

    def __init__(self) -> None:
        import sys

        from perftool.cli.console import stderr_console

        self.live = sys.stderr.isatty()
        self.bar: Any = None
        self.task: Any = None
        if self.live:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[phase]}"),
                                TimeElapsedColumn(), console=stderr_console(), transient=False)
            self.bar.start()

    def __call__(self, event: str, data: dict) -> None:
        from perftool.cli.console import info, warn

        if event == "retry":
            warn(f"{data['what']}: lock timeout, retry in {data['wait_s']:g}s (attempt {data['attempt'] + 1})")
        elif event == "cleanup":
            info(f"dropping INVALID leftover {data['index']}")
        elif event == "analyze":
            info("ANALYZE " + ", ".join(data["tables"]))
        elif event == "change" and not self.live:
            info(data["change"])
        if self.bar is None:
            return
        if event == "start":
            self.task = self.bar.add_task(data["index"], total=None, phase="waiting")
        elif event == "progress" and self.task is not None:
            total, done = data.get("blocks_total") or 0, data.get("blocks_done") or 0
            if not total:
                total, done = data.get("tuples_total") or 0, data.get("tuples_done") or 0
            self.bar.update(self.task, total=total or None, completed=done, phase=data.get("phase") or "")
        elif event == "end" and self.task is not None:
            self.bar.update(self.task, phase="done")
            self.task = None

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def apply(
    ctx: typer.Context,
    source: Annotated[Optional[str], typer.Argument(
        help="Change list or perftool JSON (as for generate); - reads stdin.", show_default=False)] = None,
    from_recommend: Annotated[bool, typer.Option(
        "--from-recommend", help="Run the advisor on pg_stat_statements (default options) and apply its recommendations.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Pre-flight and the plan only: change nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask (required when stdin is not a terminal).")] = False,
    preflight_only: Annotated[bool, typer.Option(
        "--preflight-only", help="Only list what a concurrent build would wait for, table sizes and write rates.")] = False,
    include_drops: IncludeDropsOpt = False,
    lock_timeout: LockTimeoutOpt = None,
    retries: Annotated[int, typer.Option("--retries", min=0, help="Retries of a statement that hit lock_timeout (exponential backoff).")] = 5,
    backoff: Annotated[str, typer.Option("--backoff", help="First wait before a retry (doubled each time, at most 30s).")] = "1s",
    skip_analyze: Annotated[bool, typer.Option("--skip-analyze", help="Do not ANALYZE the tables after the builds.")] = False,
    dsn: DsnOpt = None,
    host: HostOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Create (or drop) the indexes for real, one at a time: CONCURRENTLY, INVALID leftovers dropped,
    lock timeouts retried with backoff, a progress bar on stderr, ANALYZE, a final report.
    The one writing command besides sandbox. Exit 1 when a change failed."""
    import sys

    from perftool.cli.console import warn
    from perftool.cli.options import check_output, emit, state
    from perftool.db.errors import UsageError
    from perftool.migrations.apply import ApplyOptions, apply_report, failed
    from perftool.migrations.changes import read_changes, recommended_changes
    from perftool.units import parse_duration_ms

    check_output(ctx, fmt)
    if (source is None) == (not from_recommend):
        raise UsageError("give one of FILE, - or --from-recommend")
    options = ApplyOptions(lock_timeout_ms=_lock_timeout(lock_timeout)[0],
                           retries=retries, backoff_s=(parse_duration_ms(backoff, what="--backoff") or 0) / 1000,
                           analyze=not skip_analyze, dry_run=dry_run)
    st = state(ctx)
    resolved = st.resolve_dsn(dsn, host)
    if from_recommend:
        from perftool.cli.console import status

        with status("running the advisor"):
            changes = recommended_changes(resolved)
    else:
        changes = read_changes(source or "-", include_drops=include_drops)
    for note in changes.notes:
        warn(note)
    writes = not (dry_run or preflight_only) and bool(changes.changes)
    if writes and not yes:
        if not sys.stdin.isatty() or source == "-":
            raise UsageError("indexes apply changes the database: pass --yes to confirm",
                             "or run it on a terminal to be asked; --dry-run shows the plan")
        listed = "\n".join(f"  {c.label}" + (f" ({len(c.partitions)} partitions)" if c.partitions else "")
                           for c in changes.changes)
        if not typer.confirm(f"Apply {len(changes.changes)} index change(s)?\n{listed}\n", err=True):
            raise typer.Exit(1)
    bar = _ProgressBar() if writes else None
    try:
        report = apply_report(resolved, changes.changes, options, bar, preflight_only=preflight_only)
    finally:
        if bar is not None:
            bar.close()
    emit(ctx, report, fmt=fmt, output=output)
    if failed(report):
        raise typer.Exit(1)
