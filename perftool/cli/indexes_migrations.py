"""`perftool indexes generate | lint | apply`: index migrations (perftool/migrations)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

FromOpt = Annotated[str, typer.Option(
    "--from", help="perftool's JSON (indexes recommend, diff, check or health with --format json) or a change "
    "list (YAML/JSON); - reads stdin.", show_default=False)]
IncludeDropsOpt = Annotated[bool, typer.Option(
    "--include-drops", help="Also drop the indexes an index set does not declare (I202), and an index replaced by its declared form (I203).")]
MigrationLockTimeoutOpt = Annotated[str, typer.Option(
    "--lock-timeout", help="lock_timeout set before the DDL: how long a lock wait may hold up the table's traffic.")]


def generate(
    ctx: typer.Context,
    source: FromOpt = "-",
    framework: Annotated[str, typer.Option(
        "--framework", help="sql, alembic, django, rails, flyway, goose, golang-migrate, knex or prisma.")] = "sql",
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="Directory to write the migration file(s) into (default: stdout).", show_default=False)] = None,
    name: Annotated[str, typer.Option("--name", help="Migration name (file names, class names).")] = "perftool_indexes",
    stamp: Annotated[Optional[str], typer.Option(
        "--stamp", help="Version/timestamp in the file names. Default: now, UTC, YYYYMMDDHHMMSS.", show_default=False)] = None,
    revises: Annotated[Optional[str], typer.Option(
        "--revises", help="alembic: the down_revision; django: the dependency as app.migration.", show_default=False)] = None,
    include_drops: IncludeDropsOpt = False,
    lock_timeout: MigrationLockTimeoutOpt = "5s",
) -> None:
    """Write a migration that creates (or drops) indexes safely for your framework: outside a
    transaction, CONCURRENTLY, with lock_timeout, the invalid-index guard and a down step."""
    import datetime as dt

    from perftool.cli.console import info, warn
    from perftool.cli.options import state, write_stdout
    from perftool.db.errors import UsageError
    from perftool.migrations.changes import read_changes
    from perftool.migrations.frameworks import FRAMEWORKS, Options, concatenated, write_migration
    from perftool.migrations.frameworks import generate as render
    from perftool.units import parse_duration_ms

    if framework not in FRAMEWORKS:
        raise UsageError(f"unknown framework {framework!r}", f"choose one of: {', '.join(FRAMEWORKS)}")
    if stamp is not None and not stamp.isdigit():
        raise UsageError(f"--stamp must be digits, not {stamp!r}")
    parse_duration_ms(lock_timeout, what="--lock-timeout")
    changes = read_changes(source, include_drops=include_drops)
    for note in changes.notes:
        warn(note)
    if not changes.changes:
        raise UsageError(f"{changes.source}: no index changes in it", "nothing to generate")
    options = Options(name=name, stamp=stamp or dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d%H%M%S"),
                      lock_timeout=lock_timeout, revises=revises)
    migration = render(changes.changes, framework, options)
    target = output or state(ctx).output
    if target is None:
        text = concatenated(migration)
        write_stdout(lambda out: out.write(text))
        return
    for path in write_migration(migration, target):
        info(f"wrote {path}")
