"""Every command and every finding code is documented; the CLI reference is current."""

import re
from pathlib import Path

from perftool.docgen import command_paths, reference

ROOT = Path(__file__).resolve().parents[2]
CODE = re.compile(r"""code\s*=\s*["']([A-Z][0-9]{3})["']|["']code["']\s*:\s*["']([A-Z][0-9]{3})["']""")


def emitted_codes() -> set[str]:
    codes = set()
    for path in (ROOT / "perftool").rglob("*.py"):
        for a, b in CODE.findall(path.read_text()):
            codes.add(a or b)
    return codes


def test_codes_are_found():
    assert {"Q101", "Q110", "T201", "D101"} <= emitted_codes()


def test_every_code_has_a_page():
    missing = sorted(c for c in emitted_codes() if not (ROOT / "docs" / "checks" / f"{c}.md").exists())
    assert not missing, f"no docs/checks/<CODE>.md for: {', '.join(missing)}"


def test_every_command_has_a_page():
    missing = []
    for path in command_paths():
        page = ROOT / "docs" / "commands" / f"{'-'.join(path)}.md"
        group_page = ROOT / "docs" / "commands" / f"{path[0]}.md"
        if page.exists():
            continue
        if len(path) > 1 and group_page.exists() and f"{' '.join(path)}" in group_page.read_text():
            continue
        missing.append(" ".join(path))
    assert not missing, f"undocumented commands: {', '.join(missing)}"


def test_cli_reference_is_current():
    current = (ROOT / "docs" / "cli.md").read_text()
    assert current == reference(), "docs/cli.md is stale: run `make docs`"
