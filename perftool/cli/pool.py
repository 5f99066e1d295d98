"""`perftool pool` (not built yet: its issue fills it in)."""

from __future__ import annotations

import typer


def pool(ctx: typer.Context) -> None:
    """Not available yet."""
    from perftool.db.errors import UsageError

    raise UsageError("perftool pool is not available in this version yet")
