"""`AdvisorOptions`: what `indexes recommend` was asked for, checked once when it is made."""

from __future__ import annotations

from dataclasses import dataclass

from perftool.db.errors import UsageError

WEIGHTS = ("calls", "total_time")
LITERALS = ("example", "constant")


@dataclass
class AdvisorOptions:
    budget_bytes: int | None = None
    max_indexes: int | None = None
    max_width: int = 3
    min_improvement: float = 0.10
    weight: str = "calls"
    whatif: bool = True
    explain_choice: bool = False
    min_calls: int = 1
    partial: bool = True            # partial-index candidates for constant predicates
    literals: str = "example"       # literals: example values unless the workload repeats them ("constant": all)
    verify_on: str | None = None    # DSN of a staging copy: build unverified (GIN/GiST) candidates there, rolled back
    include: bool = True            # INCLUDE columns that complete an index-only scan
    refine_seconds: float = 20.0    # local search after the greedy (0: none) …
    refine_explains: int = 1200     # … that stops after this many EXPLAINs (so the result is deterministic) …
    time_budget_s: float = 30.0     # … or, on a very slow server, this long after the advisor started

    def __post_init__(self) -> None:
        if self.weight not in WEIGHTS:
            raise UsageError(f"--weight must be calls or total_time, not {self.weight!r}")
        if self.literals not in LITERALS:
            raise UsageError(f"--literals must be example or constant, not {self.literals!r}")
        if self.max_width < 1 or self.max_width > 32:
            raise UsageError("--max-width must be between 1 and 32")
        if self.max_indexes is not None and self.max_indexes < 0:
            raise UsageError("--max-indexes must be zero or more")
        if self.budget_bytes is not None and self.budget_bytes < 0:
            raise UsageError("--budget must be zero or more")
        if not 0.0 <= self.min_improvement < 1.0:
            raise UsageError("--min-improvement must be a fraction between 0 and 1 (0.10 = 10 %)")
