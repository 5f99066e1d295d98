"""User-facing errors: one line of message, an optional hint, and the exit code the CLI uses.

Exit codes (DESIGN.md): 0 ok, 1 findings at or above --fail-on, 2 usage or input error,
3 could not complete (connection, permission, missing extension, timeout).
"""

from __future__ import annotations


class PerftoolError(Exception):
    """Base class: `str(err)` is the one-line message, `hint` says what to do about it."""

    exit_code = 3

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(PerftoolError):
    """Bad option values, unreadable or invalid input files (exit 2)."""

    exit_code = 2


class InputError(UsageError):
    """Input the user supplied cannot be parsed: YAML, SQL files, baselines (exit 2)."""


class ConnectionFailed(PerftoolError):
    """The server could not be reached or refused us (exit 3)."""


class MissingExtension(PerftoolError):
    """A required extension is not installed or not loaded (exit 3)."""


class MissingPrivilege(PerftoolError):
    """The role lacks a privilege the command needs (exit 3)."""


class QueryTimeout(PerftoolError):
    """statement_timeout or lock_timeout cancelled a perftool query (exit 3)."""


class SandboxError(PerftoolError):
    """The managed sandbox cluster could not be created, started or stopped (exit 3)."""
