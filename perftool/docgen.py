"""Generate docs/cli.md, the command-line reference, from the commands' own --help, one page
per finding code, docs/checks/<CODE>.md, from the registry (perftool/codes.py), and the index
sets' JSON Schema for editors, index_sets/index-set.schema.json, from the validator's key tables.

Run `make docs` (python -m perftool.docgen) after changing a command or a code's docstring; a test
fails when docs/cli.md or a page is out of date. A page is the code's heading, its docstring, and
the hand-written appendix docs/checks/appendix/<CODE>.md (examples, near misses) when there is one.
"""

from __future__ import annotations

import sys
from pathlib import Path

HEADER = """# perftool command-line reference

Generated from `--help` by `make docs`; do not edit by hand.

**Exit codes** (every command): 0 ok; 1 a finding at or above `--fail-on`; 2 usage or input
error (a bad option value, DSN, file, or an unknown `--schema`/`--table`); 3 could not complete
(connection, permission, missing extension, timeout); 130 interrupted (Ctrl-C). Errors are one
line on stderr, `perftool: error: <message> (<hint>)`, never a traceback (`--debug` shows it) and
never a password: every message that may hold a DSN is masked, and an invalid DSN is described,
not echoed.

**A closed pipe** (`perftool queries | head -1`) is not an error: the output was complete, only
its reader stopped reading. perftool stops writing quietly (no message) and exits with the code
the command decided anyway — 0, or 1 when findings reach `--fail-on` — so under `set -o pipefail`
`perftool indexes --check | head` still fails exactly when the gate fails. (perftool does not die
of SIGPIPE with status 141 as `cat` does: its exit codes stay within 0, 1, 2, 3 and 130.)

**Colour**: only on a terminal; never with `NO_COLOR` set or `--no-color` — on stdout and stderr.
"""


def _walk(command, path: list[str]):
    yield path, command
    if hasattr(command, "list_commands"):  # a group (typer vendors click: no import of it here)
        for name in sorted(command.list_commands(None)):
            sub = command.get_command(None, name)
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


CHECKS_DIR = Path("docs/checks")
APPENDIX_DIR = CHECKS_DIR / "appendix"


def check_page(code: str, root: Path = Path()) -> str:
    """docs/checks/<code>.md: heading, docstring, then the hand-written appendix if any."""
    from perftool import codes

    spec = codes.get(code)
    page = f"# {spec.code} — {spec.heading}\n\n{spec.doc}\n"
    appendix = root / APPENDIX_DIR / f"{spec.code}.md"
    if appendix.exists():
        page += "\n" + appendix.read_text()
    return page


def check_pages(root: Path = Path()) -> dict[Path, str]:
    """Every code's page, by its path under `root`."""
    from perftool import codes

    return {root / CHECKS_DIR / f"{c.code}.md": check_page(c.code, root) for c in codes.all_codes()}


SCHEMA_PATH = Path("index_sets/index-set.schema.json")


def index_set_schema() -> str:
    """index_sets/index-set.schema.json (perftool.health.index_sets.json_schema)."""
    import json

    from perftool.health.index_sets import json_schema

    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/cli.md")
    target.write_text(reference())
    print(f"wrote {target}", file=sys.stderr)
    if len(sys.argv) > 1:
        return
    pages = check_pages()
    pages[SCHEMA_PATH] = index_set_schema()
    for path, text in pages.items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {path}", file=sys.stderr)
    stale = sorted(p for p in CHECKS_DIR.glob("*.md") if p not in pages)
    for path in stale:
        print(f"{path}: no such code in perftool/codes.py (remove the page or declare the code)", file=sys.stderr)


if __name__ == "__main__":
    main()
