"""Generate docs/cli.md, the command-line reference, from the commands' own --help.

Run `make docs` (python -m perftool.docgen) after changing a command; a test fails when
docs/cli.md is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

HEADER = "# perftool command-line reference\n\nGenerated from `--help` by `make docs`; do not edit by hand.\n"


def _walk(command, path: list[str]):
    yield path, command
    if hasattr(command, "list_commands"):  # a group (typer vendors click: no import of it here)
        for name in sorted(command.list_commands(None)):  # type: ignore[arg-type]
            sub = command.get_command(None, name)  # type: ignore[arg-type]
            if sub is not None and not sub.hidden:
                yield from _walk(sub, [*path, name])


def command_paths() -> list[list[str]]:
    """Every command as its words after `perftool` (groups included)."""
    import typer.main

    from perftool.cli.app import app

    root = typer.main.get_command(app)
    return [p for p, _ in _walk(root, []) if p]


def reference() -> str:
    import os

    import typer.main

    from perftool.cli.app import app

    os.environ["COLUMNS"] = "100"
    root = typer.main.get_command(app)
    parts = [HEADER]
    for path, cmd in _walk(root, []):
        title = " ".join(["perftool", *path])
        with cmd.context_class(cmd, info_name=title, terminal_width=100, max_content_width=100) as ctx:
            text = cmd.get_help(ctx)
        parts.append(f"\n## `{title}`\n\n```text\n{text.rstrip()}\n```\n")
    return "".join(parts)


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/cli.md")
    target.write_text(reference())
    print(f"wrote {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
