"""`perftool indexes recommend` (filled in by the index-advisor issue)."""

from __future__ import annotations

import typer


def recommend(ctx: typer.Context) -> None:
    """Recommend indexes for a workload (HypoPG what-if costing)."""
    from perftool.core.errors import UsageError

    raise UsageError("perftool indexes recommend is not available in this version yet")
