"""`invoke(args, **kw)`: Typer's CliRunner, with the Click command built once.

Typer rebuilds the whole command tree from the function signatures on every `invoke` (about
0.2 s); the property tests run hundreds of command lines, so they reuse one tree.
"""

from __future__ import annotations

from unittest import mock

import typer.testing
from typer.main import get_command
from typer.testing import CliRunner

from perftool.cli.app import app

_runner = CliRunner()
_command = get_command(app)


def invoke(args, **kwargs):
    if hasattr(typer.testing, "_get_command"):
        with mock.patch.object(typer.testing, "_get_command", lambda _app: _command):
            return _runner.invoke(app, args, **kwargs)
    return _runner.invoke(app, args, **kwargs)  # pragma: no cover - other Typer versions
