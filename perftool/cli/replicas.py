"""`perftool replicas` (not built yet: its issue fills it in)."""

from __future__ import annotations

import typer


def replicas(ctx: typer.Context) -> None:
    """Not available yet."""
    from perftool.db.errors import UsageError

    raise UsageError("perftool replicas is not available in this version yet")
