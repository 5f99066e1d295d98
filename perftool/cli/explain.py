"""`perftool explain` (not built yet: its issue fills it in)."""

from __future__ import annotations

import typer


def explain(ctx: typer.Context) -> None:
    """Not available yet."""
    from perftool.db.errors import UsageError

    raise UsageError("perftool explain is not available in this version yet")
