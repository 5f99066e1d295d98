"""stderr for people: progress, warnings and errors. stdout carries only the result."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

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


def info(message: str) -> None:
    """A progress line, shown with -v or on a terminal."""
    if _verbose or sys.stderr.isatty():
        print(message, file=sys.stderr, flush=True)


def warn(message: str) -> None:
    prefix = "\033[33mwarning:\033[0m " if _stderr_color() else "warning: "
    print(prefix + message, file=sys.stderr, flush=True)


def error(message: str) -> None:
    prefix = "\033[31mperftool: error:\033[0m " if _stderr_color() else "perftool: error: "
    print(prefix + message, file=sys.stderr, flush=True)


@contextmanager
def status(message: str) -> Iterator[None]:
    """A spinner on an interactive stderr; a plain line with -v otherwise; nothing when piped."""
    if sys.stderr.isatty() and os.environ.get("CI") != "true":
        from rich.console import Console

        with Console(stderr=True, no_color=not _stderr_color()).status(message):
            yield
    else:
        if _verbose:
            print(message, file=sys.stderr, flush=True)
        yield
