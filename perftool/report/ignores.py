"""Accepted findings: `ignore:` entries (an index set's, perftool.yaml's) and the one rule that
matches them against findings — the code and the object as globs (`I104`, `T1*`; `archive.*`),
first entry wins."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass

from perftool.report.model import Finding


@dataclass(frozen=True)
class Source:
    """Where an entry was written: `file:line`."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class IgnoreEntry:
    """Findings of `code` on `object` (globs) are accepted, for `reason`."""

    code: str
    object: str = "*"
    reason: str = ""
    source: Source | None = None   # file:line of the entry, when known
    origin: str = "index set"      # what `by` says without a source (perftool.yaml)

    def matches(self, code: str, obj: str) -> bool:
        return fnmatch.fnmatchcase(code, self.code) and fnmatch.fnmatchcase(obj, self.object)

    @property
    def by(self) -> str:
        """Who accepted the finding: the entry's file:line, or its origin."""
        return str(self.source) if self.source else self.origin


def apply_ignores(findings: Iterable[Finding], entries: Iterable[IgnoreEntry]
                  ) -> tuple[list[Finding], list[tuple[Finding, IgnoreEntry]]]:
    """The findings no entry matches, and the others each with the first entry that matches it."""
    rules = list(entries)
    kept: list[Finding] = []
    dropped: list[tuple[Finding, IgnoreEntry]] = []
    for f in findings:
        entry = next((e for e in rules if e.matches(f.code, f.object)), None)
        if entry is None:
            kept.append(f)
        else:
            dropped.append((f, entry))
    return kept, dropped
