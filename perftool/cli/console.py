"""stderr for people: progress, warnings and errors, through one rich `Console(stderr=True)`.
stdout carries only the result.

Colour only on a terminal, never with NO_COLOR set or --no-color (`set_color(False)`). rich is
imported on the first message, not at start-up (`perftool --help` stays fast)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

_verbose = False
_color = True


def set_verbose(on: bool) -> None:
    global _verbose
    _verbose = on


def set_color(on: bool) -> None:
    """`--no-color` turns colour off here too, not only on stdout."""
    global _color
    _color = on


def _stderr_color() -> bool:
    return _color and sys.stderr.isatty() and os.environ.get("NO_COLOR", "") == ""


def stderr_console() -> Console:
    """The console for stderr as things stand now (sys.stderr, the colour switches): messages are
    few, so one is made per use rather than cached past a change of sys.stderr or --no-color."""
    from rich.console import Console

    return Console(stderr=True, color_system="auto" if _stderr_color() else None, highlight=False,
                   markup=False, emoji=False, soft_wrap=True)


def _line(prefix: str, style: str, message: str) -> None:
    from rich.text import Text

    console = stderr_console()
    console.print(Text.assemble((prefix, style), message) if prefix else Text(message))
    console.file.flush()


def info(message: str) -> None:
    """A progress line, shown with -v or on a terminal."""
    if _verbose or sys.stderr.isatty():
        _line("", "", message)


def warn(message: str) -> None:
    _line("warning: ", "yellow", message)


def error(message: str) -> None:
    _line("perftool: error: ", "red", message)


@contextmanager
def status(message: str) -> Iterator[None]:
    """A spinner on an interactive stderr; a plain line with -v otherwise; nothing when piped."""
    if sys.stderr.isatty() and os.environ.get("CI") != "true":
        with stderr_console().status(message):
            yield
    else:
        if _verbose:
            _line("", "", message)
        yield
