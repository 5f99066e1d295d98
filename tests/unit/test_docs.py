"""Every command and every finding code is documented; the CLI reference and the code pages are
current; the registry of codes (perftool/codes.py) and the pages match both ways."""

import re
from pathlib import Path

import pytest

from perftool import codes
from perftool.docgen import APPENDIX_DIR, CHECKS_DIR, check_pages, command_paths, reference
from perftool.health.checks import all_checks, check_modules
from perftool.report.model import Finding

ROOT = Path(__file__).resolve().parents[2]
CODE = re.compile(r"""code\s*=\s*["']([A-Z][0-9]{3})["']|["']code["']\s*:\s*["']([A-Z][0-9]{3})["']"""
                  r"""|(?:check|finding)\(\s*["']([A-Z][0-9]{3})["']"""
                  r"""|^\s*\(["']([A-Z][0-9]{3})["'],""", re.M)   # ("C102", …) rows of a loop over codes


def emitted_codes() -> set[str]:
    found = set()
    for path in (ROOT / "perftool").rglob("*.py"):
        for groups in CODE.findall(path.read_text()):
            found.add(next(g for g in groups if g))
    return found


def registered() -> set[str]:
    return {c.code for c in codes.all_codes()}


def test_every_emitted_code_is_registered():
    unregistered = sorted(emitted_codes() - registered())
    assert not unregistered, f"not declared in perftool/codes.py: {', '.join(unregistered)}"
    assert {"I104", "R103", "A103"} <= emitted_codes()


def test_every_registered_code_is_emitted():
    assert not sorted(registered() - emitted_codes()), "a declared code that nothing emits"


def test_every_page_has_a_registered_code():
    pages = {p.stem for p in (ROOT / CHECKS_DIR).glob("*.md")}
    appendices = {p.stem for p in (ROOT / APPENDIX_DIR).glob("*.md")}
    assert pages == registered(), f"pages without a code: {sorted(pages - registered())}"
    assert appendices <= registered(), f"appendices without a code: {sorted(appendices - registered())}"


def test_code_pages_are_current():
    stale = sorted(p.name for p, text in check_pages(ROOT).items() if not p.exists() or p.read_text() != text)
    assert not stale, f"docs/checks pages stale (edit perftool/codes.py or the appendix, then `make docs`): {stale}"


def test_a_page_is_the_registry_docstring_and_the_appendix():
    page = check_pages(ROOT)[ROOT / CHECKS_DIR / "I104.md"]
    spec = codes.get("I104")
    assert page.startswith(f"# I104 — Unused index\n\n{spec.doc}\n\n## Example")
    assert "## False positives" in page   # from docs/checks/appendix/I104.md


def test_an_unregistered_code_fails():
    with pytest.raises(codes.UnknownCode, match="X999"):
        Finding("X999", "info", "t")
    with pytest.raises(TypeError, match="twice"):
        type("I104", (codes.Code,), {"__doc__": "again", "severity": "info", "title": "t"})


def test_findings_take_the_codes_defaults():
    f = Finding("R103", object="replica1")
    assert (f.severity.value, f.title) == ("error", "host of the fleet could not be analysed")
    assert Finding("I104", "info", "unused index x").severity.value == "info"   # a code's finding may differ


def test_checks_are_the_registry_and_their_files():
    checks = all_checks()
    assert [c.code.lower() for c in checks] == sorted(m.split("_")[0] for m in check_modules())
    for c in checks:
        spec = codes.get(c.code)
        assert (c.severity.value, c.title, c.doc) == (spec.severity, spec.title, spec.doc)
        assert c.summary == spec.summary() and not c.summary.startswith("**")


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
